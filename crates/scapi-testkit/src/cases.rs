//! The case folders of `tests/cases/` and their golden files.
//!
//! A case is a folder under `tests/cases/<group>/<name>/` holding its input
//! and its expected outputs. `BLESS=1 cargo test` rewrites the expectations
//! from the actual outputs; otherwise every mismatch of a harness is
//! collected and reported together, each with a diff.

use scapi::ObjectLevel;
use scapi::input::InputFormat;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The repository root (the crates are in `crates/<name>/`).
pub fn root() -> PathBuf {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    crate_dir
        .ancestors()
        .nth(2)
        .map(PathBuf::from)
        .unwrap_or(crate_dir)
}

/// The case folders of a group, sorted by name.
pub fn cases(group: &str) -> Vec<PathBuf> {
    let dir = root().join("tests/cases").join(group);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no cases in {}", dir.display());
    out
}

/// The policy of a case input: a compiled policy, or an export that must
/// compile without errors.
pub fn policy_of(path: &Path) -> scapi::runtime::Policy {
    let name = path.file_name().unwrap().to_str().unwrap();
    match scapi::load(
        name,
        &std::fs::read(path).unwrap(),
        &scapi::Options::default(),
    )
    .unwrap()
    {
        scapi::Loaded::Compiled(p) => p,
        scapi::Loaded::Export(c) => {
            assert!(!c.has_errors(), "{}: {:?}", path.display(), c.diagnostics);
            c.policy.unwrap()
        }
    }
}

/// Whether expectations are being rewritten.
pub fn blessing() -> bool {
    std::env::var_os("BLESS").is_some_and(|v| v != "0" && !v.is_empty())
}

/// Collects golden-file mismatches of one harness.
#[derive(Default)]
pub struct Golden {
    failures: Vec<String>,
    checked: usize,
}

impl Golden {
    /// Compares `actual` with the file at `path` (or writes it when blessing).
    pub fn check(&mut self, path: &Path, actual: &str) {
        self.checked += 1;
        if blessing() {
            std::fs::write(path, actual).unwrap();
            return;
        }
        let expected = std::fs::read_to_string(path).unwrap_or_default();
        if expected != actual {
            let rel = path.strip_prefix(root()).unwrap_or(path);
            self.failures.push(format!(
                "{} differs (BLESS=1 rewrites it):\n{}",
                rel.display(),
                pretty_assertions::StrComparison::new(&expected, actual)
            ));
        }
    }

    /// Compares `actual` with the file at `path`, which this check never
    /// rewrites (another harness blesses it).
    pub fn compare(&mut self, path: &Path, actual: &str) {
        self.checked += 1;
        let expected = std::fs::read_to_string(path).unwrap_or_default();
        if expected != actual {
            let rel = path.strip_prefix(root()).unwrap_or(path);
            self.failures.push(format!(
                "{} differs:\n{}",
                rel.display(),
                pretty_assertions::StrComparison::new(&expected, actual)
            ));
        }
    }

    /// Records a check that passed without a golden file (something that
    /// must be absent is absent).
    pub fn pass(&mut self) {
        self.checked += 1;
    }

    /// Records a failure that is not a golden mismatch.
    pub fn fail(&mut self, msg: impl Into<String>) {
        self.failures.push(msg.into());
    }

    /// Every failure as one message, if any (a harness that checked
    /// nothing fails too: it cannot fail otherwise).
    pub fn result(self) -> Result<(), String> {
        if self.checked == 0 && self.failures.is_empty() {
            return Err("nothing was checked".into());
        }
        if self.failures.is_empty() {
            return Ok(());
        }
        let mut msg = format!("{} failure(s):\n", self.failures.len());
        for f in &self.failures {
            let _ = writeln!(msg, "\n{f}");
        }
        Err(msg)
    }

    /// Panics with every failure, if any.
    pub fn finish(self) {
        if let Err(msg) = self.result() {
            panic!("{msg}");
        }
    }
}

/// The single file in `dir` whose name starts with `stem.` (e.g. `input.cfg`).
pub fn find_input(dir: &Path, stem: &str) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{stem}.")))
        })
        .collect();
    found.sort();
    found.into_iter().next()
}

/// Splits a command line written in a case file: words separated by blanks,
/// single or double quotes group words.
pub fn split_args(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in line.trim().chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Options from a case's `args` file (`--object …`, `--input-format …`,
/// `--max-input-bytes …`), or the defaults.
pub fn options(dir: &Path) -> scapi::Options {
    let mut o = scapi::Options::default();
    let Ok(args) = std::fs::read_to_string(dir.join("args")) else {
        return o;
    };
    let words = split_args(&args);
    for pair in words.chunks(2) {
        match (pair[0].as_str(), pair.get(1).map(String::as_str)) {
            ("--object", Some("person")) => o.object = Some(ObjectLevel::Person),
            ("--object", Some("agent-group")) => o.object = Some(ObjectLevel::AgentGroup),
            ("--object", Some("application")) => o.object = Some(ObjectLevel::Application),
            ("--input-format", Some("cfg")) => o.format = Some(InputFormat::Cfg),
            ("--input-format", Some("json")) => o.format = Some(InputFormat::Json),
            ("--input-format", Some("yaml")) => o.format = Some(InputFormat::Yaml),
            ("--max-input-bytes", Some(n)) => o.max_input_bytes = n.parse().ok(),
            ("--max-per-rule", Some(n)) => o.max_per_rule = n.parse().ok(),
            other => panic!("{}: unknown args {other:?}", dir.display()),
        }
    }
    o
}

/// The export of a `tests/cases/lint/` case: its one file that is not an
/// expectation (`expected*`, `compiled*`) or `args`.
pub fn lint_input(dir: &Path) -> PathBuf {
    let mut inputs: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_str().unwrap();
            !n.starts_with("expected") && !n.starts_with("compiled") && n != "args"
        })
        .collect();
    inputs.sort();
    assert_eq!(
        inputs.len(),
        1,
        "{}: expected exactly one input file, found {inputs:?}",
        dir.display()
    );
    inputs.remove(0)
}

/// One fenced block: its info string and its text.
pub fn blocks_after<'a>(doc: &'a str, heading: &str) -> Option<(&'a str, &'a str)> {
    let after = doc.split_once(heading)?.1;
    let fence = after.split_once("```")?.1;
    let (info, rest) = fence.split_once('\n')?;
    let body = rest.split_once("```")?.0;
    Some((info.trim(), body))
}

/// The input of a rule page's example under `heading` (`## Example` or
/// `## Use instead`): (file name, bytes, options). Examples that cannot be
/// text are `tests/cases/rules/<CODE>/<stem>.*`.
pub fn rule_example(
    code: scapi::rules::Code,
    heading: &str,
    stem: &str,
) -> Result<(String, Vec<u8>, scapi::Options), String> {
    let (info, body) = blocks_after(code.doc(), heading)
        .ok_or(format!("{code}: no code block under {heading}"))?;
    let mut words = info.split_whitespace();
    let lang = words.next().unwrap_or("");
    let file = words.find_map(|w| w.strip_prefix("file="));
    let ext = match lang {
        "ini" | "cfg" => "cfg",
        "json" => "json",
        "yaml" => "yaml",
        "text" => {
            let dir = root().join("tests/cases/rules").join(code.as_str());
            let path = find_input(&dir, stem).ok_or(format!(
                "{code}: the example is text, so {}/{stem}.* is needed",
                dir.display()
            ))?;
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            return Ok((name, std::fs::read(&path).unwrap(), options(&dir)));
        }
        other => return Err(format!("{code}: unknown fence language `{other}`")),
    };
    let name = file.map_or(format!("example.{ext}"), str::to_string);
    Ok((name, body.as_bytes().to_vec(), scapi::Options::default()))
}
