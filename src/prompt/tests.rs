use proptest::prelude::*;

use super::*;
use crate::bank::{Item, ItemType};

fn mc(id: &str, question: &str, n: usize, key: usize) -> Item {
    let choices = (0..n).map(|i| format!("choice {i} of {id}")).collect();
    Item::multiple_choice(id, question, choices, letter(key))
}

#[test]
fn default_multiple_choice_layout() {
    let item = mc("q1", "Which?", 3, 2);
    let prompt = render(&item, &PromptConfig::default());
    assert_eq!(prompt.system(), None);
    assert_eq!(prompt.messages().len(), 1);
    assert_eq!(
        prompt.question(),
        "Answer the following multiple-choice question. Reason step by step, then end your \
         reply with \"The answer is (X)\", where X is the letter (A-C) of the correct option.\n\
         \n\
         Question: Which?\n\
         Options:\n\
         A. choice 0 of q1\n\
         B. choice 1 of q1\n\
         C. choice 2 of q1\n\
         Answer: Let's think step by step."
    );
}

#[test]
fn placeholders_fill_from_the_item() {
    let mut item = mc("q1", "Which?", 4, 0);
    item.category = Some("physics".into());
    item.dimension = Some("industry".into());
    let config = PromptConfig::default()
        .with_template(
            ItemType::MultipleChoice,
            "[{category}/{dimension}] {question} ({n_choices}: {letters}; {first_letter}..{last_letter})\n{choices}",
        )
        .unwrap()
        .with_choice_line("({letter}) {choice}")
        .unwrap();
    assert_eq!(
        render(&item, &config).question(),
        "[physics/industry] Which? (4: A, B, C, D; A..D)\n(A) choice 0 of q1\n(B) choice 1 of q1\n(C) choice 2 of q1\n(D) choice 3 of q1"
    );
}

#[test]
fn few_shot_examples_come_first_with_their_answers() {
    let ex1 = mc("e1", "First example?", 2, 1);
    let ex2 = Item::open("e2", "Second example?", ItemType::Numeric, "12.5");
    let asked = mc("q", "Asked?", 2, 0);
    let config = PromptConfig::default()
        .with_system("sys")
        .with_few_shot(vec![ex1, ex2], FewShotStyle::Messages)
        .unwrap();
    let p = render(&asked, &config);
    let roles: Vec<Role> = p.messages().iter().map(|m| m.role).collect();
    use Role::*;
    assert_eq!(roles, [User, Assistant, User, Assistant, User]);
    assert_eq!(p.messages()[1].content, "The answer is (B).");
    assert_eq!(p.messages()[3].content, "The answer is 12.5.");
    assert!(
        p.messages()[2]
            .content
            .contains("Question: Second example?")
    );
    assert_eq!(p.chat_messages()[0].role, System);
    assert_eq!(p.chat_messages().len(), 6);

    let inline = config
        .clone()
        .with_few_shot(vec![mc("e1", "First example?", 2, 1)], FewShotStyle::Inline)
        .unwrap();
    let p = render(&asked, &inline);
    assert_eq!(p.messages().len(), 1);
    let text = &p.messages()[0].content;
    let first = text.find("First example?").unwrap();
    let answer = text.find("The answer is (B).").unwrap();
    let question = text.find("Asked?").unwrap();
    assert!(first < answer && answer < question, "{text}");
}

#[test]
fn the_hash_covers_everything_sent() {
    let item = mc("q", "Asked?", 3, 0);
    let base = render(&item, &PromptConfig::default());
    let with_system = render(&item, &PromptConfig::default().with_system("s"));
    let other_question = render(&mc("q", "Asked!", 3, 0), &PromptConfig::default());
    assert_ne!(base.hash(), with_system.hash());
    assert_ne!(base.hash(), other_question.hash());
    // The id is not part of what is sent, so it does not change the hash.
    let mut renamed = item.clone();
    renamed.id = "other-id".into();
    assert_eq!(
        base.hash(),
        render(&renamed, &PromptConfig::default()).hash()
    );
    assert!(
        base.hash()
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    // A prompt with the same parts has the same hash.
    let rebuilt = Prompt::new(base.system().map(String::from), base.messages().to_vec());
    assert_eq!(rebuilt, base);
}

#[test]
fn plan_specs_build_configs() {
    let bank = crate::bank::ItemBank::from_items(
        "b",
        vec![mc("e1", "Example?", 2, 1), mc("q", "Asked?", 2, 0)],
    )
    .unwrap();
    let spec: PromptSpec = serde_json::from_str(
        r#"{"system": "sys", "template": "Q: {question}\n{choices}", "templates": {"numeric": "N: {question}"},
            "choice_line": "{letter}) {choice}", "few_shot": ["e1"], "few_shot_style": "inline"}"#,
    )
    .unwrap();
    let config = spec.build(&bank).unwrap();
    let p = render(bank.get("q").unwrap(), &config);
    assert_eq!(
        p.messages()[0].content,
        "Q: Example?\nA) choice 0 of e1\nB) choice 1 of e1 The answer is (B).\n\nQ: Asked?\nA) choice 0 of q\nB) choice 1 of q"
    );
    assert_eq!(config.template(ItemType::Numeric).source(), "N: {question}");
    for (bad, msg) in [
        (
            r#"{"few_shot": ["nope"]}"#,
            "few-shot item 'nope' is not in bank 'b'",
        ),
        (r#"{"templates": {"essay": "x"}}"#, "unknown type 'essay'"),
        (r#"{"template": "{answer}"}"#, "not allowed"),
    ] {
        let spec: PromptSpec = serde_json::from_str(bad).unwrap();
        let e = spec.build(&bank).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Config, "{bad}");
        assert!(e.to_string().contains(msg), "{bad}: {e}");
    }
    assert!(serde_json::from_str::<PromptSpec>(r#"{"sytem": "x"}"#).is_err());
}

fn kind_strategy() -> impl Strategy<Value = ItemType> {
    prop_oneof![
        Just(ItemType::Exact),
        Just(ItemType::Numeric),
        Just(ItemType::Regex),
    ]
}

/// A key that cannot occur in any generated text by accident: the other
/// texts are drawn from lower-case letters and spaces.
fn sentinel(kind: ItemType, n: u32) -> String {
    match kind {
        ItemType::Numeric => format!("{}.{}", 7_000_000 + n, 913),
        _ => format!("SENTINEL-KEY-{n}"),
    }
}

proptest! {
    /// Open items: the key never appears in the prompt, whatever the
    /// template, system prompt or few-shot examples (including the asked
    /// item itself among them), and changing the key never changes the
    /// prompt.
    #[test]
    fn open_item_keys_never_reach_the_prompt(
        kind in kind_strategy(),
        question in "[a-z][a-z ]{0,39}",
        key_n in 0u32..1000,
        other_n in 1000u32..2000,
        system in proptest::option::of("[a-z ]{0,20}"),
        template in prop_oneof![
            Just(None),
            Just(Some("{question}".to_owned())),
            Just(Some("[{category}] {question} {choices} {letters} {n_choices}".to_owned())),
        ],
        n_examples in 0usize..4,
        include_self in any::<bool>(),
        inline in any::<bool>(),
    ) {
        let mut item = Item::open("asked", question.clone(), kind, sentinel(kind, key_n));
        item.category = Some("cat".into());
        let mut examples: Vec<Item> = (0..n_examples)
            .map(|i| {
                let k = if i % 2 == 0 { ItemType::Exact } else { ItemType::Numeric };
                Item::open(format!("ex{i}"), format!("example {i} about {question}"), k, format!("{}", 10 + i))
            })
            .collect();
        if include_self {
            examples.insert(0, item.clone());
        }
        let style = if inline { FewShotStyle::Inline } else { FewShotStyle::Messages };
        let mut config = PromptConfig::default().with_few_shot(examples, style).unwrap();
        if let Some(s) = system {
            config = config.with_system(s);
        }
        if let Some(t) = &template {
            config = config.with_template_all(t).unwrap();
        }
        let prompt = render(&item, &config);
        let text = prompt.text();
        prop_assert!(!text.contains(&item.answer), "key {} in {}", item.answer, text);
        let mut other = item.clone();
        other.answer = sentinel(kind, other_n);
        prop_assert_eq!(render(&other, &config).hash().to_owned(), prompt.hash());
    }

    /// Multiple-choice items: the prompt is the same whichever letter is the
    /// key, so it carries no information about it.
    #[test]
    fn choice_keys_do_not_change_the_prompt(
        n in 2usize..=26,
        question in "[a-z][a-z ]{0,39}",
        include_self in any::<bool>(),
    ) {
        let item = mc("asked", &question, n, 0);
        let mut examples = vec![mc("ex", "an example", 3, 2)];
        if include_self {
            examples.push(item.clone());
        }
        let config = PromptConfig::default()
            .with_few_shot(examples, FewShotStyle::Messages)
            .unwrap();
        let first = render(&item, &config);
        for k in 1..n {
            let mut other = item.clone();
            other.answer = letter(k).to_string();
            prop_assert_eq!(render(&other, &config).hash().to_owned(), first.hash());
        }
        // Besides the instruction's "(X)" (once per question), only the
        // example's own answer is stated.
        prop_assert_eq!(first.text().matches("The answer is (").count(), 3);
        prop_assert_eq!(first.text().matches("The answer is (X)").count(), 2);
        prop_assert_eq!(first.messages()[1].content.as_str(), "The answer is (C).");
    }
}

/// The shipped MMLU-Pro 5-shot prompt lays out as MMLU-Pro's harness does:
/// the category's instruction once, then that category's worked examples
/// (question, options, "Answer: Let's think step by step." and the chain of
/// thought, a blank line after each), then the question; examples of other
/// categories are not shown, and at most five are.
#[test]
fn the_mmlu_pro_five_shot_prompt_follows_the_harness_layout() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = String::new();
    for (i, category) in ["law", "law", "math", "law", "law", "law", "law"]
        .iter()
        .enumerate()
    {
        lines.push_str(&format!(
            "{{\"id\":\"v{i}\",\"question\":\"Example {i}?\",\"choices\":[\"yes\",\"no\"],\
             \"answer\":\"A\",\"category\":\"{category}\",\
             \"meta\":{{\"rationale\":\"Reason {i}. The answer is (A).\"}}}}\n"
        ));
    }
    std::fs::write(dir.path().join("few-shot.jsonl"), lines).unwrap();
    let toml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/item-banks/mmlu-pro/prompt-5shot.toml"
    ))
    .unwrap();
    std::fs::write(dir.path().join(PROMPT_FILE), toml).unwrap();
    let spec = PromptSpec::of_bank(dir.path()).unwrap().unwrap();
    assert_eq!(spec.format_name(), "mmlu-pro-cot-5shot");
    let bank = crate::bank::ItemBank::from_items("b", vec![mc("t", "Asked?", 2, 1)]).unwrap();
    let config = spec.build(&bank).unwrap();
    let mut item = mc("t", "Asked?", 3, 1);
    item.category = Some("law".into());
    let prompt = render(&item, &config);
    assert_eq!(prompt.messages().len(), 1);
    let example = |i: usize| {
        format!(
            "Question:\nExample {i}?\nOptions:\nA. yes\nB. no\n\
             Answer: Let's think step by step. Reason {i}. The answer is (A).\n\n"
        )
    };
    let expected = format!(
        "The following are multiple choice questions (with answers) about law. Think step by \
         step and then finish your answer with \"the answer is (X)\" where X is the correct \
         letter choice.\n\n{}{}{}{}{}Question:\nAsked?\nOptions:\nA. choice 0 of t\n\
         B. choice 1 of t\nC. choice 2 of t\nAnswer: Let's think step by step.",
        example(0),
        example(1),
        example(3),
        example(4),
        example(5)
    );
    assert_eq!(prompt.question(), expected);
    // The examples file is part of the prompt's hash.
    let before = spec.hash().unwrap();
    std::fs::write(dir.path().join("few-shot.jsonl"), "").unwrap();
    assert_ne!(spec.hash().unwrap(), before);
    // Without the file, building says which file is missing.
    std::fs::remove_file(dir.path().join("few-shot.jsonl")).unwrap();
    let err = spec.build(&bank).unwrap_err().to_string();
    assert!(err.contains("few-shot.jsonl"), "{err}");
}
