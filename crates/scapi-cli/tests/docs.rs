//! The README's tables cannot drift from what they describe: the command
//! table against `scapi --help`, the dependency table against every
//! crate's manifest (through `cargo metadata`), the crate tables against
//! the workspace, and the harness table against the test files.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use scapi_testkit::root;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
}

/// The rows of the first table after `heading`, as cells.
fn table(doc: &str, heading: &str) -> Vec<Vec<String>> {
    let after = doc
        .split_once(heading)
        .unwrap_or_else(|| panic!("no `{heading}`"))
        .1;
    after
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            // Cells split at `|` not escaped as `\|`.
            let mut cells = Vec::new();
            let mut cell = String::new();
            let mut chars = l.trim().trim_start_matches('|').chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '\\' if chars.peek() == Some(&'|') => {
                        cell.push('|');
                        chars.next();
                    }
                    '|' => cells.push(std::mem::take(&mut cell).trim().to_string()),
                    c => cell.push(c),
                }
            }
            cells
        })
        .collect()
}

/// The words in backticks of a cell.
fn ticked(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// A cell without its parenthesized remarks (`tokio` (`time`) names
/// `tokio` only).
fn outside_parentheses(cell: &str) -> String {
    let mut depth = 0usize;
    cell.chars()
        .filter(|&c| {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                _ => return depth == 0,
            }
            false
        })
        .collect()
}

fn help(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_scapi"))
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{args:?}");
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn the_command_table_names_every_command_and_format() {
    let rows = table(&readme(), "## Commands");
    let commands: Vec<String> = help(&["--help"])
        .split_once("Commands:")
        .unwrap()
        .1
        .split_once("Options:")
        .unwrap()
        .0
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect();
    assert!(commands.len() >= 12, "{commands:?}");
    let row_of = |c: &str| {
        rows.iter()
            .find(|r| r[0].starts_with(&format!("`scapi {c}")))
            .map(|r| r[0].clone())
    };
    for c in &commands {
        let Some(row) = row_of(c) else {
            panic!("the command table has no row for `scapi {c}`");
        };
        // Every value of the options that choose an output (and of a
        // positional choice such as `schema WHICH`) is written in the row.
        for line in help(&[c, "-h"]).lines() {
            let chooses = [
                "--format",
                "--output-format",
                "--fail-on",
                "--frame",
                "<WHICH>",
                "<SHELL>",
            ]
            .iter()
            .any(|o| line.trim_start().starts_with(o));
            let Some(values) = line.split("[possible values: ").nth(1) else {
                continue;
            };
            if !chooses {
                continue;
            }
            for v in values.trim_end_matches(']').split(", ") {
                assert!(row.contains(v), "the row of `scapi {c}` lacks `{v}`: {row}");
            }
        }
    }
    for r in &rows {
        let name = r[0]
            .trim_start_matches("`scapi ")
            .split([' ', '`'])
            .next()
            .unwrap();
        assert!(
            commands.iter().any(|c| c == name),
            "the command table names `scapi {name}`, which does not exist"
        );
    }
}

/// The workspace's packages and each one's dependencies by kind (normal,
/// dev, build), without the workspace's own crates.
fn manifests() -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let o = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut out = BTreeMap::new();
    for p in m["packages"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap().to_string();
        let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for d in p["dependencies"].as_array().unwrap() {
            let dep = d["name"].as_str().unwrap();
            if dep.starts_with("scapi") {
                continue;
            }
            let kind = d["kind"].as_str().unwrap_or("normal").to_string();
            deps.entry(kind).or_default().insert(dep.to_string());
        }
        out.insert(name, deps);
    }
    out
}

#[test]
fn the_dependency_table_lists_exactly_each_crates_dependencies() {
    let packages = manifests();
    let rows = table(&readme(), "## Dependencies");
    // Every dependency name of any kind, to tell names from features in a
    // cell (`redis` (`script`, …)).
    let known: BTreeSet<String> = packages
        .values()
        .flat_map(|d| d.values().flatten().cloned())
        .collect();
    let mut listed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current = String::new();
    for r in &rows {
        if !r[0].is_empty() {
            current = r[0].clone();
        }
        let owner = ticked(&current)
            .first()
            .cloned()
            .unwrap_or_else(|| current.clone());
        let names = ticked(&outside_parentheses(&r[1]))
            .into_iter()
            .filter(|n| known.contains(n));
        listed.entry(owner).or_default().extend(names);
    }
    let dev_listed: BTreeSet<String> = ["dev", "scapi-testkit"]
        .iter()
        .flat_map(|k| listed.get(*k).cloned().unwrap_or_default())
        .collect();
    for (name, deps) in &packages {
        if name == "scapi-testkit" {
            continue;
        }
        let normal = deps.get("normal").cloned().unwrap_or_default();
        let shown = listed.get(name).cloned().unwrap_or_default();
        assert_eq!(
            normal, shown,
            "`{name}`: the dependency table must list exactly its dependencies"
        );
        for d in deps.get("dev").into_iter().flatten() {
            assert!(
                dev_listed.contains(d) || normal.contains(d),
                "`{name}`'s dev-dependency `{d}` is not in the table"
            );
        }
    }
    let testkit = packages["scapi-testkit"]
        .get("normal")
        .cloned()
        .unwrap_or_default();
    assert_eq!(testkit, listed["scapi-testkit"], "`scapi-testkit`");
    for owner in listed.keys() {
        assert!(
            packages.contains_key(owner)
                || ["dev", "npm (dev)", "Python (build)"].contains(&owner.as_str()),
            "the dependency table has a row for `{owner}`, which is no crate"
        );
    }
}

#[test]
fn the_crate_tables_name_every_crate() {
    let packages = manifests();
    let doc = readme();
    // Every crate but the tests' own.
    let published: Vec<&String> = packages
        .keys()
        .filter(|n| n.as_str() != "scapi-testkit")
        .collect();
    let rows = table(&doc, "## The library");
    let in_table: BTreeSet<String> = rows
        .iter()
        .filter_map(|r| ticked(&r[0]).first().cloned())
        .collect();
    let expected: BTreeSet<String> = published.iter().map(|s| (*s).clone()).collect();
    assert_eq!(in_table, expected, "the crates of `## The library`");
    let words = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    let count = words[published.len()];
    assert!(
        doc.contains(&format!("a Cargo workspace of {count} crates")),
        "the README must say the workspace has {count} crates"
    );
    for name in &published {
        assert!(
            doc.contains(&format!("**`{name}`**")),
            "the set-up's crate list lacks `{name}`"
        );
    }
}

#[test]
fn the_harness_table_lists_every_test_file() {
    let rows = table(&readme(), "## Development");
    let listed: BTreeSet<String> = rows
        .iter()
        .filter_map(|r| ticked(&r[0]).first().cloned())
        .filter(|f| f.ends_with(".rs"))
        .collect();
    let mut files = BTreeSet::new();
    for c in std::fs::read_dir(root().join("crates")).unwrap() {
        let dir = c.unwrap().path().join("tests");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "rs") {
                let krate = dir
                    .parent()
                    .unwrap()
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .to_string();
                files.insert(format!(
                    "{krate}/tests/{}",
                    p.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    assert_eq!(listed, files, "the harness table of `## Development`");
}

/// The source files of the crates under `dir`, as paths relative to it.
fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn the_code_map_names_every_source_file() {
    let map = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let mut files = Vec::new();
    for c in std::fs::read_dir(root().join("crates")).unwrap() {
        let src = c.unwrap().path().join("src");
        if src.is_dir() {
            sources(&src, &mut files);
        }
    }
    let mut missing = Vec::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        // A module's own file is named by its folder (`limiter/`); the
        // roots of crates by their crate.
        let named = match name.as_str() {
            "lib.rs" | "main.rs" => continue,
            "mod.rs" => format!(
                "{}/",
                f.parent().unwrap().file_name().unwrap().to_string_lossy()
            ),
            _ => name,
        };
        if !map.contains(&format!("`{named}`")) && !map.contains(&named) {
            missing.push(f.strip_prefix(root()).unwrap().display().to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's code map does not name: {missing:#?}"
    );
}
