//! Hostile exports cost memory in proportion to their size, whatever they
//! repeat: a million empty entries, or one origin listed thousands of times
//! with filters of its own each time. (This test binary counts the bytes
//! the compiler and the formatter allocate with a global allocator, so the
//! figures do not depend on the machine or its load.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

const ORIGINS: &str = "service-client-api.accepted-web-content-origins=";

/// What `run` returns, and the allocations it made.
fn measured<T>(run: impl FnOnce() -> T) -> (T, allocation_counter::AllocationInfo) {
    let mut out = None;
    let info = allocation_counter::measure(|| out = Some(run()));
    (out.expect("ran"), info)
}

fn compile(text: &str) -> (scapi::Compilation, allocation_counter::AllocationInfo) {
    measured(|| scapi::compile("hostile.cfg", text.as_bytes(), &scapi::Options::default()))
}

/// One entry, then a million separators: a million `SC0102` findings, of
/// which the first thousand are listed and the rest counted. The findings
/// beyond the limit are never held (they were: 340 MB for this megabyte).
#[test]
fn a_million_empty_entries_are_counted_not_held() {
    let text = format!("{ORIGINS}https://a.example{}\n", ",".repeat(1_000_000));
    let (compilation, info) = compile(&text);
    let listed = compilation.diagnostics.len();
    assert!((1000..1010).contains(&listed), "{listed} findings listed");
    assert!(
        compilation
            .diagnostics
            .iter()
            .any(|d| d.message.contains("more `SC0102`")),
        "no count of the findings beyond the limit"
    );
    // The text is copied once, read into lines, and a thousand findings
    // kept: a few times the input at most.
    assert!(
        info.bytes_max < 8 * text.len() as u64,
        "{} bytes held at the peak for {} bytes of input",
        info.bytes_max,
        text.len()
    );

    let (formatted, info) =
        measured(|| scapi::fmt::format("commas.cfg", text.as_bytes(), &scapi::Options::default()));
    // Empty entries are warnings: the formatter drops them.
    let formatted = formatted.expect("formatted");
    assert_eq!(formatted.text, format!("{ORIGINS}https://a.example\n"));
    assert!(
        info.bytes_max < 8 * text.len() as u64,
        "{} bytes held at the peak by fmt for {} bytes of input",
        info.bytes_max,
        text.len()
    );
}

/// One origin listed 5 000 times, each with a filter of its own: every
/// repeat is merged into the first entry. Merging each into the growing
/// union copied it every time (quadratic: 22.7 s for 10 000 repeats);
/// the bytes allocated in all are now in proportion to the input.
#[test]
fn an_origin_listed_thousands_of_times_is_merged_in_linear_work() {
    let entries: Vec<String> = (0..5000)
        .map(|i| format!("https://a.example (ns{i}.m{i})"))
        .collect();
    let text = format!("{ORIGINS}{}\n", entries.join(","));
    let (compilation, info) = compile(&text);
    let policy = compilation.policy.expect("a policy");
    let rule = policy.origin("https://a.example").expect("the origin");
    assert_eq!(rule.grant.allow().len(), 5000, "every filter merged");
    assert!(rule.grant.permits("ns4999.m4999"));
    assert!(
        info.bytes_total < 200 * text.len() as u64,
        "{} bytes allocated in all for {} bytes of input",
        info.bytes_total,
        text.len()
    );
}
