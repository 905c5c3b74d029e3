//! CLI harness: `tests/cases/cli/<case>/cmd` is one command line (without
//! `scapi`), run from the repository root. Optional `stdin` is piped in;
//! optional `tmp/` is copied to a fresh directory that `$TMP` in the command
//! names. Expected: `stdout`, `stderr`, `status`, and — when `tmp/` or
//! `$TMP` is used — `tmp.txt`, the files left in that directory afterwards.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../../tests/common/mod.rs"]
mod common;

use common::{Golden, cases, root, split_args};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
}

fn list_dir(dir: &Path) -> String {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let mut out = String::new();
    for p in names {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let body = std::fs::read(&p)
            .map(|b| String::from_utf8_lossy(&b).to_string())
            .unwrap_or_default();
        out.push_str(&format!("=== {name}\n{body}"));
        if !body.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

#[test]
fn cli_cases() {
    let mut golden = Golden::default();
    for dir in cases("cli") {
        let line = std::fs::read_to_string(dir.join("cmd")).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let tmp_path = tmp.path().to_str().unwrap().to_string();
        let uses_tmp = line.contains("$TMP") || dir.join("tmp").is_dir();
        if dir.join("tmp").is_dir() {
            copy_dir(&dir.join("tmp"), tmp.path());
        }
        let args: Vec<String> = split_args(&line)
            .into_iter()
            .map(|a| a.replace("$TMP", &tmp_path))
            .collect();
        let mut child = Command::new(env!("CARGO_BIN_EXE_scapi"))
            .args(&args)
            .current_dir(root())
            .env_remove("NO_COLOR")
            .env_remove("COLUMNS")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let input = std::fs::read(dir.join("stdin")).unwrap_or_default();
        child.stdin.take().unwrap().write_all(&input).unwrap();
        let out = child.wait_with_output().unwrap();
        let clean = |b: &[u8]| String::from_utf8_lossy(b).replace(&tmp_path, "$TMP");
        golden.check(&dir.join("stdout"), &clean(&out.stdout));
        golden.check(&dir.join("stderr"), &clean(&out.stderr));
        golden.check(
            &dir.join("status"),
            &format!("{}\n", out.status.code().unwrap_or(-1)),
        );
        if uses_tmp {
            golden.check(&dir.join("tmp.txt"), &list_dir(tmp.path()));
        }
    }
    golden.finish();
}
