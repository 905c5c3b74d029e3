//! The rule catalog: one table mapping stable codes to rules.
//!
//! Every diagnostic scapi can emit has a [`Code`]. A code never changes
//! meaning once released; retired codes are not reused. Each rule has a
//! kebab-case name, a default severity, a one-line summary and a full
//! documentation page (`docs/rules/<CODE>.md`: what it checks, why it matters,
//! an example that triggers it, the fixed version) that `scapi rule CODE`
//! prints. The examples in those pages are run by the test-suite, so the
//! documentation cannot drift from the behaviour.

use crate::diagnostic::Severity;

macro_rules! rules {
    ($( $variant:ident = $code:literal, $name:literal, $sev:ident, $summary:literal; )*) => {
        /// A stable diagnostic code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $(
                #[doc = $summary]
                $variant,
            )*
        }

        impl Code {
            /// Every code, in code order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The code as written in reports, e.g. `SC0103`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// The rule's kebab-case name, e.g. `origin-has-path`.
            pub fn name(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// The severity the rule reports with unless configured otherwise.
            pub fn default_severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev,)* }
            }

            /// One line saying what the rule checks.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }

            /// The full documentation page (Markdown).
            pub fn doc(self) -> &'static str {
                match self { $(Code::$variant => include_str!(concat!("../docs/rules/", $code, ".md")),)* }
            }
        }
    };
}

rules! {
    // --- input files -------------------------------------------------------
    NotUtf8 = "SC0001", "not-utf8", Error, "the file is not valid UTF-8";
    Utf16 = "SC0002", "utf16-file", Error, "the file is encoded as UTF-16 or UTF-32";
    BinaryFile = "SC0003", "binary-file", Error, "the file contains NUL bytes and is not a text export";
    InputTooLarge = "SC0004", "input-too-large", Error, "the file is larger than the input size limit";
    SyntaxError = "SC0005", "syntax-error", Error, "the JSON or YAML document does not parse";
    UnexpectedShape = "SC0006", "unexpected-shape", Error, "the JSON or YAML document is not a map of sections to options";
    MalformedLine = "SC0010", "malformed-line", Error, "a cfg line is neither a section header, an option, a comment nor blank";
    BadSectionHeader = "SC0011", "bad-section-header", Error, "a cfg section header is unclosed, empty or followed by text";
    DuplicateKey = "SC0012", "duplicate-key", Warning, "an option is set twice in the same section; the last value wins";
    NonStringValue = "SC0013", "non-string-value", Error, "a JSON or YAML option value is not a string";
    InlineComment = "SC0014", "inline-comment", Error, "a value ends with a `; comment`, which WWE reads as part of the value";
    UnknownOption = "SC0020", "unknown-option", Warning, "an option starting with `service-client-api.` is not one WWE knows";
    WrongSection = "SC0021", "wrong-section", Error, "a Service Client API option is outside the `interaction-workspace` section";
    NotApplicationLevel = "SC0022", "not-application-level", Error, "options are set on a Person or an Agent Group, where WWE ignores them";
    ApiClosed = "SC0023", "api-closed", Info, "no origin is accepted, so the Service Client API is closed";
    SuppressionWithoutReason = "SC0030", "suppression-without-reason", Error, "a `scapi: allow(…)` comment gives no reason";
    UnusedSuppression = "SC0031", "unused-suppression", Warning, "a `scapi: allow(…)` comment suppresses nothing";
    InvalidSuppression = "SC0032", "invalid-suppression", Error, "a `scapi:` comment is not a valid suppression";
    // --- origin list --------------------------------------------------------
    UnbalancedParentheses = "SC0101", "unbalanced-parentheses", Error, "a `(` is not closed or a `)` has no `(`";
    EmptyEntry = "SC0102", "empty-entry", Warning, "the origin list has an empty entry";
    OriginHasPath = "SC0103", "origin-has-path", Error, "an origin has a path; browsers send origins without one";
    OriginTrailingSlash = "SC0104", "origin-trailing-slash", Error, "an origin ends with `/`; browsers send origins without one";
    OriginHasUserinfo = "SC0105", "origin-has-userinfo", Error, "an origin has a user name or password";
    OriginHasQuery = "SC0106", "origin-has-query", Error, "an origin has a query or a fragment";
    NonCanonicalOrigin = "SC0107", "non-canonical-origin", Warning, "an origin is not written in canonical form";
    NullOrigin = "SC0108", "null-origin", Error, "the origin `null` is accepted";
    WildcardHost = "SC0109", "wildcard-host", Error, "an origin uses a wildcard host, which WWE does not support";
    UnknownScheme = "SC0110", "unknown-scheme", Error, "an origin's scheme is neither `http` nor `https`";
    MissingScheme = "SC0111", "missing-scheme", Error, "an origin has no `scheme://`";
    BadPort = "SC0112", "bad-port", Error, "an origin's port is not a number from 1 to 65535";
    CleartextOrigin = "SC0113", "cleartext-origin", Warning, "an origin uses cleartext `http`";
    InvalidHost = "SC0114", "invalid-host", Error, "an origin's host is not a valid host name or IP address";
    DuplicateOrigin = "SC0115", "duplicate-origin", Warning, "an origin is listed more than once; its filters are merged";
    RedundantEntry = "SC0116", "redundant-entry", Warning, "an entry grants exactly what the `*` entry already grants";
    AnyOrigin = "SC0117", "any-origin", Warning, "`*` accepts every website";
    QuotedValue = "SC0118", "quoted-value", Error, "a value, an entry or a key is wrapped in quotes";
    SemicolonSeparator = "SC0119", "semicolon-separator", Error, "entries are separated with `;` instead of `,`";
    MissingSeparator = "SC0120", "missing-separator", Error, "two entries are separated by spaces only";
    InvalidEntry = "SC0121", "invalid-entry", Error, "an entry is neither `*` nor an origin";
    // --- request filters ----------------------------------------------------
    EmptyFilterList = "SC0201", "empty-filter-list", Error, "an empty filter list `()` grants nothing";
    MethodSignature = "SC0202", "method-signature", Error, "a filter is a method signature pasted from the documentation";
    UnknownRequest = "SC0203", "unknown-request", Warning, "a request name is not in the catalog";
    UnknownNamespace = "SC0204", "unknown-namespace", Warning, "a request namespace is not in the catalog";
    RequestCaseMismatch = "SC0205", "request-case-mismatch", Error, "a request name differs from a known one only in case, so it never matches";
    UnsupportedPattern = "SC0206", "unsupported-pattern", Error, "a filter uses a pattern WWE does not support";
    JwtNotGranted = "SC0207", "jwt-not-granted", Warning, "`auth.*` or `*` does not grant `auth.getJwtToken`";
    DuplicateFilter = "SC0208", "duplicate-filter", Warning, "a filter is listed twice in the same entry";
    RedundantFilter = "SC0209", "redundant-filter", Warning, "a filter is already covered by `*` or a namespace pattern in the same entry";
    InvalidFilter = "SC0210", "invalid-filter", Error, "a filter is not a request name or pattern";
    ObsoleteRequest = "SC0211", "obsolete-request", Warning, "a filter names a request that newer WWE releases replaced";
    NotARequest = "SC0212", "not-a-request", Warning, "a filter names a client-side helper, not a request";
    JwtForAnyOrigin = "SC0213", "jwt-for-any-origin", Error, "the `*` entry grants `auth.getJwtToken` to every website";
    // --- integers and rate limits -------------------------------------------
    InvalidInteger = "SC0301", "invalid-integer", Error, "a numeric option is not a whole number";
    NegativeInteger = "SC0302", "negative-integer", Error, "a numeric option is negative";
    IntegerOutOfRange = "SC0303", "integer-out-of-range", Error, "a numeric option is larger than 4294967295";
    EmptyValue = "SC0304", "empty-value", Error, "a numeric option is empty";
    RateLimitUnknownRequest = "SC0305", "rate-limit-unknown-request", Warning, "a per-request rate limit names a request that is not in the catalog";
    RateLimitPattern = "SC0306", "rate-limit-pattern", Error, "a per-request rate limit names a pattern instead of a request";
    RateLimitUnreachable = "SC0307", "rate-limit-unreachable", Warning, "a per-request rate limit is set for a request no origin may call";
    QuarantineForever = "SC0308", "quarantine-forever", Warning, "a quarantine delay of 0 ignores a request type until the session ends";
    ShortQuarantine = "SC0309", "short-quarantine", Info, "the quarantine ends before the rate-limit window resets";
    LimitAboveGlobal = "SC0310", "limit-above-global", Info, "a per-request rate limit is looser than the global one";
    InvalidTimeout = "SC0311", "invalid-timeout", Error, "`block-markdone-timeout` must be greater than 0";
    // --- user data ----------------------------------------------------------
    DuplicateUserDataKey = "SC0401", "duplicate-user-data-key", Warning, "a user-data key is listed twice";
    EmptyUserDataKey = "SC0402", "empty-user-data-key", Warning, "a user-data key list has an empty entry";
    WildcardMixedWithKeys = "SC0403", "wildcard-mixed-with-keys", Warning, "`*` is listed together with keys";
    KeyContainsWildcard = "SC0404", "key-contains-wildcard", Warning, "a user-data key contains `*`, which is matched literally";
    WriteNotReadable = "SC0405", "write-not-readable", Info, "a writable user-data key is not readable";
    NoUserDataKeys = "SC0406", "no-user-data-keys", Info, "an empty user-data list allows no key at all";
    KeySeparator = "SC0407", "key-separator", Error, "user-data keys are separated with `;` or `|` instead of `,`";
    InvisibleCharacter = "SC0408", "invisible-character", Error, "a user-data key contains an invisible or control character";
    UserDataUnrestricted = "SC0409", "user-data-unrestricted", Warning, "origins are accepted and a user-data option is absent, so every key is readable or writable";
    // --- web extensions -----------------------------------------------------
    MissingExtensionSection = "SC0501", "missing-extension-section", Error, "a web-content option names a section that is not in the export";
    ExtensionWithoutUrl = "SC0502", "extension-without-url", Error, "a web extension section has no `url`";
    ExtensionOriginNotAccepted = "SC0503", "extension-origin-not-accepted", Warning, "a web extension's origin is not accepted, so it cannot call the API";
    InvalidExtensionUrl = "SC0504", "invalid-extension-url", Error, "a web extension's `url` is not an absolute http(s) URL";
    EmptySectionName = "SC0505", "empty-section-name", Warning, "a web-content list has an empty entry";
    ExtensionOriginUnknown = "SC0506", "extension-origin-unknown", Info, "a web extension's origin depends on a variable and cannot be checked";
}

impl Code {
    /// Looks a code up by its text (`SC0103`) or its name (`origin-has-path`),
    /// ignoring ASCII case.
    pub fn parse(text: &str) -> Option<Code> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.as_str().eq_ignore_ascii_case(text) || c.name().eq_ignore_ascii_case(text))
    }

    /// Whether the rule is about a file that cannot be read at all; such a
    /// finding makes the command exit 2.
    pub fn is_fatal(self) -> bool {
        matches!(
            self,
            Code::NotUtf8
                | Code::Utf16
                | Code::BinaryFile
                | Code::InputTooLarge
                | Code::SyntaxError
                | Code::UnexpectedShape
        )
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
