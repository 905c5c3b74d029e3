//! `cargo bench` (W5, memory): heap bytes per origin of a policy loaded
//! from its compiled JSON, against the naive `HashMap<String,
//! HashSet<String>>` of the same grants (both measured with a counting
//! allocator), and the peak RSS of `scapi lint` on the 100k-origin export
//! (through GNU time, when installed).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use scapi_testkit::bench::naive_map;
use scapi_testkit::generator;

/// W5: heap bytes per origin of the policy and of the naive map (measured
/// with the counting allocator), and the peak RSS of `scapi lint`.
fn w5() -> Vec<(String, String, String, String)> {
    let mut rows = Vec::new();
    for n in [10_000usize, 100_000] {
        let export = generator::export(n, 1);
        let compiled = {
            let c = scapi::compile("gen.cfg", export.as_bytes(), &scapi::Options::default());
            scapi_policy::compiled::CompiledPolicy::from(&c.policy.unwrap()).to_json()
        };
        let mut policy = None;
        let ours = allocation_counter::measure(|| {
            policy = Some(
                scapi_policy::compiled::CompiledPolicy::from_json(&compiled)
                    .unwrap()
                    .to_policy()
                    .unwrap(),
            );
        });
        let policy = policy.unwrap();
        let mut naive = None;
        let theirs = allocation_counter::measure(|| naive = Some(naive_map(&policy)));
        drop(naive);
        rows.push((
            format!("W5 heap per origin ({n} origins)"),
            format!("{:.0} B", ours.bytes_current as f64 / n as f64),
            format!("{:.0} B", theirs.bytes_current as f64 / n as f64),
            format!(
                "{:.2}",
                ours.bytes_current as f64 / theirs.bytes_current as f64
            ),
        ));
    }
    let dir = std::env::temp_dir().join(format!("scapi-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("e100k.cfg");
    std::fs::write(&file, generator::export(100_000, 1)).unwrap();
    let size = std::fs::metadata(&file).unwrap().len();
    let rss = peak_rss_kib(&[
        env!("CARGO_BIN_EXE_scapi"),
        "lint",
        file.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    rows.push((
        "W5 peak RSS of `scapi lint`, 100k origins".into(),
        rss.map_or("n/a (needs /usr/bin/time)".into(), |k| {
            format!("{:.1} MB", k as f64 / 1024.0)
        }),
        format!("{:.1} MB input", size as f64 / 1e6),
        rss.map_or("-".into(), |k| {
            format!("{:.2}× input", k as f64 * 1024.0 / size as f64)
        }),
    ));
    rows
}

/// Peak resident set of a command, through GNU time when it is installed.
fn peak_rss_kib(cmd: &[&str]) -> Option<u64> {
    let out = std::process::Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .args(cmd)
        .stdout(std::process::Stdio::null())
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .last()?
        .trim()
        .parse()
        .ok()
}

fn main() {
    // Under `cargo test --benches` (`--test`), only check that it runs.
    if std::env::args().any(|a| a == "--test") {
        return;
    }
    scapi_testkit::bench::print_table(&w5());
}
