//! The grammar file and the parsers agree: every production of
//! `grammar/option-values.ebnf` is the doc comment of the function that
//! implements it (src/syntax/), verbatim up to white space.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use scapi_testkit::root;

fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `(name, right-hand side)` of every production, skipping comments.
fn productions(grammar: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut in_comment = false;
    for line in grammar.lines() {
        let t = line.trim();
        if in_comment || t.starts_with("(*") {
            in_comment = !t.ends_with("*)");
            continue;
        }
        if let Some((name, rhs)) = t.split_once(":=") {
            out.push((name.trim().to_string(), normalize(rhs)));
        }
    }
    out
}

/// Every backticked `name := rhs` in the doc comments of src/syntax/.
fn documented() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root().join("crates/scapi/src/syntax")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines().map(str::trim).filter(|l| l.starts_with("///")) {
            for piece in line.split('`').skip(1).step_by(2) {
                if let Some((name, rhs)) = piece.split_once(":=") {
                    out.push((name.trim().to_string(), normalize(rhs)));
                }
            }
        }
    }
    out
}

#[test]
fn every_production_is_implemented() {
    let grammar =
        std::fs::read_to_string(root().join("crates/scapi/grammar/option-values.ebnf")).unwrap();
    let prods = productions(&grammar);
    assert!(prods.len() >= 20, "only {} productions found", prods.len());
    let docs = documented();
    let missing: Vec<_> = prods.iter().filter(|p| !docs.contains(p)).collect();
    assert!(
        missing.is_empty(),
        "productions without a parser documenting them verbatim: {missing:#?}"
    );
    let unknown: Vec<_> = docs.iter().filter(|d| !prods.contains(d)).collect();
    assert!(
        unknown.is_empty(),
        "doc-comment productions missing from the grammar: {unknown:#?}"
    );
}
