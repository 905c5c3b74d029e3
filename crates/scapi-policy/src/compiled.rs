//! The compiled policy JSON (schemaVersion 1): the versioned artifact broker
//! runtimes load.
//!
//! These serde types are the contract (`grammar/compiled.schema.json`);
//! [`Policy`] is not shaped by them. Output is deterministic: fields in a
//! fixed order, origins sorted, maps ordered, so the same export always gives
//! the same bytes.

use crate::policy::{
    Filter, Grant, GrantCache, KeySet, OriginList, OriginRule, Policy, Quarantine, RateLimits,
    SourceInfo, UserDataPolicy, WINDOW_SECONDS, WebExtension,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// The current schema version.
pub const SCHEMA_VERSION: u32 = 1;

/// The compiled policy document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a compiled policy object"
)]
pub struct CompiledPolicy {
    /// Always 1 for this format.
    pub schema_version: u32,
    /// The export it was compiled from.
    pub source: CompiledSource,
    /// Accepted origins, sorted.
    pub origins: Vec<CompiledOrigin>,
    /// The `*` entry, or `null`.
    pub any_origin: Option<CompiledGrant>,
    /// Rate limits.
    pub rate_limit: CompiledRateLimit,
    /// User-data key sets.
    pub user_data: CompiledUserData,
    /// Web extension views.
    pub web_extensions: Vec<CompiledWebExtension>,
    /// What runs in shadow mode; absent when nothing does.
    #[serde(
        default,
        skip_serializing_if = "CompiledShadow::is_empty",
        deserialize_with = "shadow_object"
    )]
    pub shadow: CompiledShadow,
}

/// `shadow` read from an object only: serde reads a struct from an array of
/// its fields too, so `[true, []]` would mark the whole policy unnoticed.
fn shadow_object<'de, D: serde::Deserializer<'de>>(d: D) -> Result<CompiledShadow, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    if !value.is_object() {
        return Err(serde::de::Error::custom(
            "`shadow` must be an object `{\"all\", \"entries\"}`",
        ));
    }
    serde_json::from_value(value).map_err(serde::de::Error::custom)
}

/// What of the policy runs in shadow mode: decided, counted and logged,
/// never enforced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a shadow object `{\"all\", \"entries\"}`"
)]
pub struct CompiledShadow {
    /// The whole policy.
    #[serde(default)]
    pub all: bool,
    /// Entries by origin (`*` for `anyOrigin`), sorted.
    #[serde(default)]
    pub entries: Vec<String>,
}

impl CompiledShadow {
    /// Nothing in shadow.
    pub fn is_empty(&self) -> bool {
        !self.all && self.entries.is_empty()
    }
}

/// Where the policy came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a source object `{\"file\", \"sha256\", …}`"
)]
pub struct CompiledSource {
    /// File name of the export.
    pub name: String,
    /// SHA-256 of the export's bytes, lowercase hex.
    pub sha256: String,
}

/// One accepted origin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an origin object `{\"origin\", \"line\", \"grants\"}`"
)]
pub struct CompiledOrigin {
    /// Canonical origin.
    pub origin: String,
    /// Filters as written, canonical (`["*"]` when none).
    pub allow: Vec<String>,
    /// Catalog requests granted, sorted.
    pub grants: Vec<String>,
    /// Source line of the entry.
    pub line: usize,
}

/// The `*` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a grant object")]
pub struct CompiledGrant {
    /// Filters as written, canonical.
    pub allow: Vec<String>,
    /// Catalog requests granted, sorted.
    pub grants: Vec<String>,
    /// Source line of the entry.
    pub line: usize,
}

/// Rate limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a rate-limit object"
)]
pub struct CompiledRateLimit {
    /// Always 60.
    pub window_seconds: u32,
    /// Limit of every request without its own (0 = unlimited).
    pub default: u32,
    /// Per-request limits.
    pub per_request: BTreeMap<String, u32>,
    /// Quarantine in seconds; `null` = forever.
    pub quarantine_seconds: Option<u32>,
}

/// User-data key sets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a user-data object `{\"read\", \"write\"}`"
)]
pub struct CompiledUserData {
    /// Readable keys.
    pub read: Keys,
    /// Writable keys.
    pub write: Keys,
}

/// `"*"` or a sorted list of keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Keys {
    /// Every key.
    All,
    /// These keys.
    List(Vec<String>),
}

impl Serialize for Keys {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Keys::All => s.serialize_str("*"),
            Keys::List(l) => l.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Keys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Keys, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged, expecting = "`\"*\"` or a list of keys")]
        enum Raw {
            Star(String),
            List(Vec<String>),
        }
        match Raw::deserialize(d)? {
            Raw::Star(s) if s == "*" => Ok(Keys::All),
            Raw::Star(s) => Err(serde::de::Error::custom(format!(
                "expected \"*\" or a list of keys, found \"{s}\""
            ))),
            Raw::List(l) => Ok(Keys::List(l)),
        }
    }
}

/// A web extension view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a web extension object")]
pub struct CompiledWebExtension {
    /// Section name.
    pub section: String,
    /// The `url` as written.
    pub url: Option<String>,
    /// Canonical origin of the url, when known.
    pub origin: Option<String>,
    /// Whether the origin is accepted.
    pub accepted: bool,
}

fn names(filters: &[Filter]) -> Vec<String> {
    filters.iter().map(Filter::to_string).collect()
}

fn grant_parts(g: &Grant) -> (Vec<String>, Vec<String>) {
    (
        names(g.allow()),
        g.grants().names().into_iter().map(str::to_string).collect(),
    )
}

fn keys(k: &KeySet) -> Keys {
    match k {
        KeySet::All => Keys::All,
        KeySet::Keys(k) => Keys::List(k.iter().cloned().collect()),
    }
}

fn compiled_origin(o: OriginRule<'_>) -> CompiledOrigin {
    let (allow, grants) = grant_parts(o.grant);
    CompiledOrigin {
        origin: o.origin.to_string(),
        allow,
        grants,
        line: o.grant.line(),
    }
}

impl From<&Policy> for CompiledPolicy {
    fn from(p: &Policy) -> CompiledPolicy {
        CompiledPolicy {
            origins: p.origins().map(compiled_origin).collect(),
            ..CompiledPolicy::shell(p)
        }
    }
}

impl CompiledPolicy {
    /// The document of a policy without its origins.
    fn shell(p: &Policy) -> CompiledPolicy {
        CompiledPolicy {
            schema_version: SCHEMA_VERSION,
            source: CompiledSource {
                name: p.source().name.clone(),
                sha256: p.source().sha256.clone(),
            },
            origins: Vec::new(),
            any_origin: p.any_origin().map(|g| {
                let (allow, grants) = grant_parts(g);
                CompiledGrant {
                    allow,
                    grants,
                    line: g.line(),
                }
            }),
            rate_limit: CompiledRateLimit {
                window_seconds: WINDOW_SECONDS,
                default: p.rate_limits().default,
                per_request: p.rate_limits().per_request.clone(),
                quarantine_seconds: p.rate_limits().quarantine.seconds(),
            },
            user_data: CompiledUserData {
                read: keys(&p.user_data().read),
                write: keys(&p.user_data().write),
            },
            web_extensions: p
                .web_extensions()
                .iter()
                .map(|w| CompiledWebExtension {
                    section: w.section.clone(),
                    url: w.url.clone(),
                    origin: w.origin.clone(),
                    accepted: w.accepted,
                })
                .collect(),
            shadow: CompiledShadow {
                all: p.shadow().all,
                entries: p.shadow().entries.iter().cloned().collect(),
            },
        }
    }

    /// Writes `CompiledPolicy::from(policy).to_json()` without building the
    /// document: origins are converted and printed one at a time, so a
    /// policy of a million origins never becomes one JSON tree.
    pub fn write_json(policy: &Policy, out: &mut impl std::io::Write) -> std::io::Result<()> {
        crate::jsonfmt::write_streamed(
            out,
            &CompiledPolicy::shell(policy),
            "/origins",
            policy.origins().map(compiled_origin),
        )
    }

    /// The document of a policy as something to serialize, origins
    /// converted one at a time as the serializer asks for them: for writing
    /// it in another format without building it (`scapi compile
    /// --output-format yaml`).
    pub fn streamed(policy: &Policy) -> impl Serialize + '_ {
        Streamed(policy)
    }

    /// Pretty JSON with a final newline: the bytes `scapi compile` writes.
    pub fn to_json(&self) -> String {
        crate::jsonfmt::to_string(self)
    }
}

/// A policy serialized as its compiled document, origins converted one at a
/// time as the serializer asks for them.
struct Streamed<'p>(&'p Policy);

impl Serialize for Streamed<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeSeq, SerializeStruct};
        struct Origins<'p>(&'p Policy);
        impl Serialize for Origins<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(Some(self.0.origins().len()))?;
                for o in self.0.origins() {
                    seq.serialize_element(&compiled_origin(o))?;
                }
                seq.end()
            }
        }
        let shell = CompiledPolicy::shell(self.0);
        let fields = if shell.shadow.is_empty() { 7 } else { 8 };
        let mut st = s.serialize_struct("CompiledPolicy", fields)?;
        st.serialize_field("schemaVersion", &shell.schema_version)?;
        st.serialize_field("source", &shell.source)?;
        st.serialize_field("origins", &Origins(self.0))?;
        st.serialize_field("anyOrigin", &shell.any_origin)?;
        st.serialize_field("rateLimit", &shell.rate_limit)?;
        st.serialize_field("userData", &shell.user_data)?;
        st.serialize_field("webExtensions", &shell.web_extensions)?;
        if !shell.shadow.is_empty() {
            st.serialize_field("shadow", &shell.shadow)?;
        }
        st.end()
    }
}

/// Why a compiled policy cannot be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    kind: LoadErrorKind,
    message: String,
}

/// The kind of problem a [`LoadError`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LoadErrorKind {
    /// Occurs when the text is not JSON (or YAML), or not a compiled policy
    /// document: a field missing, unknown or of the wrong type.
    Syntax,
    /// Occurs when `schemaVersion` is not the one this version reads.
    SchemaVersion,
    /// Occurs when an origin is not a canonical `http` or `https` origin,
    /// or is listed twice.
    Origin,
    /// Occurs when a filter is not `*`, `namespace.*` or a request name, or
    /// an entry's `allow` is empty.
    Filter,
    /// Occurs when an entry's `grants` lists a request its `allow` does not
    /// grant: the document was edited or corrupted.
    Grants,
    /// Occurs when the rate limits are not of this format: a window other
    /// than 60 seconds, a per-request limit whose key is not a request
    /// name, a quarantine of 0 seconds (forever is written `null`).
    RateLimit,
    /// Occurs when a user-data key is listed twice.
    UserData,
    /// Occurs when `shadow` names an entry the policy does not have.
    Shadow,
}

impl LoadError {
    #[doc(hidden)] // the compiler's, not a broker's
    /// An error of `kind`, saying `message` (one short lowercase sentence
    /// naming the offending field).
    pub fn new(kind: LoadErrorKind, message: impl Into<String>) -> LoadError {
        LoadError {
            kind,
            message: message.into(),
        }
    }

    /// What kind of problem it is.
    pub fn kind(&self) -> LoadErrorKind {
        self.kind
    }

    /// What is wrong, naming the field.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LoadError {}

fn load_error(kind: LoadErrorKind, message: impl Into<String>) -> LoadError {
    LoadError::new(kind, message)
}

pub(crate) fn parse_filter(text: &str) -> Option<Filter> {
    if text == "*" {
        return Some(Filter::All);
    }
    if let Some(ns) = crate::catalog::namespace_pattern(text) {
        return Some(Filter::Namespace(ns.to_string()));
    }
    crate::catalog::is_request_name(text).then(|| Filter::Request(text.to_string()))
}

fn load_grant(
    cache: &mut GrantCache,
    what: &str,
    allow: &[String],
    grants: &[String],
    line: usize,
) -> Result<Grant, LoadError> {
    if allow.is_empty() {
        return Err(load_error(
            LoadErrorKind::Filter,
            format!("{what}: `allow` is empty"),
        ));
    }
    let filters = allow
        .iter()
        .map(|f| {
            parse_filter(f).ok_or_else(|| {
                load_error(
                    LoadErrorKind::Filter,
                    format!("{what}: `{f}` is not a filter"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let grant = cache.grant(filters, line);
    // `allow` decides; `grants` documents it. A listed grant that `allow`
    // does not give means the file was edited or corrupted.
    if let Some(g) = grants.iter().find(|g| !grant.permits(g)) {
        return Err(load_error(
            LoadErrorKind::Grants,
            format!("{what}: `grants` lists `{g}`, which `allow` does not grant"),
        ));
    }
    Ok(grant)
}

fn load_keys(what: &str, k: &Keys) -> Result<KeySet, LoadError> {
    match k {
        Keys::All => Ok(KeySet::All),
        Keys::List(l) => {
            let set: std::collections::BTreeSet<String> = l.iter().cloned().collect();
            if set.len() != l.len() {
                return Err(load_error(
                    LoadErrorKind::UserData,
                    format!("{what}: a key is listed twice"),
                ));
            }
            Ok(KeySet::Keys(set))
        }
    }
}

impl CompiledPolicy {
    /// Reads a compiled policy document and the policy it describes, checked
    /// ([`to_policy`](CompiledPolicy::to_policy)): what a broker calls at
    /// start-up.
    pub fn load(text: &str) -> Result<Policy, LoadError> {
        CompiledPolicy::from_json(text)?.to_policy()
    }

    /// Reads a compiled policy document.
    pub fn from_json(text: &str) -> Result<CompiledPolicy, LoadError> {
        serde_json::from_str(text)
            .map_err(|e| load_error(LoadErrorKind::Syntax, format!("not a compiled policy: {e}")))
    }

    /// The policy this document describes, checked: schema version 1,
    /// canonical origins listed once, valid filters, a 60-second window, a
    /// quarantine of at least one second or `null`.
    pub fn to_policy(&self) -> Result<Policy, LoadError> {
        if self.schema_version != SCHEMA_VERSION {
            return Err(load_error(
                LoadErrorKind::SchemaVersion,
                format!(
                    "`schemaVersion` is {}, this scapi reads {SCHEMA_VERSION}",
                    self.schema_version
                ),
            ));
        }
        let mut cache = GrantCache::new();
        let mut origins = OriginList::with_capacity(
            self.origins.len(),
            self.origins.iter().map(|o| o.origin.len()).sum(),
        );
        let mut seen = std::collections::HashSet::new();
        for o in &self.origins {
            if !crate::presented::is_canonical(&o.origin)
                || !(o.origin.starts_with("https://") || o.origin.starts_with("http://"))
            {
                return Err(load_error(
                    LoadErrorKind::Origin,
                    format!("origin `{}` is not a canonical http(s) origin", o.origin),
                ));
            }
            if !seen.insert(o.origin.as_str()) {
                return Err(load_error(
                    LoadErrorKind::Origin,
                    format!("origin `{}` is listed twice", o.origin),
                ));
            }
            let grant = load_grant(
                &mut cache,
                &format!("origin `{}`", o.origin),
                &o.allow,
                &o.grants,
                o.line,
            )?;
            origins.push(&o.origin, grant);
        }
        let any = match &self.any_origin {
            Some(a) => Some(load_grant(
                &mut cache,
                "`anyOrigin`",
                &a.allow,
                &a.grants,
                a.line,
            )?),
            None => None,
        };
        let r = &self.rate_limit;
        if r.window_seconds != WINDOW_SECONDS {
            return Err(load_error(
                LoadErrorKind::RateLimit,
                format!(
                    "`rateLimit.windowSeconds` is {}, not {WINDOW_SECONDS}",
                    r.window_seconds
                ),
            ));
        }
        if let Some(name) = r
            .per_request
            .keys()
            .find(|k| !crate::catalog::is_request_name(k))
        {
            return Err(load_error(
                LoadErrorKind::RateLimit,
                format!("`rateLimit.perRequest` names `{name}`, which is not a request name"),
            ));
        }
        let quarantine = match r.quarantine_seconds {
            None => Quarantine::Forever,
            Some(0) => {
                return Err(load_error(
                    LoadErrorKind::RateLimit,
                    "`rateLimit.quarantineSeconds` is 0; forever is written `null`",
                ));
            }
            Some(s) => Quarantine::from_option(s),
        };
        let rate_limits = RateLimits {
            default: r.default,
            per_request: r.per_request.clone(),
            quarantine,
        };
        let user_data = UserDataPolicy {
            read: load_keys("`userData.read`", &self.user_data.read)?,
            write: load_keys("`userData.write`", &self.user_data.write)?,
        };
        let web_extensions = self
            .web_extensions
            .iter()
            .map(|w| WebExtension {
                section: w.section.clone(),
                url: w.url.clone(),
                origin: w.origin.clone(),
                accepted: w.accepted,
            })
            .collect();
        let source = SourceInfo {
            name: self.source.name.clone(),
            sha256: self.source.sha256.clone(),
        };
        let mut listed = std::collections::BTreeSet::new();
        if let Some(twice) = self
            .shadow
            .entries
            .iter()
            .find(|e| !listed.insert(e.as_str()))
        {
            return Err(load_error(
                LoadErrorKind::Shadow,
                format!("`shadow.entries` lists `{twice}` twice"),
            ));
        }
        let shadow = crate::policy::Shadow {
            all: self.shadow.all,
            entries: self
                .shadow
                .entries
                .iter()
                .map(|e| e.as_str().into())
                .collect(),
        };
        let policy = Policy::new(origins, any, rate_limits, user_data, web_extensions, source);
        // A loaded policy is one about to serve: indexed now, not at the
        // first check.
        policy.index_origins();
        policy.with_shadow(shadow).map_err(|entry| {
            load_error(
                LoadErrorKind::Shadow,
                format!("`shadow.entries` names `{entry}`, which is not an entry of this policy"),
            )
        })
    }
}

#[doc(hidden)] // the compiler's, not a broker's
/// Whether `text` looks like a compiled policy rather than an option export:
/// a JSON object with `schemaVersion` and `origins` at the top.
pub fn looks_compiled(text: &str) -> bool {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    t.starts_with('{') && t.contains("\"schemaVersion\"") && t.contains("\"origins\"") && {
        #[derive(Deserialize)]
        struct Probe {
            #[serde(rename = "schemaVersion")]
            _v: serde_json::Value,
            #[serde(rename = "origins")]
            _o: serde_json::Value,
        }
        serde_json::from_str::<Probe>(t).is_ok()
    }
}
