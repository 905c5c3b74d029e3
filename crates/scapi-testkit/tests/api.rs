//! The public API of every library crate of the workspace is the snapshot
//! `crates/<crate>/api.txt`: a change to what users can name shows in
//! review, and `BLESS=1` records a deliberate one. A test per crate
//! (`cargo test -p scapi-testkit --test api -- api::scapi_policy`).

use scapi_testkit::harness::Suite;
use scapi_testkit::{Golden, root};

const CRATES: &[&str] = &[
    "scapi-policy",
    "scapi-tools",
    "scapi",
    "scapi-redis",
    "scapi-wasm",
    "scapi-lsp",
];

fn main() {
    Suite::new()
        .each(
            "api",
            CRATES
                .iter()
                .map(|c| (c.replace('-', "_"), (*c).to_string())),
            |name: String, golden: &mut Golden| {
                let dir = root().join("crates").join(&name);
                let api = scapi_testkit::api::public_api(&dir, &name.replace('-', "_"));
                golden.check(&dir.join("api.txt"), &api);
            },
        )
        .run();
}
