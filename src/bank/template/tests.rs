use std::collections::HashSet;

use serde_json::json;

use super::*;
use crate::bank::template_expr::format_number;

fn base(kind: ItemType) -> Item {
    Item {
        kind,
        ..Item::open("t1", "q", ItemType::Exact, "x")
    }
}

fn template(question: &str, kind: ItemType, spec: serde_json::Value) -> Result<Item> {
    Template::parse(question, kind, &spec)?.into_item(base(kind))
}

#[test]
fn a_numeric_template_draws_variants_whose_answer_follows_the_rule() {
    let item = template(
        "Convert {x} {name[u]} to metres.",
        ItemType::Numeric,
        json!({
            "slots": {"x": {"decimal": [0.5, 3], "step": 0.5}, "u": {"choice": ["km", "mi"]}},
            "tables": {"name": {"km": "kilometres", "mi": "miles"},
                       "m": {"km": 1000, "mi": 1609.344}},
            "answer": "x * m[u]"
        }),
    )
    .unwrap();
    let t = item.template.clone().unwrap();
    assert_eq!(t.space_size(), 12);
    assert_eq!(t.n_variants(), 12);
    let used = UsedVariants::default();
    let mut seen = HashSet::new();
    for _ in 0..12 {
        let d = t.draw(&item, 3, &used).unwrap();
        assert!(!d.repeated);
        assert!(used.insert("t1", &d.variant));
        let Value::Num(x) = d.variant.slots["x"] else {
            panic!()
        };
        let factor = if d.variant.slots["u"] == Value::Text("km".into()) {
            1000.0
        } else {
            1609.344
        };
        assert!((d.item.numeric_answer().unwrap() - x * factor).abs() < 1e-6);
        assert!(
            d.item
                .question
                .starts_with(&format!("Convert {} ", format_number(x)))
        );
        assert!(seen.insert(d.item.question.clone()));
        assert!(d.item.template.is_none());
    }
    // All 12 used: the next draw repeats, and says so.
    let d = t.draw(&item, 3, &used).unwrap();
    assert!(d.repeated);
    assert!(seen.contains(&d.item.question));
}

#[test]
fn multiple_choice_templates_shuffle_by_slots_and_keep_the_answer_among_the_choices() {
    let item = template(
        "{a} + {b} = ?",
        ItemType::MultipleChoice,
        json!({
            "slots": {"a": {"int": [1, 9]}, "b": {"int": [1, 9]}},
            "answer": "a + b",
            "distractors": ["a + b + 1", "a + b - 1", "a * b"]
        }),
    )
    .unwrap();
    let t = item.template.clone().unwrap();
    let mut slots = Slots::new();
    slots.insert("a".into(), Value::Num(2.0));
    slots.insert("b".into(), Value::Num(3.0));
    let (v1, r1) = t.instance(&item, &slots).unwrap();
    let (v2, r2) = t.instance(&item, &slots).unwrap();
    assert_eq!((v1.clone(), r1.clone()), (v2, r2));
    assert_eq!(v1.choices.len(), 3, "a * b = 6 = a + b + 1 is dropped");
    assert_eq!(v1.choices[v1.key_index().unwrap()], "5");
    assert_eq!(r1.answer, "5");
    assert_eq!(Some(v1.key_letter().unwrap()), r1.key);

    let fixed = template(
        "Is {n} even?",
        ItemType::MultipleChoice,
        json!({"slots": {"n": {"int": [1, 30]}},
               "answer": "if(n % 2 == 0, 'Yes', 'No')", "choices": ["'Yes'", "'No'"]}),
    )
    .unwrap();
    slots.clear();
    slots.insert("n".into(), Value::Num(7.0));
    let (v, _) = fixed
        .template
        .as_ref()
        .unwrap()
        .instance(&fixed, &slots)
        .unwrap();
    assert_eq!(
        (v.choices.as_slice(), v.answer.as_str()),
        (&["Yes".to_owned(), "No".to_owned()][..], "B")
    );
}

#[test]
fn where_conditions_filter_draws_and_count_the_variants() {
    let item = template(
        "{a} is taller than {b}. Who is shorter?",
        ItemType::Exact,
        json!({"slots": {"a": {"choice": ["Ana", "Ben", "Chen"]}, "b": {"choice": ["Ana", "Ben", "Chen"]}},
               "where": ["a != b"], "answer": "b"}),
    )
    .unwrap();
    let t = item.template.clone().unwrap();
    assert_eq!((t.space_size(), t.n_variants()), (9, 6));
    let used = UsedVariants::default();
    for _ in 0..6 {
        let d = t.draw(&item, 1, &used).unwrap();
        assert_ne!(d.variant.slots["a"], d.variant.slots["b"]);
        assert!(!d.repeated && used.insert("t1", &d.variant));
    }
    assert_eq!(used.count("t1"), 6);
    assert!(t.draw(&item, 1, &used).unwrap().repeated);
}

#[test]
fn instance_refuses_slot_values_the_template_cannot_draw() {
    let item = template(
        "{a}?",
        ItemType::Numeric,
        json!({"slots": {"a": {"int": [1, 5]}}, "answer": "a"}),
    )
    .unwrap();
    let t = item.template.clone().unwrap();
    for (slots, want) in [
        (json!({"a": 6}), "'6' is not a value of slot 'a'"),
        (json!({"a": 1, "z": 2}), "no slot 'z'"),
        (json!({}), "no value for slot 'a'"),
    ] {
        let slots: Slots = serde_json::from_value(slots).unwrap();
        let e = t.instance(&item, &slots).unwrap_err();
        assert!(e.to_string().contains(want), "{e}");
        assert_eq!(e.item(), Some("t1"));
    }
}

#[test]
fn bad_templates_are_refused_with_the_reason() {
    let cases = [
        (
            "{x}",
            json!({"slots": {"x": {"int": [1, 3]}}, "answer": "y"}),
            "template.answer reads name 'y', which is not defined",
        ),
        (
            "{x}",
            json!({"slots": {"x": {"int": [1, 3]}}, "answer": "t[x]"}),
            "reads table 't'",
        ),
        (
            "{x",
            json!({"slots": {"x": {"int": [1, 3]}}, "answer": "x"}),
            "without its '}'",
        ),
        (
            "no slot",
            json!({"slots": {"x": {"int": [1, 3]}}, "answer": "x"}),
            "no {placeholder}",
        ),
        (
            "{x}",
            json!({"slots": {"x": {"int": [1, 3]}, "y": {"int": [1, 2]}}, "answer": "x + y"}),
            "slot 'y' does not show in the question",
        ),
        (
            "{x}",
            json!({"slots": {"x": {"int": [3, 1]}}, "answer": "x"}),
            "hi 1 is below lo 3",
        ),
        (
            "{x}",
            json!({"slots": {"x": {"int": [1, 3], "step": 0}}, "answer": "x"}),
            "step 0 is not positive",
        ),
        (
            "{x}",
            json!({"slots": {"x": {"decimal": [1, 3]}}, "answer": "x"}),
            "needs a \"step\"",
        ),
        (
            "{x}",
            json!({"slots": {"x": {"choice": []}}, "answer": "x"}),
            "choice list is empty",
        ),
        (
            "{x}",
            json!({"slots": {"x": {"choice": ["a", "a"]}}, "answer": "x"}),
            "listed twice",
        ),
        (
            "{x}",
            json!({"slots": {"x": {"range": [1, 2]}}, "answer": "x"}),
            "give one of",
        ),
        (
            "{x}",
            json!({"slots": {}, "answer": "x"}),
            "at least one slot",
        ),
        (
            "{x}",
            json!({"slots": {"x": {"int": [1, 3]}}}),
            "missing field 'template.answer'",
        ),
        (
            "{x}",
            json!({"slots": {"x": {"int": [1, 3]}}, "answer": "x", "colour": 1}),
            "unknown field 'template.colour'",
        ),
        (
            "{x}",
            json!({"slots": {"x": {"int": [0, 3]}}, "answer": "10 / x"}),
            "division by zero ('/') (with x = 0)",
        ),
        (
            "{x}",
            json!({"slots": {"x": {"int": [1, 3]}}, "answer": "'text'"}),
            "gave the text 'text'",
        ),
        (
            "{x}",
            json!({"slots": {"x": {"int": [1, 3]}}, "where": ["x > 5"], "answer": "x"}),
            "no slot values meet",
        ),
        (
            "{x}",
            json!({"slots": {"x": {"int": [1, 3]}}, "let": {"a": "b", "b": "a + x"}, "answer": "a"}),
            "cycle",
        ),
        (
            "{round}",
            json!({"slots": {"round": {"int": [1, 3]}}, "answer": "1"}),
            "cannot name a slot",
        ),
    ];
    for (question, spec, want) in cases {
        let e = template(question, ItemType::Numeric, spec).unwrap_err();
        assert!(e.to_string().contains(want), "{question}: {e}");
    }
    let mc = [
        (
            json!({"slots": {"x": {"int": [1, 3]}}, "answer": "x"}),
            "needs template.distractors or template.choices",
        ),
        (
            json!({"slots": {"x": {"int": [1, 3]}}, "answer": "x", "distractors": ["x"]}),
            "every distractor equals the answer",
        ),
        (
            json!({"slots": {"x": {"int": [1, 3]}}, "answer": "x", "choices": ["1", "2"]}),
            "the answer '3' is not among the choices",
        ),
    ];
    for (spec, want) in mc {
        let e = template("{x}", ItemType::MultipleChoice, spec).unwrap_err();
        assert!(e.to_string().contains(want), "{e}");
    }
    let e = template(
        "{x}",
        ItemType::Regex,
        json!({"slots": {"x": {"int": [1, 3]}}, "answer": "x"}),
    )
    .unwrap_err();
    assert!(e.to_string().contains("not regex"), "{e}");
}

#[test]
fn template_lines_round_trip_and_errors_name_file_line_and_item() {
    use super::super::content::ItemBank;
    let line = r#"{"id":"t9","question":"{a} + {b} = ?","type":"numeric","category":"sums","template":{"answer":"a + b","slots":{"a":{"int":[1,9]},"b":{"int":[1,9]}}}}"#;
    let text = format!("{{\"id\":\"p\",\"question\":\"q\",\"answer\":1}}\n{line}\n");
    let file = std::path::Path::new("bank/items.jsonl");
    let bank = ItemBank::from_jsonl("b", &text, file).unwrap();
    let item = bank.get("t9").unwrap();
    assert!(item.template.is_some());
    let a: f64 = item.question.split(' ').next().unwrap().parse().unwrap();
    assert!(
        (1.0..=9.0).contains(&a),
        "the preview is a variant: {}",
        item.question
    );
    assert_eq!(super::super::content_parse::to_json_line(item), line);

    let bad = text.replace("a + b\"", "a + c\"");
    let e = ItemBank::from_jsonl("b", &bad, file)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("bank/items.jsonl:2: item 't9':"), "{e}");
    assert!(e.contains("name 'c', which is not defined"), "{e}");
    let with_answer = text.replace("\"type\":\"numeric\"", "\"answer\":3,\"type\":\"numeric\"");
    let e = ItemBank::from_jsonl("b", &with_answer, file)
        .unwrap_err()
        .to_string();
    assert!(e.contains("a template computes its answer"), "{e}");
}
