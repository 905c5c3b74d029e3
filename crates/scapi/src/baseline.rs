//! Findings that survive edits: their identity, fingerprints and baselines.
//!
//! A finding is identified by its rule, its file, the option it is in and
//! what it is about — the text it points at together with its message,
//! which names the entry (`http` alone would match the cleartext finding
//! of every origin) — never by its line or column, so moving lines or
//! editing other options changes nothing. What `scapi.toml` may not allow
//! (an unreadable file, a bad suppression) is never recorded or held. Identical findings (the same rule
//! on the same text of the same option) are told apart by their order. The
//! identity gives the stable fingerprints of SARIF (`partialFingerprints`)
//! and GitLab Code Quality, and the entries of a baseline: `lint
//! --write-baseline FILE` records the current findings, `lint --baseline
//! FILE` reports only the others and names the entries nothing matches any
//! more.

use crate::diagnostic::Diagnostic;
use crate::source::SourceFile;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// What identifies a finding across edits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FindingKey {
    /// The rule's code.
    pub code: String,
    /// The file, as given (`./` dropped, `\` written `/`).
    pub file: String,
    /// The option it is in (`section/key`), empty for the file as a whole.
    pub option: String,
    /// SHA-256 of the text it points at (whitespace at its ends dropped)
    /// and of its message: 16 hex digits.
    pub text_hash: String,
}

/// The file name as baselines and fingerprints write it.
pub(crate) fn normal_path(path: &str) -> String {
    let p = path.replace('\\', "/");
    p.strip_prefix("./").unwrap_or(&p).to_string()
}

fn hex16(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The text a finding points at, as a baseline shows it: one line, at most
/// 80 characters.
fn shown(text: &str) -> String {
    let one_line: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    crate::render::clip(&one_line, 80).into_owned()
}

/// The identity of a finding of `source`, under the name it was given.
pub(crate) fn key_of(source: &SourceFile, d: &Diagnostic) -> FindingKey {
    key_in(source.name(), source, d)
}

/// The identity of a finding of `source`, the file named `file` (a
/// baseline names files relative to itself).
pub(crate) fn key_in(file: &str, source: &SourceFile, d: &Diagnostic) -> FindingKey {
    let option = if d.located {
        source
            .option_at(d.span.start)
            .map(|o| o.name.clone())
            .unwrap_or_default()
    } else {
        String::new()
    };
    FindingKey {
        code: d.code.as_str().to_string(),
        file: normal_path(file),
        option,
        text_hash: hex16(format!("{}\0{}", source.slice(d.span).trim(), d.message).as_bytes()),
    }
}

/// Whether a baseline may hold a finding: not what no configuration may
/// silence (an unreadable file, a bad suppression).
/// Nor the closing count of findings past `--max-per-rule`, which would
/// hold new findings unseen.
fn holdable(d: &Diagnostic) -> bool {
    crate::suppress::can_be_silenced(d.code) && d.omitted == 0
}

/// The keys of a file's findings, each with its occurrence: how many
/// findings with the same key come before it.
pub fn keys(source: &SourceFile, diagnostics: &[Diagnostic]) -> Vec<(FindingKey, usize)> {
    let mut seen: BTreeMap<FindingKey, usize> = BTreeMap::new();
    diagnostics
        .iter()
        .map(|d| {
            let k = key_of(source, d);
            let n = seen.entry(k.clone()).or_default();
            let occurrence = *n;
            *n += 1;
            (k, occurrence)
        })
        .collect()
}

/// A finding's stable fingerprint: 32 hex digits of SHA-256 over its key
/// and occurrence (SARIF's `partialFingerprints`, GitLab's `fingerprint`).
pub fn fingerprint(key: &FindingKey, occurrence: usize) -> String {
    let text = format!(
        "scapi/v1\0{}\0{}\0{}\0{}\0{occurrence}",
        key.code, key.file, key.option, key.text_hash
    );
    Sha256::digest(text.as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A baseline file: findings accepted for now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Baseline {
    /// Always 1 for this format.
    pub schema_version: u32,
    /// The findings, by file, option, rule and text.
    pub findings: Vec<BaselineEntry>,
}

/// Findings of one identity in a baseline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BaselineEntry {
    /// The rule's code.
    pub code: String,
    /// The file, as given to `lint`.
    pub file: String,
    /// The option (`section/key`), empty for the file as a whole.
    pub option: String,
    /// The text the findings point at, for the reader (clipped).
    pub text: String,
    /// What identifies that text.
    pub text_hash: String,
    /// How many findings of this identity are accepted.
    pub count: usize,
    /// The message of the first, for the reader.
    pub message: String,
}

impl BaselineEntry {
    fn key(&self) -> FindingKey {
        FindingKey {
            code: self.code.clone(),
            file: normal_path(&self.file),
            option: self.option.clone(),
            text_hash: self.text_hash.clone(),
        }
    }
}

/// Why a baseline file cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BaselineError(String);

impl Baseline {
    /// The baseline of these files' findings, each file under the name
    /// given with it.
    pub fn of<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a SourceFile, &'a [Diagnostic])>,
    ) -> Baseline {
        let mut entries: BTreeMap<FindingKey, BaselineEntry> = BTreeMap::new();
        for (file, source, diagnostics) in files {
            for d in diagnostics.iter().filter(|d| holdable(d)) {
                let key = key_in(file, source, d);
                entries
                    .entry(key.clone())
                    .and_modify(|e| e.count += 1)
                    .or_insert_with(|| BaselineEntry {
                        code: key.code.clone(),
                        file: key.file.clone(),
                        option: key.option.clone(),
                        text: if d.located {
                            shown(source.slice(d.span))
                        } else {
                            String::new()
                        },
                        text_hash: key.text_hash.clone(),
                        count: 1,
                        message: d.message.clone(),
                    });
            }
        }
        Baseline {
            schema_version: 1,
            findings: entries.into_values().collect(),
        }
    }

    /// Reads a baseline file.
    pub fn from_json(text: &str) -> Result<Baseline, BaselineError> {
        let b: Baseline = serde_json::from_str(text)
            .map_err(|e| BaselineError(format!("not a scapi baseline: {e}")))?;
        if b.schema_version != 1 {
            return Err(BaselineError(format!(
                "`schemaVersion` is {}; this scapi reads baselines of version 1",
                b.schema_version
            )));
        }
        Ok(b)
    }

    /// The document, pretty, with a final newline.
    pub fn to_json(&self) -> String {
        scapi_policy::jsonfmt::to_string(self)
    }

    /// Which of the findings of `source`, the file named `file`, this
    /// baseline holds (one by one, as [`Matcher::filter`] would drop them).
    pub fn holds(&self, file: &str, source: &SourceFile, diagnostics: &[Diagnostic]) -> Vec<bool> {
        let mut m = self.matcher();
        diagnostics
            .iter()
            .map(|d| m.takes(file, source, d))
            .collect()
    }

    /// Starts matching findings against the baseline.
    pub fn matcher(&self) -> Matcher<'_> {
        let mut left = BTreeMap::new();
        for e in &self.findings {
            let n = left.entry(e.key()).or_insert(0usize);
            *n = n.saturating_add(e.count);
        }
        Matcher {
            baseline: self,
            left,
        }
    }
}

/// Matches findings against a baseline, consuming its counts.
#[derive(Debug)]
pub struct Matcher<'b> {
    baseline: &'b Baseline,
    left: BTreeMap<FindingKey, usize>,
}

impl Matcher<'_> {
    /// Keeps the findings of `source`, the file named `file`, that the
    /// baseline does not hold; returns how many it held.
    pub fn filter(
        &mut self,
        file: &str,
        source: &SourceFile,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> usize {
        let before = diagnostics.len();
        diagnostics.retain(|d| !self.takes(file, source, d));
        before - diagnostics.len()
    }

    /// Whether the baseline holds `d` (consuming one of its count).
    fn takes(&mut self, file: &str, source: &SourceFile, d: &Diagnostic) -> bool {
        if !holdable(d) {
            return false;
        }
        match self.left.get_mut(&key_in(file, source, d)) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }

    /// The entries nothing matched (wholly or in part), of the files that
    /// were matched (`files`; an entry of a file not linted now is not
    /// stale): each with how many of its findings are gone.
    pub fn stale(&self, files: &[String]) -> Vec<(&BaselineEntry, usize)> {
        let linted: std::collections::BTreeSet<String> =
            files.iter().map(|f| normal_path(f)).collect();
        let mut reported = std::collections::BTreeSet::new();
        self.baseline
            .findings
            .iter()
            .filter(|e| linted.contains(&normal_path(&e.file)))
            .filter_map(|e| {
                let key = e.key();
                let left = self.left.get(&key).copied().unwrap_or(0);
                (left > 0 && reported.insert(key)).then_some((e, left.min(e.count)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(text: &str) -> crate::Compilation {
        crate::compile("wwews.cfg", text.as_bytes(), &crate::Options::default())
    }

    const EXPORT: &str = "[interaction-workspace]\nservice-client-api.accepted-web-content-origins=https://crm.example.com (agent.*, agent.get), https://b.example.com (voice.*, voice.dial)\nservice-client-api.user-data.read-allowed=*\nservice-client-api.user-data.write-allowed=*\n";

    #[test]
    fn keys_survive_moved_lines_and_other_edits() {
        let a = compile(EXPORT);
        let moved = format!(
            "; a comment\n\n[interaction-workspace]\nservice-client-api.rate-limit=10\n{}\n",
            EXPORT.lines().skip(1).collect::<Vec<_>>().join("\n")
        );
        let b = compile(&moved);
        let ka: Vec<_> = keys(&a.source, &a.diagnostics);
        let kb: Vec<_> = keys(&b.source, &b.diagnostics);
        assert_eq!(ka.len(), 2);
        assert_eq!(ka, kb);
        assert_eq!(
            ka[0].0.option,
            "interaction-workspace/service-client-api.accepted-web-content-origins"
        );
        assert_ne!(fingerprint(&ka[0].0, 0), fingerprint(&ka[1].0, 0));
    }

    #[test]
    fn a_baseline_holds_what_it_recorded_and_names_what_is_gone() {
        let a = compile(EXPORT);
        let base = Baseline::of([("wwews.cfg", &a.source, a.diagnostics.as_slice())]);
        let base = Baseline::from_json(&base.to_json()).unwrap();
        let mut m = base.matcher();
        let mut ds = a.diagnostics.clone();
        assert_eq!(m.filter("wwews.cfg", &a.source, &mut ds), 2);
        assert!(ds.is_empty());
        // One finding fixed: its entry is stale; a new one is reported.
        let b = compile(&EXPORT.replace(
            "(agent.*, agent.get)",
            "(agent.*), https://c.example.com (email.*, email.create)",
        ));
        let mut m = base.matcher();
        let mut ds = b.diagnostics.clone();
        assert_eq!(m.filter("./wwews.cfg", &b.source, &mut ds), 1);
        assert_eq!(ds.len(), 1);
        assert!(ds[0].message.contains("email.create"));
        let stale = m.stale(&["wwews.cfg".into()]);
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].0.text, "agent.get");
        assert!(m.stale(&["other.cfg".into()]).is_empty());
    }
}
