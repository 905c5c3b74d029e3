//! Presented origins: is this string exactly what a browser sends?
//!
//! A broker receives `MessageEvent.origin` from the browser. scapi accepts it
//! only if it is already a canonical serialized origin — `scheme://host` or
//! `scheme://host:port`, lowercase, punycode, no default port, dotted-decimal
//! IPv4 or compressed IPv6, nothing else — and compares it byte for byte with
//! the configured origins. Anything else (upper case, a default port, a
//! trailing slash or path, user information, white space or control
//! characters, `null`, two origins, `0x7f.1`) is refused, never repaired:
//! repairing is how prefix, suffix and parser-differential tricks get in.
//!
//! The check allocates nothing; it runs on every request of every agent.

use std::io::Write;
use std::net::Ipv6Addr;

/// Why a presented origin is not canonical.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotCanonical {
    /// Occurs when the origin is empty, `null`, or has no `scheme://`.
    Shape,
    /// Occurs when the scheme has upper case or characters a scheme cannot have.
    Scheme,
    /// Occurs when the host is empty, has upper case, forbidden characters,
    /// user information, or is an IP address not in canonical form.
    Host,
    /// Occurs when the port is empty, has leading zeros, is out of range, or
    /// is the scheme's default port.
    Port,
    /// Occurs when anything follows the host and port: a path, a slash, a
    /// query, a fragment, a second origin, white space.
    Trailing,
}

/// Checks that `origin` is a canonical serialized tuple origin.
pub fn check_canonical(origin: &str) -> Result<(), NotCanonical> {
    let (scheme, rest) = origin.split_once("://").ok_or(NotCanonical::Shape)?;
    if !is_canonical_scheme(scheme) {
        return Err(NotCanonical::Scheme);
    }
    if rest.is_empty() {
        return Err(NotCanonical::Shape);
    }
    // A host ends at the port colon; nothing may follow the port.
    let (host, port) = if rest.starts_with('[') {
        let close = rest.find(']').ok_or(NotCanonical::Host)?;
        let (h, after) = rest.split_at(close + 1);
        match after {
            "" => (h, None),
            p => (h, Some(p.strip_prefix(':').ok_or(NotCanonical::Trailing)?)),
        }
    } else {
        match rest.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        }
    };
    if let Some(p) = port {
        check_port(scheme, p)?;
    }
    check_host(host)
}

/// Whether `origin` is a canonical serialized tuple origin.
pub fn is_canonical(origin: &str) -> bool {
    check_canonical(origin).is_ok()
}

fn is_canonical_scheme(s: &str) -> bool {
    let mut c = s.bytes();
    c.next().is_some_and(|b| b.is_ascii_lowercase())
        && c.all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.')
        })
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "ftp" => Some(21),
        _ => None,
    }
}

fn check_port(scheme: &str, p: &str) -> Result<(), NotCanonical> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        // Digits only: anything else (a path, a second colon) is trailing text.
        return Err(if p.bytes().all(|b| b.is_ascii_digit()) {
            NotCanonical::Port
        } else {
            NotCanonical::Trailing
        });
    }
    if p.starts_with('0') {
        return Err(NotCanonical::Port);
    }
    let n: u32 = p.parse().map_err(|_| NotCanonical::Port)?;
    let n = u16::try_from(n).map_err(|_| NotCanonical::Port)?;
    if default_port(scheme) == Some(n) {
        return Err(NotCanonical::Port);
    }
    Ok(())
}

fn check_host(host: &str) -> Result<(), NotCanonical> {
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or(NotCanonical::Host)?;
        return check_ipv6(inner);
    }
    if host.is_empty() || host.len() > 253 + 1 {
        return Err(NotCanonical::Host);
    }
    // One pass: allowed bytes, labels of 1 to 63 bytes (a final dot may end
    // the name), and where the last label is.
    // The first byte that does not belong decides; a bad label only counts
    // when every byte belongs.
    let (mut start, mut last, mut bad, mut punycode) = (0, (0, 0), false, false);
    for (i, b) in host.bytes().enumerate() {
        match b {
            b'.' => {
                bad |= i == start;
                last = (start, i);
                start = i + 1;
            }
            b'x' if i == start => {
                punycode |= host.as_bytes().get(i..i + 4) == Some(b"xn--");
            }
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => bad |= i - start >= 63,
            b'/' | b'?' | b'#' | b' ' | b'\t' | b'\r' | b'\n' | b',' => {
                return Err(NotCanonical::Trailing);
            }
            _ => return Err(NotCanonical::Host),
        }
    }
    if bad {
        return Err(NotCanonical::Host);
    }
    if punycode && !is_valid_idn(host) {
        return Err(NotCanonical::Host);
    }
    if start < host.len() {
        last = (start, host.len());
    }
    // WHATWG: a host whose last label is numeric is an IPv4 address, and its
    // canonical form is four decimal parts without leading zeros.
    if is_numeric_label(host.get(last.0..last.1).unwrap_or("")) {
        return check_ipv4(host);
    }
    Ok(())
}

/// Whether a host with punycode labels is one the URL standard accepts and
/// writes back unchanged: each `xn--` label must decode (RFC 3492) to a
/// label that passes UTS #46 (normalization, valid code points, joiners,
/// bidi) as the URL standard applies it. `xn--zz` or `xn--` do not; no
/// browser sends them. This decodes, so it allocates — only for such hosts.
fn is_valid_idn(host: &str) -> bool {
    idna::domain_to_ascii_cow(host.as_bytes(), idna::AsciiDenyList::URL)
        .is_ok_and(|ascii| ascii == host)
}

/// Whether a host's last label makes it an IPv4 address (WHATWG: decimal
/// digits, or `0x` and hex digits).
fn is_numeric_label(last: &str) -> bool {
    !last.is_empty()
        && (last.bytes().all(|b| b.is_ascii_digit())
            || (last.starts_with("0x") && last.bytes().skip(2).all(|b| b.is_ascii_hexdigit())))
}

fn check_ipv4(host: &str) -> Result<(), NotCanonical> {
    let mut parts = 0;
    for part in host.split('.') {
        parts += 1;
        let ok = !part.is_empty()
            && part.len() <= 3
            && part.bytes().all(|b| b.is_ascii_digit())
            && !(part.len() > 1 && part.starts_with('0'))
            && part.parse::<u16>().is_ok_and(|n| n <= 255);
        if !ok {
            return Err(NotCanonical::Host);
        }
    }
    if parts == 4 {
        Ok(())
    } else {
        Err(NotCanonical::Host)
    }
}

fn check_ipv6(inner: &str) -> Result<(), NotCanonical> {
    // Equal to its own WHATWG serialization, formatted into a stack buffer.
    if inner.len() > 45 {
        return Err(NotCanonical::Host);
    }
    let addr: Ipv6Addr = inner.parse().map_err(|_| NotCanonical::Host)?;
    let mut buf = [0u8; 48];
    let mut cursor = std::io::Cursor::new(buf.as_mut_slice());
    write_ipv6(&mut cursor, &addr).map_err(|_| NotCanonical::Host)?;
    let len = usize::try_from(cursor.position()).map_err(|_| NotCanonical::Host)?;
    if buf.get(..len) == Some(inner.as_bytes()) {
        Ok(())
    } else {
        Err(NotCanonical::Host)
    }
}

/// The WHATWG URL standard's IPv6 serializer: lowercase hex pieces without
/// leading zeros, the first longest run of two or more zero pieces written
/// `::`, and never a dotted IPv4 tail (unlike Rust's `Display`, which writes
/// `::ffff:127.0.0.1` where browsers write `::ffff:7f00:1`).
fn write_ipv6(out: &mut impl Write, addr: &Ipv6Addr) -> std::io::Result<()> {
    let pieces = addr.segments();
    let (mut best, mut best_len, mut run, mut run_len) = (None, 1, 0, 0);
    for (i, p) in pieces.iter().enumerate() {
        if *p == 0 {
            if run_len == 0 {
                run = i;
            }
            run_len += 1;
            if run_len > best_len {
                best = Some(run);
                best_len = run_len;
            }
        } else {
            run_len = 0;
        }
    }
    let mut i = 0;
    while let Some(p) = pieces.get(i) {
        if Some(i) == best {
            write!(out, "{}", if i == 0 { "::" } else { ":" })?;
            i += best_len;
            continue;
        }
        write!(out, "{p:x}")?;
        if i + 1 < pieces.len() {
            write!(out, ":")?;
        }
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The host check as first written (several passes), kept as the
    /// reference for the one-pass version.
    fn reference_host(host: &str) -> Result<(), NotCanonical> {
        if host.is_empty() || host.len() > 253 + 1 {
            return Err(NotCanonical::Host);
        }
        for b in host.bytes() {
            match b {
                b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {}
                b'/' | b'?' | b'#' | b' ' | b'\t' | b'\r' | b'\n' | b',' => {
                    return Err(NotCanonical::Trailing);
                }
                _ => return Err(NotCanonical::Host),
            }
        }
        if host.split('.').any(|l| l.len() > 63) || host.contains("..") || host.starts_with('.') {
            return Err(NotCanonical::Host);
        }
        let last = host
            .strip_suffix('.')
            .unwrap_or(host)
            .rsplit('.')
            .next()
            .unwrap_or("");
        if is_numeric_label(last) {
            return check_ipv4(host);
        }
        Ok(())
    }

    #[test]
    fn one_pass_host_check_agrees_with_the_reference() {
        let alphabet = ['a', '.', '/', 'A', '-', '1', 'x', '0'];
        let mut hosts: Vec<String> = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> = hosts
                .iter()
                .flat_map(|h| alphabet.iter().map(move |c| format!("{h}{c}")))
                .collect();
            hosts.extend(longer);
        }
        hosts.push(format!("{}.com", "a".repeat(63)));
        hosts.push(format!("{}.com", "a".repeat(64)));
        hosts.push(format!("{}.com/", "a".repeat(64)));
        hosts.push(format!("{}.", "a".repeat(63)));
        for h in &hosts {
            assert_eq!(check_host(h), reference_host(h), "{h:?}");
        }
    }

    #[test]
    fn canonical_origins_pass() {
        for o in [
            "https://crm.example.com",
            "http://my-web-server2",
            "https://crm.example.com:8443",
            "http://127.0.0.1:8080",
            "http://[::1]:3000",
            "https://[2001:db8::1]",
            "http://[::ffff:7f00:1]",
            "http://[::]",
            "http://[1::]",
            "http://[1:0:0:2::3]",
            "https://xn--bcher-kva.example",
            "chrome-extension://abcdefghijklmnop",
            "https://example.com.",
        ] {
            assert_eq!(check_canonical(o), Ok(()), "{o}");
        }
    }

    #[test]
    fn everything_else_fails() {
        use NotCanonical::*;
        for (o, why) in [
            ("", Shape),
            ("null", Shape),
            ("crm.example.com", Shape),
            ("https://", Shape),
            ("HTTPS://crm.example.com", Scheme),
            ("https://CRM.example.com", Host),
            ("https://crm.example.com:443", Port),
            ("http://crm.example.com:80", Port),
            ("https://crm.example.com:08443", Port),
            ("https://crm.example.com:", Port),
            ("https://crm.example.com:70000", Port),
            ("https://crm.example.com/", Trailing),
            ("https://crm.example.com/x", Trailing),
            ("https://crm.example.com?x", Trailing),
            ("https://crm.example.com#x", Trailing),
            ("https://crm.example.com ", Trailing),
            ("https://a.example, https://b.example", Trailing),
            ("https://user@crm.example.com", Host),
            ("https://bücher.example", Host),
            ("http://0x7f.1", Host),
            ("http://127.1", Host),
            ("http://127.000.000.001", Host),
            ("http://2130706433", Host),
            ("http://[::FFFF:1]", Host),
            ("http://[::ffff:127.0.0.1]", Host),
            ("http://[2001:db8::0001]", Host),
            ("http://[0:0:0:0:0:0:0:1]", Host),
            ("http://[::1", Host),
            ("http://[::1]x", Trailing),
            ("https://crm.example.com\u{0}", Host),
            ("https://crm.example.com:8443/", Trailing),
            ("https://crm..example.com", Host),
        ] {
            assert_eq!(check_canonical(o), Err(why), "{o:?}");
        }
    }

    #[test]
    fn configured_canonical_forms_are_canonical() {
        for raw in [
            "HTTPS://Bücher.Example:443",
            "http://[0:0::1]:80",
            "http://0x7f.1",
            "https://EXAMPLE.com:8443",
            "http://[::ffff:127.0.0.1]",
            "http://[1:0:0:2:0:0:0:3]",
            "http://[0:0:1:0:0:0:0:0]",
            "http://[1:2:3:4:5:6:7:8]",
            "http://[1:0:2:0:3:0:4:0]",
        ] {
            let canonical = url::Url::parse(raw).unwrap().origin().ascii_serialization();
            assert!(is_canonical(&canonical), "{raw} -> {canonical}");
        }
    }
}
