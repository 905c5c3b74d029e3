//! "Did you mean": the closest candidate to a misspelt word by edit
//! distance, for request names, namespaces, options, fields and sections.

use scapi_policy::catalog::{NAMESPACES, REQUESTS};

pub use scapi_tools::suggest::closest;

/// "Did you mean" for an unknown request name: a close catalog name.
pub fn request(name: &str) -> Option<&'static str> {
    closest(name, REQUESTS.iter().map(|r| r.name))
}

/// The catalog requests whose method is `method` written without its
/// namespace (`pauseCallRecording` → `voice.pauseCallRecording`): the exact
/// matches, else those differing in case only, else a close misspelling.
/// Several when the method is in several namespaces (`setState`).
pub fn namespaced(method: &str) -> Vec<&'static str> {
    let exact: Vec<_> = REQUESTS
        .iter()
        .filter(|r| r.method() == method)
        .map(|r| r.name)
        .collect();
    if !exact.is_empty() {
        return exact;
    }
    let folded: Vec<_> = REQUESTS
        .iter()
        .filter(|r| r.method().eq_ignore_ascii_case(method))
        .map(|r| r.name)
        .collect();
    if !folded.is_empty() {
        return folded;
    }
    closest(method, REQUESTS.iter().map(|r| r.method()))
        .map(|m| {
            REQUESTS
                .iter()
                .filter(|r| r.method() == m)
                .map(|r| r.name)
                .collect()
        })
        .unwrap_or_default()
}

/// "Did you mean" for a list of names: `` `a` `` or `` `a` or `b` ``.
pub fn one_of(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// "Did you mean" for an unknown namespace.
pub fn namespace(ns: &str) -> Option<&'static str> {
    closest(ns, NAMESPACES.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(request("agnet.getState"), Some("agent.getState"));
        assert_eq!(request("voice.dail"), Some("voice.dial"));
        assert_eq!(request("totally.different"), None);
        assert_eq!(namespace("interation"), Some("interaction"));
        assert_eq!(
            namespaced("pauseCallRecording"),
            ["voice.pauseCallRecording"]
        );
        assert_eq!(namespaced("getjwttoken"), ["auth.getJwtToken"]);
        assert_eq!(namespaced("setState"), ["agent.setState", "media.setState"]);
        assert_eq!(namespaced("dail"), ["voice.dial"]);
        assert!(namespaced("nothingLikeIt").is_empty());
    }
}
