//! Attached data (user data): write filtering and read redaction .
//!
//! `write-allowed` restricts `interaction.setUserData` (the keys of its map)
//! and `interaction.deleteUserData` (its key list): keys not listed are
//! stripped and reported, and a request left with no key is denied.
//! `read-allowed` filters the `userData` property of every Interaction object
//! a request returns or an event carries: top-level keys not listed are
//! removed. Keys compare exactly (case-sensitive).
//!
//! An "Interaction object" is any JSON object with a `userData` object —
//! wherever it sits (an event's `data.interaction`, a list of interactions
//! in a result): redacting too much is safe, too little is a leak. Other
//! properties are left alone, including `chainedRecords` of outbound
//! interactions, which the vendor does not filter.

use crate::policy::{KeySet, UserDataPolicy};
use serde_json::Value;
use std::collections::BTreeSet;

/// `interaction.setUserData`
pub const SET_USER_DATA: &str = "interaction.setUserData";
/// `interaction.deleteUserData`
pub const DELETE_USER_DATA: &str = "interaction.deleteUserData";

/// Keys of a write request split by `write-allowed`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteSplit<'k> {
    /// Keys that may be written (in request order).
    pub allowed: Vec<&'k str>,
    /// Keys stripped (in request order).
    pub denied: Vec<&'k str>,
}

impl WriteSplit<'_> {
    /// Whether the request has nothing left to write (and is denied).
    pub fn nothing_left(&self) -> bool {
        self.allowed.is_empty()
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

    /// Removes the keys `read-allowed` does not list from the `userData` of
    /// every Interaction object in `value`; returns the removed keys,
    /// sorted and without repeats.
    pub fn redact(&self, value: &mut Value) -> Vec<String> {
        let KeySet::Keys(readable) = &self.read else {
            return Vec::new();
        };
        let mut removed = BTreeSet::new();
        // Iterative: event documents come from outside and may be deep.
        let mut todo: Vec<&mut Value> = vec![value];
        while let Some(v) = todo.pop() {
            match v {
                Value::Object(map) => {
                    if let Some(Value::Object(user_data)) = map.get_mut("userData") {
                        user_data.retain(|k, _| {
                            let keep = readable.contains(k);
                            if !keep {
                                removed.insert(k.clone());
                            }
                            keep
                        });
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
