//! The public API of every library crate of the workspace is the snapshot
//! `crates/<crate>/api.txt`: a change to what users can name shows in
//! review, and `BLESS=1` records a deliberate one. A test per crate
//! (`cargo test -p scapi-testkit --test api -- api::scapi_policy`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scapi_testkit::harness::Suite;
use scapi_testkit::{Golden, root};

/// Every library crate of the workspace but this one.
fn crates() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root().join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("src/lib.rs").is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|n| n != "scapi-testkit")
        .collect();
    out.sort();
    out
}

fn main() {
    Suite::new()
        .each(
            "api",
            crates().into_iter().map(|c| (c.replace('-', "_"), c)),
            |name: String, golden: &mut Golden| {
                let dir = root().join("crates").join(&name);
                let api = scapi_testkit::api::public_api(&dir, &name.replace('-', "_"));
                golden.check(&dir.join("api.txt"), &api);
            },
        )
        .run();
}
