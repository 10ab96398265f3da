//! Splitting a command line written as one string (`--command "prog --flag 'a b'"`)
//! into the program and its arguments, the way a POSIX shell would for plain
//! words and quotes, without running a shell (so no expansion of `$`, `*` or `~`).

/// Splits `line` into words: whitespace separates words; single quotes keep
/// everything literally; double quotes keep whitespace and honour `\"` and
/// `\\`; outside quotes a backslash escapes the next character.
///
/// # Errors
/// A message when a quote is left open or the line ends with a lone backslash.
pub fn split_command_line(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    // `None` between words; `Some` once a word has started (even an empty `''`).
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(q) => w.push(q),
                        None => return Err(format!("unclosed single quote in `{line}`")),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e @ ('"' | '\\')) => w.push(e),
                            Some(other) => {
                                w.push('\\');
                                w.push(other);
                            }
                            None => return Err(format!("unclosed double quote in `{line}`")),
                        },
                        Some(q) => w.push(q),
                        None => return Err(format!("unclosed double quote in `{line}`")),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(e) => word.get_or_insert_with(String::new).push(e),
                None => return Err(format!("command line ends with a lone backslash: `{line}`")),
            },
            other => word.get_or_insert_with(String::new).push(other),
        }
    }
    words.extend(word);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::split_command_line;

    fn split(line: &str) -> Vec<String> {
        split_command_line(line).unwrap()
    }

    #[test]
    fn plain_words_split_on_any_whitespace() {
        assert_eq!(
            split("  python3\tmodel.py  --n 3 "),
            ["python3", "model.py", "--n", "3"]
        );
        assert!(split("   ").is_empty());
    }

    #[test]
    fn quotes_keep_spaces_and_join_adjacent_parts() {
        assert_eq!(
            split(r#"prog --system 'be brief' "two words" pre'fix'ed"#),
            ["prog", "--system", "be brief", "two words", "prefixed"]
        );
        assert_eq!(split("prog ''"), ["prog", ""]);
    }

    #[test]
    fn escapes_inside_double_quotes_and_outside_quotes() {
        assert_eq!(
            split(r#"a "say \"hi\" \n" b\ c"#),
            ["a", r#"say "hi" \n"#, "b c"]
        );
        assert_eq!(split(r"'no \escape'"), [r"no \escape"]);
    }

    #[test]
    fn unbalanced_input_is_an_error() {
        assert!(
            split_command_line("prog 'open")
                .unwrap_err()
                .contains("single quote")
        );
        assert!(
            split_command_line("prog \"open")
                .unwrap_err()
                .contains("double quote")
        );
        assert!(
            split_command_line("prog \\")
                .unwrap_err()
                .contains("backslash")
        );
    }
}
