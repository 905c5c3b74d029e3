//! Input readers: an option export (cfg/ini, JSON or YAML) → sections →
//! options → string values, each with the byte span of its key and value in
//! the original file.
//!
//! Readers check the bytes first (size, encoding, binary), then parse the
//! format. A file that cannot be read at all is an [`InputError`] (the command
//! exits 2); everything else — a malformed line, a duplicate key, a number
//! where a string belongs — is a [`Diagnostic`] and reading goes on.
//!
//! Readers know nothing of what the options mean.

mod cfg;
mod doc;
mod escapes;
mod json;
pub(crate) mod yaml;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::rules::Code;
use crate::source::{SourceFile, Span, Text, ValueMap};
use std::collections::HashMap;
use std::fmt;

/// The section every Service Client API option lives in; cfg keys before any
/// section header belong to it.
pub const MAIN_SECTION: &str = "interaction-workspace";

/// Default limit on the size of an input file: 64 MiB.
pub const DEFAULT_MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

/// The format of an option export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InputFormat {
    /// GAX cfg / ini export.
    Cfg,
    /// JSON: sections map or provisioning-API shape.
    Json,
    /// YAML: the same shapes as JSON.
    Yaml,
}

impl InputFormat {
    /// Every format, in the order usage messages list them.
    pub const ALL: [InputFormat; 3] = [InputFormat::Cfg, InputFormat::Json, InputFormat::Yaml];
}

/// `cfg`, `json` or `yaml`, as every front end writes it (`--input-format`,
/// the npm package's `format`); anything else is a usage error that says
/// what to write.
impl std::str::FromStr for InputFormat {
    type Err = crate::front::UnknownName;

    fn from_str(s: &str) -> Result<InputFormat, crate::front::UnknownName> {
        InputFormat::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| crate::front::UnknownName {
                given: s.to_string(),
                what: "an export format",
                accepted: &["cfg", "json", "yaml"],
            })
    }
}

impl InputFormat {
    /// `cfg`, `json` or `yaml`.
    pub fn as_str(self) -> &'static str {
        match self {
            InputFormat::Cfg => "cfg",
            InputFormat::Json => "json",
            InputFormat::Yaml => "yaml",
        }
    }

    /// The format a file name's extension says, if any.
    pub(crate) fn from_extension(name: &str) -> Option<InputFormat> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "cfg" | "ini" | "conf" => Some(InputFormat::Cfg),
            "json" => Some(InputFormat::Json),
            "yaml" | "yml" => Some(InputFormat::Yaml),
            _ => None,
        }
    }

    /// The format the content looks like: `{` starts JSON, a section header
    /// or a `key=value` line starts cfg, anything else is taken as YAML.
    pub(crate) fn sniff(text: &str) -> InputFormat {
        let first = text
            .trim_start_matches('\u{feff}')
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with(';') && !l.starts_with('#'));
        let Some(line) = first else {
            return InputFormat::Cfg;
        };
        if line.starts_with('{') {
            return InputFormat::Json;
        }
        if line.starts_with('[') || line == "---" {
            return if line == "---" {
                InputFormat::Yaml
            } else {
                InputFormat::Cfg
            };
        }
        match (line.find('='), line.find(':')) {
            (Some(eq), Some(colon)) if eq < colon => InputFormat::Cfg,
            (Some(_), None) => InputFormat::Cfg,
            _ => InputFormat::Yaml,
        }
    }
}

impl fmt::Display for InputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One option: key and value with their spans in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionEntry {
    /// The option name, as written (trimmed).
    pub key: String,
    /// Where the name is written.
    pub key_span: Span,
    /// The value, decoded (JSON escapes resolved), surrounding blanks trimmed
    /// for cfg.
    pub value: Text,
    /// Where the value is written (for JSON/YAML, the whole scalar).
    pub value_span: Span,
    /// How byte ranges of `value` map to the file.
    pub map: ValueMap,
    /// For a JSON or YAML value that is not a string, what it is (its text
    /// is `value`); lowering decides whether that is allowed there.
    pub non_string: Option<NonString>,
}

/// A JSON or YAML scalar given where option values are strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NonString {
    /// What it is, for messages: `a number`, `a boolean` or `null`.
    pub kind: &'static str,
    /// Whether it is an integer; the option's value is then its decimal
    /// text (YAML `0x32` is `50`).
    pub integer: bool,
}

impl OptionEntry {
    /// Maps a span of the value to a span of the file.
    pub fn file_span(&self, in_value: Span) -> Span {
        self.map.map(in_value)
    }

    /// The span of the value's own text in the file: inside the quotes of a
    /// JSON or YAML string when it maps exactly, the whole value otherwise.
    pub fn text_span(&self) -> Span {
        self.map.map(Span::new(0, self.value.len()))
    }
}

/// A section and its options, in file order. A section written twice is one
/// section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// The section name.
    pub name: String,
    /// Where the name is written (none for cfg keys before any header).
    pub name_span: Option<Span>,
    /// The options; for a key set twice, only the last.
    pub options: Vec<OptionEntry>,
}

impl Section {
    /// The option named `key`.
    pub fn get(&self, key: &str) -> Option<&OptionEntry> {
        self.options.iter().find(|o| o.key == key)
    }
}

/// A comment line of a cfg export (suppressions are written as comments).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    /// 1-based line.
    pub line: usize,
    /// The comment's bytes, marker included.
    pub span: Span,
    /// The text after the `;` or `#` marker, trimmed.
    pub text: String,
}

/// An option export: sections in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Export {
    /// The sections.
    pub sections: Vec<Section>,
    /// Comment lines (cfg only).
    pub comments: Vec<Comment>,
}

impl Export {
    /// The section named `name`.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The option `key` of the main section.
    pub fn main_option(&self, key: &str) -> Option<&OptionEntry> {
        self.section(MAIN_SECTION)?.get(key)
    }
}

/// Builds an [`Export`], merging repeated sections and reporting keys set twice.
#[derive(Default)]
pub(crate) struct ExportBuilder {
    export: Export,
    current: Option<usize>,
    /// Section name → position, and (section, key) → position: files with
    /// many sections or options stay linear.
    sections: HashMap<String, usize>,
    keys: HashMap<(usize, String), usize>,
}

impl ExportBuilder {
    pub(crate) fn section(&mut self, name: &str, span: Option<Span>) {
        let idx = match self.sections.get(name) {
            Some(&i) => i,
            None => {
                self.export.sections.push(Section {
                    name: name.to_string(),
                    name_span: span,
                    options: Vec::new(),
                });
                let i = self.export.sections.len() - 1;
                self.sections.insert(name.to_string(), i);
                i
            }
        };
        self.current = Some(idx);
    }

    /// Adds an option to the current section (the main section if none);
    /// a key already set is replaced and reported.
    pub(crate) fn option(&mut self, entry: OptionEntry, diags: &mut Diagnostics) {
        if self.current.is_none() {
            self.section(MAIN_SECTION, None);
        }
        let Some(index) = self.current else { return };
        let Some(section) = self.export.sections.get_mut(index) else {
            return;
        };
        let slot = self.keys.get(&(index, entry.key.clone())).copied();
        if let Some(old) = slot.and_then(|pos| section.options.get_mut(pos)) {
            // The last value wins, in the place of the first.
            let old = std::mem::replace(old, entry.clone());
            diags.push(
                Diagnostic::new(
                    Code::DuplicateKey,
                    entry.key_span,
                    format!(
                        "option `{}` is set twice in section `{}`",
                        entry.key, section.name
                    ),
                )
                .label("this value wins")
                .with_secondary(old.key_span, "first set here")
                .help("remove one of the two lines"),
            );
            return;
        }
        self.keys
            .insert((index, entry.key.clone()), section.options.len());
        section.options.push(entry);
    }

    pub(crate) fn comment(&mut self, c: Comment) {
        self.export.comments.push(c);
    }

    pub(crate) fn finish(self) -> Export {
        self.export
    }
}

/// What went wrong when a file cannot be read at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputErrorKind {
    /// Occurs when the bytes are not valid UTF-8.
    NotUtf8,
    /// Occurs when the file starts with a UTF-16 byte order mark or looks
    /// like UTF-16 text.
    Utf16,
    /// Occurs when the file contains NUL bytes.
    Binary,
    /// Occurs when the file is larger than the configured limit.
    TooLarge,
    /// Occurs when a JSON or YAML document does not parse.
    Syntax,
    /// Occurs when a JSON or YAML document is not a map of sections.
    Shape,
}

impl InputErrorKind {
    /// The diagnostic code reporting this kind.
    pub fn code(self) -> Code {
        match self {
            InputErrorKind::NotUtf8 => Code::NotUtf8,
            InputErrorKind::Utf16 => Code::Utf16,
            InputErrorKind::Binary => Code::BinaryFile,
            InputErrorKind::TooLarge => Code::InputTooLarge,
            InputErrorKind::Syntax => Code::SyntaxError,
            InputErrorKind::Shape => Code::UnexpectedShape,
        }
    }
}

/// A file that cannot be read as an option export.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InputError {
    /// What kind of problem.
    pub kind: InputErrorKind,
    /// One short lowercase sentence.
    pub message: String,
    /// Where, when known.
    pub span: Option<Span>,
    /// How to fix it.
    pub help: Option<String>,
}

impl InputError {
    pub(crate) fn new(kind: InputErrorKind, message: impl Into<String>) -> InputError {
        InputError {
            kind,
            message: message.into(),
            span: None,
            help: None,
        }
    }

    pub(crate) fn at(mut self, span: Span) -> InputError {
        self.span = Some(span);
        self
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> InputError {
        self.help = Some(help.into());
        self
    }

    /// The error as a diagnostic (for reports that list every file).
    pub fn to_diagnostic(&self) -> Diagnostic {
        let mut d = match self.span {
            Some(span) => Diagnostic::new(self.kind.code(), span, self.message.clone()),
            None => Diagnostic::file_level(self.kind.code(), self.message.clone()),
        };
        d.help = self.help.clone();
        d
    }
}

/// The size of an input whose bytes were cut at the size limit while it
/// was read, so that a refusal says the true size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputSize {
    /// A file of this many bytes.
    Exact(u64),
    /// A stream with more than this many bytes (read up to one past it).
    MoreThan(u64),
}

/// `1 byte`, `2 bytes`.
pub fn byte_count(n: u64) -> String {
    if n == 1 {
        "1 byte".to_string()
    } else {
        format!("{n} bytes")
    }
}

/// How to read an input.
#[derive(Clone, Copy, Debug)]
pub struct ReadOptions {
    /// Force a format instead of detecting it.
    pub format: Option<InputFormat>,
    /// Refuse files larger than this.
    pub max_input_bytes: u64,
    /// List at most this many findings of one rule (0: all of them).
    pub max_per_rule: usize,
    /// The input's true size when the bytes given were cut at the limit;
    /// `None` when they are the whole input.
    pub size: Option<InputSize>,
}

impl Default for ReadOptions {
    fn default() -> ReadOptions {
        ReadOptions {
            format: None,
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
            max_per_rule: crate::diagnostic::DEFAULT_MAX_PER_RULE,
            size: None,
        }
    }
}

/// A read export with its source and the reader's diagnostics.
#[derive(Clone, Debug)]
pub struct ReadExport {
    /// The file.
    pub source: SourceFile,
    /// The format it was read as.
    pub format: InputFormat,
    /// Its sections and options.
    pub export: Export,
    /// Problems found while reading (lowering adds to them).
    pub diagnostics: Diagnostics,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
}

/// A file that failed to read: the error plus a source to render it against.
#[derive(Clone, Debug)]
pub struct ReadFailure {
    /// The file (lossily decoded text).
    pub source: Box<SourceFile>,
    /// What went wrong.
    pub error: InputError,
}

/// Decodes bytes as UTF-8 text, refusing oversized, UTF-16, UTF-32 and
/// binary files. The bytes become the text without a copy. `size` is the
/// true size when the bytes were cut at the limit.
pub fn decode(
    name: &str,
    bytes: Vec<u8>,
    max_input_bytes: u64,
    size: Option<InputSize>,
) -> Result<SourceFile, ReadFailure> {
    let fail = |error: InputError, bytes: &[u8]| ReadFailure {
        source: Box::new(SourceFile::new(
            name,
            String::from_utf8_lossy(bytes.get(..bytes.len().min(1 << 20)).unwrap_or(&[]))
                .into_owned(),
        )),
        error,
    };
    if bytes.len() as u64 > max_input_bytes {
        let is = match size {
            Some(InputSize::Exact(n)) => byte_count(n),
            Some(InputSize::MoreThan(n)) => format!("more than {}", byte_count(n)),
            None => byte_count(bytes.len() as u64),
        };
        return Err(fail(
            InputError::new(
                InputErrorKind::TooLarge,
                format!(
                    "file is {is}, over the limit of {}",
                    byte_count(max_input_bytes)
                ),
            )
            .help("raise the limit with `--max-input-bytes` if this export is genuine"),
            &bytes,
        ));
    }
    if looks_utf32(&bytes) {
        return Err(ReadFailure {
            source: Box::new(SourceFile::new(name, String::new())),
            error: InputError::new(
                InputErrorKind::Utf16,
                "file is encoded as UTF-32, not UTF-8",
            )
            .help("save the export as UTF-8 (GAX exports are UTF-8)"),
        });
    }
    if looks_utf16(&bytes) {
        return Err(ReadFailure {
            source: Box::new(SourceFile::new(name, String::new())),
            error: InputError::new(
                InputErrorKind::Utf16,
                "file is encoded as UTF-16, not UTF-8",
            )
            .help("save the export as UTF-8 (GAX exports are UTF-8)"),
        });
    }
    // `contains` on bytes is a vectorized search; the position only when needed.
    if let Some(pos) = bytes
        .contains(&0)
        .then(|| bytes.iter().position(|&b| b == 0))
        .flatten()
    {
        return Err(fail(
            InputError::new(
                InputErrorKind::Binary,
                format!("file contains a NUL byte at offset {pos}; it is not a text export"),
            )
            .at(Span::point(lossy_offset(&bytes, pos)))
            .help("pass the cfg, JSON or YAML export of the options"),
            &bytes,
        ));
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(SourceFile::new(name, text)),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            Err(fail(
                InputError::new(
                    InputErrorKind::NotUtf8,
                    format!("file is not valid UTF-8 at byte offset {at}"),
                )
                .at(Span::point(lossy_offset(&bytes, at)))
                .help("save the export as UTF-8"),
                &bytes,
            ))
        }
    }
}

/// The offset in the lossily decoded text that corresponds to byte `at`
/// (the valid prefix decodes to itself).
fn lossy_offset(bytes: &[u8], at: usize) -> usize {
    let prefix = bytes.get(..at).unwrap_or(&[]);
    let n = match std::str::from_utf8(prefix) {
        Ok(s) => s.len(),
        Err(e) => e.valid_up_to(),
    };
    // The lossy source drops a leading BOM.
    if prefix.starts_with(&[0xef, 0xbb, 0xbf]) {
        n.saturating_sub(3)
    } else {
        n
    }
}

/// A UTF-32 byte order mark, or ASCII text with three NULs in every four
/// bytes.
fn looks_utf32(bytes: &[u8]) -> bool {
    if bytes.starts_with(&[0xff, 0xfe, 0, 0]) || bytes.starts_with(&[0, 0, 0xfe, 0xff]) {
        return true;
    }
    let sample = bytes.get(..bytes.len().min(64)).unwrap_or(&[]);
    sample.len() >= 8
        && sample.len() % 4 == 0
        && (sample.chunks(4).all(|c| c.get(1..) == Some(&[0, 0, 0][..]))
            || sample.chunks(4).all(|c| c.get(..3) == Some(&[0, 0, 0][..])))
}

fn looks_utf16(bytes: &[u8]) -> bool {
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return true;
    }
    // ASCII text in UTF-16 has a NUL in every other byte.
    let sample = bytes.get(..bytes.len().min(64)).unwrap_or(&[]);
    sample.len() >= 4 && {
        let even = sample.iter().step_by(2).filter(|&&b| b == 0).count();
        let odd = sample
            .iter()
            .skip(1)
            .step_by(2)
            .filter(|&&b| b == 0)
            .count();
        let half = sample.len() / 2;
        even * 10 >= half * 9 || odd * 10 >= half * 9
    }
}

/// Reads an export from bytes: checks them, picks the format (option,
/// extension, then content) and parses.
pub fn read(name: &str, bytes: &[u8], options: ReadOptions) -> Result<ReadExport, ReadFailure> {
    read_vec(name, bytes.to_vec(), options)
}

/// Reads an export from bytes it takes over: the text is the same memory,
/// never a copy, which matters for exports of many megabytes.
pub(crate) fn read_vec(
    name: &str,
    bytes: Vec<u8>,
    options: ReadOptions,
) -> Result<ReadExport, ReadFailure> {
    let source = decode(name, bytes, options.max_input_bytes, options.size)?;
    read_source(source, options)
}

/// SHA-256 of the file's bytes (the BOM included), lowercase hex.
fn sha256_of(source: &SourceFile) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    if source.base() > 0 {
        h.update("\u{feff}".as_bytes());
    }
    h.update(source.text().as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Where each option is written.
fn outline(export: &Export) -> Vec<crate::source::OptionPlace> {
    export
        .sections
        .iter()
        .flat_map(|s| {
            s.options.iter().map(|o| crate::source::OptionPlace {
                name: format!("{}/{}", s.name, o.key),
                key: o.key_span,
                span: o.key_span.join(o.value_span),
            })
        })
        .collect()
}

/// Parses an already decoded source (its size is not checked again).
pub(crate) fn read_source(
    source: SourceFile,
    options: ReadOptions,
) -> Result<ReadExport, ReadFailure> {
    let format = options
        .format
        .or_else(|| InputFormat::from_extension(source.name()))
        .unwrap_or_else(|| InputFormat::sniff(source.text()));
    let mut diagnostics = Diagnostics::with_limit(options.max_per_rule);
    let parsed = match format {
        InputFormat::Cfg => Ok(cfg::read(&source, &mut diagnostics)),
        InputFormat::Json => json::read(&source, &mut diagnostics),
        InputFormat::Yaml => yaml::read(&source, &mut diagnostics),
    };
    match parsed {
        Ok(export) => {
            source.set_outline(outline(&export));
            Ok(ReadExport {
                sha256: sha256_of(&source),
                source,
                format,
                export,
                diagnostics,
            })
        }
        Err(error) => Err(ReadFailure {
            source: Box::new(source),
            error,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_formats() {
        assert_eq!(
            InputFormat::sniff("service-client-api.rate-limit=4\n"),
            InputFormat::Cfg
        );
        assert_eq!(InputFormat::sniff("a=http://x\n"), InputFormat::Cfg);
        assert_eq!(InputFormat::sniff("; c\n[s]\n"), InputFormat::Cfg);
        assert_eq!(InputFormat::sniff(" {\"a\":1}"), InputFormat::Json);
        assert_eq!(
            InputFormat::sniff("interaction-workspace:\n  a: b\n"),
            InputFormat::Yaml
        );
        assert_eq!(InputFormat::sniff("---\n"), InputFormat::Yaml);
    }

    #[test]
    fn refuses_utf16_binary_and_bad_utf8() {
        let utf16: Vec<u8> = "a=b\r\n"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        assert_eq!(
            decode("f", utf16, 100, None).unwrap_err().error.kind,
            InputErrorKind::Utf16
        );
        assert_eq!(
            decode("f", b"a=b\0".to_vec(), 100, None)
                .unwrap_err()
                .error
                .kind,
            InputErrorKind::Binary
        );
        let e = decode("f", b"a=\xffb".to_vec(), 100, None)
            .unwrap_err()
            .error;
        assert_eq!(e.kind, InputErrorKind::NotUtf8);
        assert_eq!(e.span, Some(Span::point(2)));
        assert_eq!(
            decode("f", b"a=b".to_vec(), 2, None)
                .unwrap_err()
                .error
                .kind,
            InputErrorKind::TooLarge
        );
        let cut = |size| {
            decode("f", b"abc".to_vec(), 2, size)
                .unwrap_err()
                .error
                .message
        };
        assert_eq!(
            cut(Some(InputSize::Exact(105_000_000))),
            "file is 105000000 bytes, over the limit of 2 bytes"
        );
        assert_eq!(
            cut(Some(InputSize::MoreThan(2))),
            "file is more than 2 bytes, over the limit of 2 bytes"
        );
        assert_eq!(
            decode("f", b"a".to_vec(), 0, None)
                .unwrap_err()
                .error
                .message,
            "file is 1 byte, over the limit of 0 bytes"
        );
        let utf32: Vec<u8> = "a=b\n"
            .chars()
            .flat_map(|c| (c as u32).to_le_bytes())
            .collect();
        let e = decode("f", utf32, 100, None).unwrap_err().error;
        assert_eq!(
            (e.kind, e.message.as_str()),
            (
                InputErrorKind::Utf16,
                "file is encoded as UTF-32, not UTF-8"
            )
        );
    }
}
