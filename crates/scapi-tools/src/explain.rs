//! The capability view of one origin (`scapi explain`): every
//! catalog request, enabled or disabled, why, and its rate limit — also as
//! the Workflow Manager `state.updated` event, so a broker can drive its
//! buttons from the policy.

use scapi_policy::catalog::{self, RequestId};
use scapi_policy::decision::{Frame, Reason, TAB_REQUESTS};
use scapi_policy::policy::{Filter, KeySet, Policy, Quarantine, UserDataPolicy};
use scapi_policy::presented::{self, NotCanonical};
use serde_json::{Map, Value, json};

/// One request's state for an origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capability {
    /// The request.
    pub request: RequestId,
    /// Whether the origin may call it.
    pub enabled: bool,
    /// The filter that grants it.
    pub granted_by: Option<Filter>,
    /// Why, in words.
    pub why: String,
    /// Its rate limit per minute (0 = unlimited).
    pub rate_limit: u32,
}

/// Everything an origin may and may not do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// The origin as presented.
    pub origin: String,
    /// `Granted` when an entry accepts it, else why not.
    pub reason: Reason,
    /// Why the origin is not canonical, when it is not.
    pub not_canonical: Option<NotCanonical>,
    /// The entry that applies: its origin (`*` for the any-origin entry) and line.
    pub entry: Option<(String, usize)>,
    /// That entry's filters.
    pub allow: Vec<Filter>,
    /// Every catalog request.
    pub requests: Vec<Capability>,
    /// Filters that also grant names outside the catalog.
    pub other_filters: Vec<Filter>,
    /// The quarantine after a rate limit.
    pub quarantine: Quarantine,
    /// The attached-data keys every accepted origin may read and write.
    pub user_data: UserDataPolicy,
    /// How the application is displayed.
    pub frame: Frame,
}

impl Explanation {
    /// Whether an entry accepts the origin (`scapi explain` exits 1 when
    /// none does).
    pub fn is_accepted(&self) -> bool {
        self.entry.is_some()
    }
}

/// Explains what `origin` may call under `policy`, from an embedded frame.
pub fn explain(policy: &Policy, origin: &str) -> Explanation {
    explain_in(policy, origin, Frame::Embedded)
}

/// Explains what `origin` may call under `policy` from a frame displayed as
/// `frame`: a tab may only dial.
pub fn explain_in(policy: &Policy, origin: &str, frame: Frame) -> Explanation {
    let applied = policy.applied(origin);
    let limits = policy.rate_limits();
    let (reason, entry, allow) = match &applied {
        Ok(a) => (
            Reason::Granted,
            Some((a.entry.origin.to_string(), a.entry.line)),
            a.grant.allow().to_vec(),
        ),
        Err(r) => (*r, None, Vec::new()),
    };
    let entry_text = entry
        .as_ref()
        .map(|(o, l)| format!("entry `{o}` (line {l})"))
        .unwrap_or_default();
    let requests = catalog::all()
        .map(|id| {
            let name = id.name();
            let rate_limit = limits.limit_for(name);
            let Ok(a) = &applied else {
                let why = match reason {
                    Reason::OriginNotCanonical => {
                        "the origin is not canonical, so it is refused".to_string()
                    }
                    Reason::NullOrigin => "`null` is the origin of a sandboxed frame or a `file:` page; no entry accepts it".to_string(),
                    _ => "no entry accepts this origin".to_string(),
                };
                return Capability {
                    request: id,
                    enabled: false,
                    granted_by: None,
                    why,
                    rate_limit,
                };
            };
            if a.grant.permits_id(id) && frame == Frame::Tab && !TAB_REQUESTS.contains(&name) {
                return Capability {
                    request: id,
                    enabled: false,
                    granted_by: None,
                    why: format!(
                        "granted by {entry_text}, but a frame shown in a tab may only dial"
                    ),
                    rate_limit,
                };
            }
            if a.grant.permits_id(id) {
                let by = a.grant.allow().iter().find(|f| f.matches(name)).cloned();
                let why = match &by {
                    Some(f) => format!("granted by `{f}` in {entry_text}"),
                    None => format!("granted by {entry_text}"),
                };
                return Capability {
                    request: id,
                    enabled: true,
                    granted_by: by,
                    why,
                    rate_limit,
                };
            }
            let why = if id.get().explicit_only {
                format!("granted only when named; {entry_text} does not name it")
            } else {
                format!("not in the filters of {entry_text}")
            };
            Capability {
                request: id,
                enabled: false,
                granted_by: None,
                why,
                rate_limit,
            }
        })
        .collect();
    let other_filters = allow
        .iter()
        .filter(|f| match f {
            Filter::All => false,
            Filter::Namespace(ns) => !catalog::is_namespace(ns),
            Filter::Request(r) => catalog::lookup(r).is_none(),
        })
        .cloned()
        .collect();
    Explanation {
        origin: origin.to_string(),
        reason,
        not_canonical: presented::check_canonical(origin).err(),
        entry,
        allow,
        requests,
        other_filters,
        quarantine: limits.quarantine,
        user_data: match frame {
            Frame::Embedded => policy.user_data().clone(),
            // A tab may only dial, which carries no attached data.
            Frame::Tab => UserDataPolicy {
                read: policy.user_data().read.clone(),
                write: KeySet::Keys(Default::default()),
            },
        },
        frame,
    }
}

/// A key set in reports: `"*"` or the sorted keys.
fn keys_json(k: &KeySet) -> Value {
    match k {
        KeySet::All => "*".into(),
        KeySet::Keys(keys) => keys.iter().cloned().collect::<Vec<_>>().into(),
    }
}

/// What an accepted origin may do with attached data, in words.
fn keys_human(verb: &str, k: &KeySet, option: &str) -> String {
    match k {
        KeySet::All => format!("{verb} every attached-data key (`{option}` is `*` or not set)"),
        KeySet::Keys(keys) if keys.is_empty() => format!("{verb} no attached-data key"),
        KeySet::Keys(keys) => format!(
            "{verb} only {}",
            keys.iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl Explanation {
    /// The `explain --format json` document.
    pub fn to_json(&self) -> Value {
        let requests: Vec<Value> = self
            .requests
            .iter()
            .map(|c| {
                json!({
                    "name": c.request.name(),
                    "enabled": c.enabled,
                    "why": c.why,
                    "rateLimit": c.rate_limit,
                })
            })
            .collect();
        let mut m = Map::new();
        m.insert("schemaVersion".into(), 1.into());
        m.insert("origin".into(), self.origin.clone().into());
        m.insert("reason".into(), self.reason.as_str().into());
        m.insert("frame".into(), self.frame.as_str().into());
        m.insert(
            "entry".into(),
            self.entry
                .as_ref()
                .map_or(Value::Null, |(o, l)| json!({"origin": o, "line": l})),
        );
        m.insert(
            "allow".into(),
            self.allow
                .iter()
                .map(|f| f.to_string())
                .collect::<Vec<_>>()
                .into(),
        );
        m.insert("requests".into(), Value::Array(requests));
        m.insert(
            "otherFilters".into(),
            self.other_filters
                .iter()
                .map(|f| f.to_string())
                .collect::<Vec<_>>()
                .into(),
        );
        m.insert(
            "quarantineSeconds".into(),
            self.quarantine.seconds().map_or(Value::Null, Value::from),
        );
        // What an accepted origin may read and write; nothing for another.
        m.insert(
            "userData".into(),
            if self.is_accepted() {
                json!({"read": keys_json(&self.user_data.read), "write": keys_json(&self.user_data.write)})
            } else {
                Value::Null
            },
        );
        Value::Object(m)
    }

    /// The Workflow Manager `state.updated` event for this origin.
    pub fn to_state_event(&self) -> Value {
        let data: Vec<Value> = self
            .requests
            .iter()
            .map(|c| json!({"name": c.request.name(), "type": if c.enabled { "enabled" } else { "disabled" }}))
            .collect();
        json!({
            "messageType": "stateEvent",
            "target": self.origin,
            "name": "state.updated",
            "context": {},
            "data": data,
        })
    }

    /// The human report: a heading and a table.
    pub fn to_human(&self) -> String {
        self.to_human_with(false)
    }

    /// [`to_human`](Explanation::to_human), listing only the enabled
    /// requests when `only_enabled` (the count still says of how many).
    pub fn to_human_with(&self, only_enabled: bool) -> String {
        // The origin as presented: escaped, so it cannot drive the terminal.
        let shown = crate::text::exact(&self.origin);
        let mut out = match (&self.entry, self.reason) {
            (Some((o, l)), _) => {
                let allow = self
                    .allow
                    .iter()
                    .map(|f| f.to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                let tab = if self.frame == Frame::Tab {
                    "; shown in a tab, it may only dial"
                } else {
                    ""
                };
                format!("{shown}: accepted by entry `{o}` (line {l}), allow ({allow}){tab}\n")
            }
            (None, Reason::OriginNotCanonical) => {
                // Advice for the reader only: decisions never repair an origin.
                let canonical = url::Url::parse(&self.origin)
                    .ok()
                    .map(|u| u.origin().ascii_serialization())
                    .filter(|c| c != "null" && *c != self.origin)
                    .map(|c| format!("; its canonical form would be `{c}`"))
                    .unwrap_or_default();
                format!(
                    "{shown}: refused, not a canonical origin: {}{canonical}\n",
                    describe(self.not_canonical)
                )
            }
            (None, Reason::NullOrigin) => format!(
                "{shown}: refused: `null` is the opaque origin of a sandboxed frame, a `file:` page or a `data:` URL, which says nothing about who sent a message; no entry accepts it, not even `*`\n"
            ),
            (None, _) => format!("{shown}: refused, no entry accepts this origin\n"),
        };
        let enabled = self.requests.iter().filter(|c| c.enabled).count();
        out.push_str(&format!(
            "{enabled} of {} requests enabled\n\n",
            self.requests.len()
        ));
        let width = self
            .requests
            .iter()
            .filter(|c| c.enabled || !only_enabled)
            .map(|c| c.request.name().len())
            .max()
            .unwrap_or(7);
        out.push_str(&format!(
            "{:<width$}  {:<8}  {:>9}  {}\n",
            "REQUEST", "STATE", "LIMIT", "WHY"
        ));
        for c in self.requests.iter().filter(|c| c.enabled || !only_enabled) {
            let limit = if c.rate_limit == 0 {
                "-".to_string()
            } else {
                format!("{}/min", c.rate_limit)
            };
            let state = if c.enabled { "enabled" } else { "disabled" };
            out.push_str(&format!(
                "{:<width$}  {:<8}  {:>9}  {}\n",
                c.request.name(),
                state,
                limit,
                c.why
            ));
        }
        if !self.other_filters.is_empty() {
            let list = self
                .other_filters
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ");
            out.push_str(&format!("\nalso granted, outside the catalog: {list}\n"));
        }
        if self.is_accepted() {
            out.push_str(&format!(
                "\nattached data: {}; {}\n",
                keys_human(
                    "reads",
                    &self.user_data.read,
                    "service-client-api.user-data.read-allowed"
                ),
                keys_human(
                    "writes",
                    &self.user_data.write,
                    "service-client-api.user-data.write-allowed"
                ),
            ));
        }
        if self.requests.iter().any(|c| c.enabled && c.rate_limit > 0) {
            let after = match self.quarantine.seconds() {
                Some(s) => format!("for {s} s"),
                None => "until the session ends".to_string(),
            };
            out.push_str(&format!(
                "\nLIMIT counts per client and request in 60-second windows, at most LIMIT per window; past it, one error result, then no answer {after}.\n\
                 Brokers of a fleet share the counts through Redis (the `scapi-redis` crate: `RedisStore`; here `scapi eval --store redis://HOST:PORT`).\n"
            ));
        }
        out
    }
}

fn describe(n: Option<NotCanonical>) -> &'static str {
    match n {
        Some(NotCanonical::Shape) | None => "it is not `scheme://host[:port]`",
        Some(NotCanonical::Scheme) => "the scheme is not lower case",
        Some(NotCanonical::Host) => "the host is not in canonical form",
        Some(NotCanonical::Port) => "the port is empty, padded, out of range or the default",
        Some(NotCanonical::Trailing) => "text follows the host or port",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_policy as policy;

    #[test]
    fn capabilities_of_an_origin() {
        let p = policy(
            "service-client-api.accepted-web-content-origins=https://crm.example.com (agent.*, voice.dial, newns.*)\nservice-client-api.rate-limit.voice.dial=4\n",
        );
        let e = explain(&p, "https://crm.example.com");
        let state = |n: &str| {
            e.requests
                .iter()
                .find(|c| c.request.name() == n)
                .unwrap()
                .clone()
        };
        assert!(state("agent.get").enabled);
        assert_eq!(
            state("agent.get").granted_by,
            Some(Filter::Namespace("agent".into()))
        );
        assert_eq!(state("voice.dial").rate_limit, 4);
        assert!(!state("voice.hangUp").enabled);
        assert!(state("auth.getJwtToken").why.contains("only when named"));
        assert_eq!(e.other_filters, vec![Filter::Namespace("newns".into())]);
        let ev = e.to_state_event();
        assert_eq!(ev["name"], "state.updated");
        assert_eq!(
            ev["data"].as_array().unwrap().len(),
            catalog::REQUESTS.len()
        );
        let refused = explain(&p, "https://CRM.example.com");
        assert_eq!(refused.reason, Reason::OriginNotCanonical);
        assert!(refused.requests.iter().all(|c| !c.enabled));
    }
}
