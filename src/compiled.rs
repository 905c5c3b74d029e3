//! The compiled policy JSON (schemaVersion 1): the versioned artifact broker
//! runtimes load.
//!
//! These serde types are the contract (`grammar/compiled.schema.json`);
//! [`Policy`] is not shaped by them. Output is deterministic: fields in a
//! fixed order, origins sorted, maps ordered, so the same export always gives
//! the same bytes.

use crate::policy::{Filter, Grant, KeySet, Policy, WINDOW_SECONDS};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// The current schema version.
pub const SCHEMA_VERSION: u32 = 1;

/// The compiled policy document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
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
}

/// Where the policy came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompiledSource {
    /// File name of the export.
    pub name: String,
    /// SHA-256 of the export's bytes, lowercase hex.
    pub sha256: String,
}

/// One accepted origin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
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
#[serde(rename_all = "camelCase", deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
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
        #[serde(untagged)]
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
#[serde(deny_unknown_fields)]
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

impl From<&Policy> for CompiledPolicy {
    fn from(p: &Policy) -> CompiledPolicy {
        CompiledPolicy {
            schema_version: SCHEMA_VERSION,
            source: CompiledSource {
                name: p.source().name.clone(),
                sha256: p.source().sha256.clone(),
            },
            origins: p
                .origins()
                .iter()
                .map(|o| {
                    let (allow, grants) = grant_parts(&o.grant);
                    CompiledOrigin {
                        origin: o.origin.clone(),
                        allow,
                        grants,
                        line: o.grant.line(),
                    }
                })
                .collect(),
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
        }
    }
}

impl CompiledPolicy {
    /// Pretty JSON with a final newline: the bytes `scapi compile` writes.
    pub fn to_json(&self) -> String {
        crate::jsonfmt::to_string(self)
    }

    /// YAML: the same document.
    pub fn to_yaml(&self) -> String {
        serde_yaml_ng::to_string(self).unwrap_or_default()
    }
}
