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
