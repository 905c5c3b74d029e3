//! Lowering: an export's option strings → a typed [`Policy`] plus every
//! semantic diagnostic.
//!
//! Each option family has its own module (origins and filters, numbers and
//! rate limits, user data, web extensions); this module runs them in order,
//! then the checks that need the whole policy (redundant entries, rate
//! limits nobody can hit, web extensions whose origin is not accepted). An
//! entry or value with an error grants nothing: the policy only holds what
//! WWE would certainly apply, and `compile` refuses a file with errors
//! anyway.
//!
//! Syntax diagnostics carry spans of the option *value*; [`Cx::value_diag`]
//! maps them to the file and drops fixes that could not be applied verbatim
//! (inside an escape sequence, say).

mod accepted;
mod numbers;
mod options;
mod userdata;
mod webext;

pub(crate) use accepted::canonical_target;

use crate::diagnostic::{Diagnostic, Diagnostics, Fix, sort_diagnostics};
use crate::input::{InputFormat, MAIN_SECTION, OptionEntry, ReadExport};
use crate::rules::Code;
use crate::source::{SourceFile, Span};
use crate::syntax::Removal;
use crate::syntax::list::{InlineComment, inline_comment};
use scapi_policy::policy::{Policy, SourceInfo};
use std::collections::HashMap;

/// `service-client-api.accepted-web-content-origins`
pub const ORIGINS: &str = "service-client-api.accepted-web-content-origins";
/// `service-client-api.rate-limit`
pub const RATE_LIMIT: &str = "service-client-api.rate-limit";
/// `service-client-api.rate-limit.` — followed by a request name.
pub const RATE_LIMIT_PREFIX: &str = "service-client-api.rate-limit.";
/// `service-client-api.rate-limit-quarantine-delay`
pub const QUARANTINE: &str = "service-client-api.rate-limit-quarantine-delay";
/// `service-client-api.user-data.read-allowed`
pub const READ_ALLOWED: &str = "service-client-api.user-data.read-allowed";
/// `service-client-api.user-data.write-allowed`
pub const WRITE_ALLOWED: &str = "service-client-api.user-data.write-allowed";
/// `service-client-api.block-markdone-timeout`
pub const BLOCK_MARKDONE_TIMEOUT: &str = "service-client-api.block-markdone-timeout";
/// `interaction.web-content`
pub const INTERACTION_WEB_CONTENT: &str = "interaction.web-content";
/// `workspace.web-content`
pub const WORKSPACE_WEB_CONTENT: &str = "workspace.web-content";
/// Prefix of every Service Client API option.
pub const PREFIX: &str = "service-client-api.";

/// Every option name lowering reads from the main section (documented in
/// [`crate::options`]).
#[cfg(test)]
pub(crate) const KNOWN_OPTIONS: &[&str] = &[
    ORIGINS,
    RATE_LIMIT,
    RATE_LIMIT_PREFIX,
    QUARANTINE,
    READ_ALLOWED,
    WRITE_ALLOWED,
    BLOCK_MARKDONE_TIMEOUT,
    INTERACTION_WEB_CONTENT,
    WORKSPACE_WEB_CONTENT,
];

/// The Configuration Server object an export belongs to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ObjectLevel {
    /// The WWEWS Cluster application: where the options belong.
    #[default]
    Application,
    /// A Person (agent) annex.
    Person,
    /// An Agent Group annex.
    AgentGroup,
}

impl ObjectLevel {
    /// Every level, in the order usage messages list them.
    pub const ALL: [ObjectLevel; 3] = [
        ObjectLevel::Application,
        ObjectLevel::Person,
        ObjectLevel::AgentGroup,
    ];

    /// `application`, `person` or `agent-group`.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectLevel::Application => "application",
            ObjectLevel::Person => "person",
            ObjectLevel::AgentGroup => "agent-group",
        }
    }
}

/// `application`, `person` or `agent-group`, as every front end writes it
/// (`--object`, `scapi.toml`, the npm package's `object`).
impl std::str::FromStr for ObjectLevel {
    type Err = crate::front::UnknownName;

    fn from_str(s: &str) -> Result<ObjectLevel, crate::front::UnknownName> {
        ObjectLevel::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| crate::front::UnknownName {
                given: s.to_string(),
                what: "an object level",
                accepted: &["application", "person", "agent-group"],
            })
    }
}

impl ObjectLevel {
    /// The level GAX's export file name says (`CfgPerson_annex_<dbid>.cfg`,
    /// `CfgAgentGroup_annex_<dbid>.cfg`), if any.
    pub(crate) fn from_file_name(path: &str) -> Option<ObjectLevel> {
        let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        if name.starts_with("CfgPerson_annex_") {
            Some(ObjectLevel::Person)
        } else if name.starts_with("CfgAgentGroup_annex_") {
            Some(ObjectLevel::AgentGroup)
        } else {
            None
        }
    }

    /// How reports name the level.
    pub fn describe(self) -> &'static str {
        match self {
            ObjectLevel::Application => "Application",
            ObjectLevel::Person => "Person",
            ObjectLevel::AgentGroup => "Agent Group",
        }
    }
}

/// How to lower an export.
#[derive(Clone, Copy, Debug, Default)]
pub struct LowerOptions {
    /// The object the export belongs to; `None` detects it from the file name.
    pub object: Option<ObjectLevel>,
}

/// The result of lowering: the policy and every diagnostic (reader's
/// included), sorted by position.
#[derive(Clone, Debug)]
pub struct Lowered {
    /// The source the spans refer to.
    pub source: SourceFile,
    /// The policy.
    pub policy: Policy,
    /// All diagnostics of the file.
    pub diagnostics: Vec<Diagnostic>,
    /// Findings hidden by inline suppressions.
    pub suppressed: Vec<crate::suppress::Suppressed>,
}

/// Lowers a read export into a policy and its diagnostics.
pub fn lower(read: &ReadExport, options: LowerOptions) -> Lowered {
    let mut cx = Cx {
        read,
        diags: read.diagnostics.clone(),
        grants: scapi_policy::policy::GrantCache::new(),
        filter_texts: HashMap::new(),
        removals: Vec::new(),
    };
    let object = options
        .object
        .or_else(|| ObjectLevel::from_file_name(read.source.name()))
        .unwrap_or_default();
    options::check_keys(&mut cx, object);
    let origins = accepted::lower(&mut cx);
    let numbers = numbers::lower(&mut cx);
    // Origins accepted (or meant to be, by an entry with an error) make the
    // user-data defaults a promise to check.
    let accepting = (!origins.rules.is_empty()
        || origins.any.is_some()
        || !origins.rejected.origins.is_empty()
        || !origins.rejected.grants.is_empty()
        || origins.rejected.unknown_grants)
        .then(|| cx.option(ORIGINS))
        .flatten();
    let user_data = userdata::lower(&mut cx, accepting);
    let source = SourceInfo {
        name: file_name(read.source.name()),
        sha256: read.sha256.clone(),
    };
    let mut policy = Policy::new(
        origins.rules,
        origins.any,
        numbers.rate_limits.clone(),
        user_data,
        Vec::new(),
        source,
    );
    numbers::check_reachability(&mut cx, &numbers, &policy, &origins.rejected);
    let extensions = webext::lower(&mut cx, &policy, origins.option_end, &origins.rejected);
    policy = policy.with_web_extensions(extensions);
    let (mut kept, omitted) = cx.diags.finish();
    resolve_fixes(&mut kept, &mut cx.removals);
    let (mut diagnostics, suppressed) =
        crate::suppress::apply_inline(&read.source, &read.export, kept);
    sort_diagnostics(&mut diagnostics);
    // The counts of findings beyond the limit close the list.
    diagnostics.extend(omitted);
    Lowered {
        source: read.source.clone(),
        policy,
        diagnostics,
        suppressed,
    }
}

/// Makes the fixes of one file apply together.
///
/// A run of removed items that reaches the end of its list takes the
/// separators *before* its items (else `a, b, c` without `b` and `c` would
/// read `a, `); every other removed item takes the separator after it.
/// Then a fix inside what another fix replaces or deletes (a canonical
/// spelling inside a repeated entry that is removed) is dropped: the outer
/// fix settles both findings.
fn resolve_fixes(diags: &mut [Diagnostic], removals: &mut [Removal]) {
    if !removals.is_empty() {
        // By item, so the removal of the item after one (where its removal
        // ends) is found by a binary search. No maps: a list of a million
        // repeated entries has a million removals.
        removals.sort_unstable_by_key(|r| (r.item.start, r.item.end));
        // Items whose removal, with the removals after them, reaches the end.
        let mut trailing = vec![false; removals.len()];
        for i in (0..removals.len()).rev() {
            let Some(r) = removals.get(i) else { continue };
            let t = match r.after {
                None => true,
                Some(a) => {
                    // The next item's removal (later in the order, so
                    // settled already).
                    let next = removals.partition_point(|n| n.item.start < a.end);
                    removals.get(next).is_some_and(|n| n.item.start == a.end)
                        && trailing.get(next) == Some(&true)
                }
            };
            if let Some(slot) = trailing.get_mut(i) {
                *slot = t;
            }
        }
        // A removal's finding is reported on the item it removes.
        for d in diags.iter_mut() {
            let item = d.span;
            let Some(f) = d.fix.as_mut().filter(|f| f.is_deletion()) else {
                continue;
            };
            let from =
                removals.partition_point(|r| (r.item.start, r.item.end) < (item.start, item.end));
            let found = removals
                .get(from..)
                .unwrap_or_default()
                .iter()
                .zip(from..)
                .take_while(|(r, _)| r.item == item)
                .find(|(r, _)| r.span() == f.span);
            if let Some((r, i)) = found {
                f.span = if trailing.get(i) == Some(&true) {
                    r.before.unwrap_or(r.item)
                } else {
                    r.span()
                };
            }
        }
    }
    // The simple fixes not inside another one, sorted: their ends grow with
    // their starts, so the last one starting at or before a fix is the only
    // one that can contain it.
    let mut outer: Vec<Span> = diags
        .iter()
        .filter_map(|d| d.fix.as_ref())
        .filter(|f| f.edits.is_empty() && !f.span.is_empty())
        .map(|f| f.span)
        .collect();
    outer.sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
    let mut maximal: Vec<Span> = Vec::with_capacity(outer.len());
    for o in outer {
        if maximal.last().is_none_or(|m| o.end > m.end) {
            maximal.push(o);
        }
    }
    for d in diags.iter_mut() {
        let Some(f) = &d.fix else { continue };
        let candidate = maximal
            .partition_point(|m| m.start <= f.span.start)
            .checked_sub(1)
            .and_then(|i| maximal.get(i));
        if candidate.is_some_and(|m| *m != f.span && f.span.end <= m.end) {
            d.fix = None;
        }
    }
}

/// Reads and lowers an export from bytes in one step.
pub fn compile_bytes(
    name: &str,
    bytes: Vec<u8>,
    read: crate::input::ReadOptions,
    options: LowerOptions,
) -> Result<Lowered, crate::input::ReadFailure> {
    let export = crate::input::read_vec(name, bytes, read)?;
    Ok(lower(&export, options))
}

/// The last path component: the compiled policy names its source without
/// the directory it was compiled in, so output does not depend on the
/// working directory.
fn file_name(path: &str) -> String {
    path.rsplit(['/', '\\']).next().unwrap_or(path).to_string()
}

/// Shared state of one lowering run.
pub(crate) struct Cx<'a> {
    read: &'a ReadExport,
    diags: Diagnostics,
    /// Entries with the same filters share what those filters grant.
    grants: scapi_policy::policy::GrantCache,
    /// Grants of filter lists lowered without a finding, by their text.
    filter_texts: HashMap<Box<str>, scapi_policy::policy::Grant>,
    /// Items that fixes remove, in file coordinates.
    removals: Vec<Removal>,
}

impl<'a> Cx<'a> {
    fn source(&self) -> &'a SourceFile {
        &self.read.source
    }

    /// An option of the main section.
    fn option(&self, key: &str) -> Option<&'a OptionEntry> {
        self.read.export.main_option(key)
    }

    /// The main section's options.
    fn main_options(&self) -> impl Iterator<Item = &'a OptionEntry> + use<'a> {
        self.read
            .export
            .section(MAIN_SECTION)
            .into_iter()
            .flat_map(|s| s.options.iter())
    }

    /// Whether a new finding of this rule will be listed (not only counted):
    /// costly details such as suggestions are worked out only then.
    fn lists(&self, code: crate::rules::Code) -> bool {
        self.diags.lists(code)
    }

    /// Records a diagnostic whose spans are in the file already.
    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Records a finding whose fix removes an item of a list in `opt`'s
    /// value; which separator goes with it is decided once every finding
    /// of the file is known ([`resolve_fixes`]).
    fn value_removal(&mut self, opt: &OptionEntry, d: Diagnostic, removal: Removal) {
        let d = self.map_diag(opt, d.fix(removal.span(), ""));
        if d.fix.is_some() {
            self.removals.push(removal.map(|s| opt.file_span(s)));
        }
        self.diags.push(d);
    }

    /// Records a diagnostic whose spans are in `opt`'s value: maps them to
    /// the file and keeps the fix only if it can be applied verbatim.
    fn value_diag(&mut self, opt: &OptionEntry, d: Diagnostic) {
        let d = self.map_diag(opt, d);
        self.diags.push(d);
    }

    fn map_diag(&self, opt: &OptionEntry, mut d: Diagnostic) -> Diagnostic {
        d.span = opt.file_span(d.span);
        for l in &mut d.secondary {
            l.span = opt.file_span(l.span);
        }
        d.fix = d.fix.take().and_then(|mut f| {
            if !self.fix_is_verbatim(opt, f.span, &f.replacement) {
                return None;
            }
            f.span = opt.file_span(f.span);
            for e in &mut f.edits {
                e.span = opt.file_span(e.span);
            }
            Some(f)
        });
        d
    }

    /// Whether replacing `span` of the value with `replacement` can be done
    /// on the file's bytes as they are.
    fn fix_is_verbatim(&self, opt: &OptionEntry, span: Span, replacement: &str) -> bool {
        if !opt.map.is_verbatim(span) {
            return false;
        }
        match self.read.format {
            InputFormat::Cfg => !replacement.contains(['\n', '\r']),
            // Inside a JSON string, only text that needs no escaping.
            InputFormat::Json => !replacement
                .chars()
                .any(|c| matches!(c, '"' | '\\') || c.is_control()),
            // Inside any YAML scalar style: no quotes, escapes, or the
            // sequences that end a plain scalar.
            InputFormat::Yaml => {
                !replacement
                    .chars()
                    .any(|c| matches!(c, '"' | '\'' | '\\') || c.is_control())
                    && !replacement.contains(": ")
                    && !replacement.contains(" #")
            }
        }
    }

    /// The value of `opt` as meant: without a comment written after it,
    /// which is reported. `is_comment` says whether what follows the blank
    /// and the `;` or `#` is a comment for this option (in an origin list,
    /// a `;` before another origin is a separator instead).
    fn value_without_comment<'o>(
        &mut self,
        opt: &'o OptionEntry,
        is_comment: impl Fn(&InlineComment<'_>) -> bool,
    ) -> &'o str {
        let value = opt.value.as_str();
        let Some(c) = inline_comment(value).filter(|c| is_comment(c)) else {
            return value;
        };
        let shown = crate::render::clip(value.get(c.span.range()).unwrap_or("").trim(), 40);
        let d = Diagnostic::new(
            Code::InlineComment,
            c.span,
            format!("`{shown}` is read as part of the value"),
        )
        .label("cfg files have comment lines only")
        .help(format!(
            "move the comment to a line of its own above the option, starting with `{}`",
            c.marker
        ));
        let mut d = self.map_diag(opt, d);
        d.fix = self.comment_moved_up(opt, c);
        self.diags.push(d);
        c.before
    }

    /// The fix of an inline comment in a cfg file: the comment moves to a
    /// line of its own above the option, never dropped (it is what a person
    /// wrote). JSON has no comments and YAML's would change the value's
    /// scalar, so they get the help alone.
    fn comment_moved_up(&self, opt: &OptionEntry, c: InlineComment<'_>) -> Option<Fix> {
        if self.read.format != InputFormat::Cfg || !opt.map.is_verbatim(c.span) {
            return None;
        }
        let source = self.source();
        let cut = opt.file_span(c.span);
        let line = source.line_span(source.line_of(opt.key_span.start));
        let comment = format!("{} {}{}", c.marker, c.text, source.line_break());
        let kept = source.slice(Span::new(line.start, cut.start));
        Some(Fix::moving(Span::point(line.start), comment, cut, kept))
    }

    /// The 1-based line of a file offset.
    fn line(&self, offset: usize) -> usize {
        self.source().line_of(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_level_from_gax_names() {
        assert_eq!(
            ObjectLevel::from_file_name("x/CfgPerson_annex_6378.cfg"),
            Some(ObjectLevel::Person)
        );
        assert_eq!(
            ObjectLevel::from_file_name("CfgAgentGroup_annex_12.cfg"),
            Some(ObjectLevel::AgentGroup)
        );
        assert_eq!(ObjectLevel::from_file_name("wwews.cfg"), None);
    }
}
