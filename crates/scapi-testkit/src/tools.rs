//! Tests that need a program of the distribution (`redis-server`, `nvim`,
//! `xmllint`, `script`) run it when it is installed. `.ci/run` installs
//! them and sets `SCAPI_REQUIRE_TOOLS=1`, so in CI a missing one fails the
//! test; a plain `cargo test` on a machine without one skips those tests
//! and says so on standard error.

/// Whether `program` is on the `PATH`; without it, panics when tools are
/// required, else prints why the calling test is skipped.
pub fn have(program: &str, package: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()));
    if found {
        return true;
    }
    let hint = format!(
        "`{program}` is not installed: `bash .ci/run` installs it (apt-get install {package})"
    );
    if std::env::var_os("SCAPI_REQUIRE_TOOLS").is_some() {
        panic!("{hint}");
    }
    eprintln!("skipped: {hint}");
    false
}

/// `promtool check metrics` (Debian's `prometheus`) on a Prometheus text:
/// whether it accepts it, and what it said.
pub fn promtool_check(text: &str) -> (bool, String) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(text.as_bytes())
        .expect("promtool reads its input");
    let out = child.wait_with_output().expect("promtool ends");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}
