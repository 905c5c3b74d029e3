//! The parts of one configured origin, as written.
//!
//! This splits `scheme://userinfo@host:port/path?query#fragment` into its
//! parts with their spans, accepting far more than a valid origin so the
//! lowering can say precisely what is wrong (a path, a user name, a bad
//! port). Whether the parts are *valid* — a known scheme, a real host name, a
//! canonical spelling — is decided in [`crate::lower`].

use super::Res;
use nom::Parser;
use nom::bytes::complete::{tag, take_till, take_while, take_while1};
use nom::character::complete::{char, satisfy};
use nom::combinator::{opt, recognize};
use nom::sequence::{pair, preceded};

/// An origin split into parts; every part is a sub-slice of the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OriginParts<'a> {
    /// The scheme, without `://`.
    pub scheme: &'a str,
    /// The user information and its `@`, if any.
    pub userinfo: Option<&'a str>,
    /// The host as written (brackets included for IPv6).
    pub host: &'a str,
    /// The `:port` part, colon included (the digits may be missing or wrong).
    pub port: Option<&'a str>,
    /// The path from its `/`, if any.
    pub path: Option<&'a str>,
    /// The query from its `?`, if any.
    pub query: Option<&'a str>,
    /// The fragment from its `#`, if any.
    pub fragment: Option<&'a str>,
}

impl<'a> OriginParts<'a> {
    /// The port digits (after the colon), if a port is written.
    pub fn port_digits(&self) -> Option<&'a str> {
        self.port.and_then(|p| p.get(1..))
    }
}

/// `origin := scheme "://" authority path? query? fragment?`
///
/// `None` when the text has no `scheme://` at all.
pub fn origin(text: &str) -> Option<OriginParts<'_>> {
    let parsed: Res<'_, _> = (
        scheme,
        tag("://"),
        authority,
        opt(path),
        opt(query),
        opt(fragment),
    )
        .parse(text);
    let (rest, (scheme, _, (userinfo, host, port), path, query, fragment)) = parsed.ok()?;
    rest.is_empty().then_some(OriginParts {
        scheme,
        userinfo,
        host,
        port,
        path,
        query,
        fragment,
    })
}

/// `scheme := ALPHA (ALPHA | DIGIT | "+" | "-" | ".")*`
fn scheme(i: &str) -> Res<'_, &str> {
    recognize(pair(
        satisfy(|c| c.is_ascii_alphabetic()),
        take_while(|c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')),
    ))
    .parse(i)
}

/// `authority := (userinfo "@")? host-port` where
/// `userinfo := (any character but "/" | "?" | "#")*`, up to the last `@`
fn authority(i: &str) -> Res<'_, (Option<&str>, &str, Option<&str>)> {
    let (rest, auth) = take_till(|c| matches!(c, '/' | '?' | '#')).parse(i)?;
    // The user information ends at the last `@` of the authority.
    let (userinfo, hostport) = match auth.rfind('@') {
        Some(at) => (auth.get(..=at), auth.get(at + 1..).unwrap_or("")),
        None => (None, auth),
    };
    let (host, port) = match host_port(hostport) {
        Ok((_, hp)) => hp,
        Err(_) => (hostport, None),
    };
    Ok((rest, (userinfo, host, port)))
}

/// `host-port := host (":" port)?` where
/// `host := "[" (any character but "]")* "]" | (any character but ":")*`
///
/// Text after a bracketed host that is not a port stays in the host, so
/// `[::1]x` is reported as an invalid host rather than silently dropped.
fn host_port(i: &str) -> Res<'_, (&str, Option<&str>)> {
    let (rest, host) = if i.starts_with('[') {
        recognize((char('['), take_till(|c| c == ']'), opt(char(']')))).parse(i)?
    } else {
        take_till(|c| c == ':').parse(i)?
    };
    if rest.is_empty() {
        return Ok((rest, (host, None)));
    }
    if rest.starts_with(':') {
        let (rest, port) = recognize(preceded(char(':'), port)).parse(rest)?;
        return Ok((rest, (host, Some(port))));
    }
    Ok(("", (i, None)))
}

/// `path := "/" (any character but "?" | "#")*`
fn path(i: &str) -> Res<'_, &str> {
    recognize(preceded(char('/'), take_till(|c| c == '?' || c == '#'))).parse(i)
}

/// `query := "?" (any character but "#")*`
fn query(i: &str) -> Res<'_, &str> {
    recognize(preceded(char('?'), take_till(|c| c == '#'))).parse(i)
}

/// `fragment := "#" (any character)*`
fn fragment(i: &str) -> Res<'_, &str> {
    recognize(preceded(char('#'), take_while(|_| true))).parse(i)
}

/// `port := DIGIT+` — parsed liberally: all text after the colon is taken,
/// and lowering reports what is not a port from 1 to 65535.
fn port(i: &str) -> Res<'_, &str> {
    take_while(|_| true).parse(i)
}

/// Whether the text has a `scheme:` prefix but not `://` (e.g. `http:/x` or
/// `mailto:x`); such text is an origin with a broken scheme separator rather
/// than a host without a scheme.
pub fn has_scheme_colon(text: &str) -> bool {
    let parsed: Res<'_, _> = (scheme, char(':'), take_while1(|c| c != ':')).parse(text);
    match parsed {
        Ok((_, (s, _, after))) => !after.chars().all(|c| c.is_ascii_digit()) && !s.contains('.'),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_every_part() {
        let o = origin("https://user:pw@Host.example:8443/p/a?q=1#f").unwrap();
        assert_eq!(o.scheme, "https");
        assert_eq!(o.userinfo, Some("user:pw@"));
        assert_eq!(o.host, "Host.example");
        assert_eq!(o.port, Some(":8443"));
        assert_eq!(o.port_digits(), Some("8443"));
        assert_eq!(o.path, Some("/p/a"));
        assert_eq!(o.query, Some("?q=1"));
        assert_eq!(o.fragment, Some("#f"));
    }

    #[test]
    fn plain_and_ipv6() {
        let o = origin("http://my-web-server").unwrap();
        assert_eq!((o.host, o.port, o.path), ("my-web-server", None, None));
        let o = origin("http://[::1]:8080/").unwrap();
        assert_eq!(
            (o.host, o.port, o.path),
            ("[::1]", Some(":8080"), Some("/"))
        );
        let o = origin("http://h:").unwrap();
        assert_eq!(o.port_digits(), Some(""));
        let o = origin("http://[::1]x").unwrap();
        assert_eq!(o.host, "[::1]x");
    }

    #[test]
    fn no_scheme() {
        assert!(origin("my-web-server").is_none());
        assert!(origin("localhost:8080").is_none());
        assert!(origin("http:/x").is_none());
        assert!(has_scheme_colon("http:/x"));
        assert!(!has_scheme_colon("localhost:8080"));
        assert!(!has_scheme_colon("www.example.com:80"));
    }
}
