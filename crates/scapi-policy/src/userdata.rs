//! Attached data (user data): write filtering and read redaction.
//!
//! `write-allowed` restricts every request that carries attached data: the
//! keys of `interaction.setUserData`'s map, `interaction.deleteUserData`'s
//! key list, and the `userData` parameter of `voice.dialEx`,
//! `interaction.singleStepTransfer`, `interaction.singleStepConference` and
//! `interaction.consult` ([`attached_data`]). Keys not listed are stripped
//! and reported. A request whose purpose is the write (set, delete) is
//! denied when no key is left; any other proceeds with what is left — a
//! dial with its attached data stripped is still a dial.
//!
//! `read-allowed` filters every attached-data object a request returns or
//! an event carries: the `userData` of every Interaction object and each
//! record of an outbound interaction's `chainedRecords` (its fields,
//! `GSW_PHONE` and the campaign's custom fields, are the customer's
//! attached data). Top-level keys not listed are removed; keys compare
//! exactly (case-sensitive).
//!
//! Such an object is found wherever it sits (an event's `data.interaction`,
//! a list of interactions in a result): redacting too much is safe, too
//! little is a leak.

use crate::policy::{KeySet, UserDataPolicy};
use serde_json::Value;
use std::collections::BTreeSet;

/// `interaction.setUserData`
pub const SET_USER_DATA: &str = "interaction.setUserData";
/// `interaction.deleteUserData`
pub const DELETE_USER_DATA: &str = "interaction.deleteUserData";
/// The property holding an Interaction object's attached data.
pub const USER_DATA: &str = "userData";
/// The property holding an outbound interaction's records, each one
/// attached data.
pub const CHAINED_RECORDS: &str = "chainedRecords";

/// The requests that carry attached data besides their purpose, in the
/// vendor's signatures (`voice.dialEx(destination, userData, …)`, …).
pub const CARRY_USER_DATA: [&str; 4] = [
    "interaction.consult",
    "interaction.singleStepConference",
    "interaction.singleStepTransfer",
    "voice.dialEx",
];

/// How a request touches attached data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AttachedData {
    /// Writing it is the request's purpose (`interaction.setUserData`,
    /// `interaction.deleteUserData`): denied when no key is left.
    Purpose,
    /// It carries attached data beside its purpose (`voice.dialEx`, the
    /// transfers, the consultation): filtered, then it proceeds.
    Carried,
}

/// How `request` touches attached data, `None` when the catalog says it
/// carries none. A name outside the catalog may (newer WWE releases add
/// requests): a broker that finds attached data on it filters it as
/// [`AttachedData::Carried`].
pub fn attached_data(request: &str) -> Option<AttachedData> {
    if request == SET_USER_DATA || request == DELETE_USER_DATA {
        Some(AttachedData::Purpose)
    } else if CARRY_USER_DATA.contains(&request) || crate::catalog::lookup(request).is_none() {
        Some(AttachedData::Carried)
    } else {
        None
    }
}

/// Keys of a write request split by `write-allowed`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteSplit<'k> {
    /// Keys that may be written (in request order).
    pub allowed: Vec<&'k str>,
    /// Keys stripped (in request order).
    pub denied: Vec<&'k str>,
}

impl WriteSplit<'_> {
    /// Whether nothing is left to write.
    pub fn nothing_left(&self) -> bool {
        self.allowed.is_empty()
    }

    /// Whether `request`, carrying these keys, is denied: only a request
    /// whose purpose is the write, with no key left.
    pub fn denies(&self, request: &str) -> bool {
        self.nothing_left() && attached_data(request) == Some(AttachedData::Purpose)
    }
}

impl UserDataPolicy {
    /// Splits the keys of a write request into writable and stripped.
    pub fn split_write<'k>(&self, keys: impl IntoIterator<Item = &'k str>) -> WriteSplit<'k> {
        let mut split = WriteSplit::default();
        for k in keys {
            if self.write.allows(k) {
                split.allowed.push(k);
            } else {
                split.denied.push(k);
            }
        }
        split
    }

    /// [`redact`](UserDataPolicy::redact) for an event or result as JSON
    /// text: the same keys go, and every other byte stays as it was —
    /// numbers of any size and precision, key order, escapes, spacing
    /// ([`crate::rawjson`]). `Err` when the text is not one JSON value.
    pub fn redact_json(
        &self,
        text: &str,
    ) -> Result<(String, Vec<String>), crate::rawjson::JsonError> {
        crate::rawjson::redact(text, &self.read)
    }

    /// Removes the keys `read-allowed` does not list from every
    /// attached-data object in `value` (each `userData` object, each
    /// record of a `chainedRecords` list); returns the removed keys, sorted
    /// and without repeats.
    pub fn redact(&self, value: &mut Value) -> Vec<String> {
        let KeySet::Keys(readable) = &self.read else {
            return Vec::new();
        };
        let mut removed = BTreeSet::new();
        let mut filter = |data: &mut serde_json::Map<String, Value>| {
            data.retain(|k, _| {
                let keep = readable.contains(k);
                if !keep {
                    removed.insert(k.clone());
                }
                keep
            });
        };
        // Iterative: event documents come from outside and may be deep.
        let mut todo: Vec<&mut Value> = vec![value];
        while let Some(v) = todo.pop() {
            match v {
                Value::Object(map) => {
                    if let Some(Value::Object(user_data)) = map.get_mut(USER_DATA) {
                        filter(user_data);
                    }
                    // The records: one object, or the objects of a list at
                    // any depth of nested lists.
                    let mut records: Vec<&mut Value> =
                        map.get_mut(CHAINED_RECORDS).into_iter().collect();
                    while let Some(r) = records.pop() {
                        match r {
                            Value::Object(record) => filter(record),
                            Value::Array(items) => records.extend(items.iter_mut()),
                            _ => {}
                        }
                    }
                    todo.extend(map.values_mut());
                }
                Value::Array(items) => todo.extend(items.iter_mut()),
                _ => {}
            }
        }
        removed.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(list: &[&str]) -> KeySet {
        KeySet::Keys(list.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn vendor_sample_write_split() {
        // write-allowed=Key1,Key3
        let p = UserDataPolicy {
            read: keys(&["Key1", "Key2", "Key3"]),
            write: keys(&["Key1", "Key3"]),
        };
        let s = p.split_write(["Key1", "Key2"]);
        assert_eq!((s.allowed, s.denied), (vec!["Key1"], vec!["Key2"]));
        assert!(p.split_write(["Key2", "key1"]).nothing_left());
        let all = UserDataPolicy::default();
        assert!(all.split_write(["anything"]).denied.is_empty());
    }

    #[test]
    fn redacts_every_interaction_in_lists_and_events() {
        let p = UserDataPolicy {
            read: keys(&["IW_CaseUid"]),
            write: KeySet::All,
        };
        let mut v = json!({
            "interactions": [
                {"interactionId": "1", "userData": {"IW_CaseUid": "a", "Secret": "x"}},
                {"interactionId": "2", "userData": {"Other": 1}}
            ],
            "data": {"interaction": {"userData": {"IW_BundleUid": "b"}}}
        });
        let removed = p.redact(&mut v);
        assert_eq!(removed, vec!["IW_BundleUid", "Other", "Secret"]);
        assert_eq!(v["interactions"][0]["userData"], json!({"IW_CaseUid": "a"}));
        assert_eq!(v["interactions"][1]["userData"], json!({}));
    }

    #[test]
    fn outbound_records_are_attached_data() {
        let p = UserDataPolicy {
            read: keys(&["GSW_CALLING_LIST"]),
            write: KeySet::All,
        };
        // The vendor's RECORDS_RETRIEVED event, shortened.
        let mut v = json!({"event": "interaction", "data": {"eventType": "RECORDS_RETRIEVED",
        "interaction": {"interactionId": "1", "chainedRecords": [
            {"GSW_PHONE": "+33647005", "GSW_CALLING_LIST": "Calling List Custom"},
            {"Custom_String_with_default": "Hello", "GSW_CALLING_LIST": "L"},
            "not a record"
        ]}}});
        let removed = p.redact(&mut v);
        assert_eq!(removed, vec!["Custom_String_with_default", "GSW_PHONE"]);
        assert_eq!(
            v["data"]["interaction"]["chainedRecords"],
            json!([{"GSW_CALLING_LIST": "Calling List Custom"}, {"GSW_CALLING_LIST": "L"}, "not a record"])
        );
    }

    #[test]
    fn only_a_write_request_is_denied_with_no_key_left() {
        let p = UserDataPolicy {
            read: KeySet::All,
            write: keys(&["Key1"]),
        };
        let s = p.split_write(["Key2"]);
        assert!(s.denies(SET_USER_DATA) && s.denies(DELETE_USER_DATA));
        for r in CARRY_USER_DATA {
            assert_eq!(attached_data(r), Some(AttachedData::Carried));
            assert!(crate::catalog::lookup(r).is_some(), "{r}");
            assert!(!s.denies(r), "{r}");
        }
        assert_eq!(attached_data("voice.dial"), None);
        assert_eq!(attached_data("newns.x"), Some(AttachedData::Carried));
        assert!(!p.split_write(["Key1"]).denies(SET_USER_DATA));
    }

    #[test]
    fn deep_documents_do_not_overflow() {
        let mut v = json!({});
        for _ in 0..100_000 {
            v = Value::Array(vec![v]);
        }
        let p = UserDataPolicy {
            read: keys(&[]),
            write: KeySet::All,
        };
        assert!(p.redact(&mut v).is_empty());
        // Dropping a deep serde_json value recurses; unwind it by hand.
        let mut cur = v;
        while let Value::Array(mut a) = cur {
            cur = a.pop().unwrap_or(Value::Null);
        }
    }
}
