//! Every command in README.md runs and prints what the README shows.
//!
//! In ```console blocks, a line starting with `$ ` is a command; the lines
//! after it, up to the next command, are its output as shown — they must
//! appear in that order in the real output (a line `…` stands for lines
//! left out). A trailing `# exits N` gives the expected exit code (else 0).
//! `cargo run --release -- ARGS` and `scapi ARGS` run the scapi binary in a
//! scratch copy of `examples/` and `tests/cases/eval/`; `cargo test` and
//! `.ci/run` are this test suite itself and are not re-run. A command
//! naming `redis://127.0.0.1:6379` runs against a real `redis-server`
//! started on a free port for the test.
//!
//! Commands in ```sh and ```yaml blocks (CI recipes) name the reader's own
//! files, so their arguments are checked by running them with `--help`
//! appended: clap rejects an unknown flag or value before it reaches it.
//! The hooks of `.pre-commit-hooks.yaml` are run on the example export.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use scapi_testkit::{root, split_args};
use std::process::Command;

struct Shown {
    command: String,
    output: Vec<String>,
}

fn console_blocks(readme: &str) -> Vec<Shown> {
    let mut out: Vec<Shown> = Vec::new();
    let mut in_block = false;
    for line in readme.lines() {
        if line.starts_with("```") {
            in_block = line.trim() == "```console";
            continue;
        }
        if !in_block {
            continue;
        }
        if let Some(cmd) = line.strip_prefix("$ ") {
            out.push(Shown {
                command: cmd.to_string(),
                output: Vec::new(),
            });
        } else if let Some(last) = out.last_mut() {
            last.output.push(line.trim_end().to_string());
        }
    }
    out
}

/// Whether `shown` (without `…` lines) is a subsequence of `actual`.
fn shows(actual: &str, shown: &[String]) -> bool {
    let mut lines = actual.lines().map(str::trim_end);
    shown
        .iter()
        .filter(|l| l.as_str() != "…")
        .all(|want| lines.any(|got| got == want))
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_tree(&p, &dest);
        } else {
            std::fs::copy(&p, dest).unwrap();
        }
    }
}

#[test]
fn readme_commands_run_as_shown() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    for dir in ["examples", "tests/cases/eval"] {
        copy_tree(&root().join(dir), &scratch.path().join(dir));
    }
    let mut ran = 0;
    let mut redis: Option<scapi_testkit::redis_server::Server> = None;
    let mut service: Option<scapi_testkit::service::Service> = None;
    for shown in console_blocks(&readme) {
        let (cmd, comment) = match shown.command.split_once(" #") {
            Some((c, k)) => (c.trim().to_string(), k.trim().to_string()),
            None => (shown.command.trim().to_string(), String::new()),
        };
        let expected_code: i32 = comment
            .strip_prefix("exits ")
            .map_or(0, |n| n.trim().parse().unwrap());
        let words = split_args(&cmd);
        let args: Vec<String> = match words
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["cargo", "run", "--release", "--", rest @ ..] => {
                rest.iter().map(|s| s.to_string()).collect()
            }
            ["scapi", rest @ ..] => rest.iter().map(|s| s.to_string()).collect(),
            ["cargo", "test"] | ["BLESS=1", "cargo", "test"] | ["bash", ".ci/run"] => continue,
            // One case by name: run as written (everything is built), it
            // must run that case and pass.
            ["cargo", "test", "--", filter] => {
                let out = Command::new(env!("CARGO"))
                    .args(["test", "--offline", "--", filter])
                    .current_dir(root())
                    .output()
                    .unwrap();
                let stdout = String::from_utf8_lossy(&out.stdout);
                assert!(out.status.success(), "`{cmd}`:\n{stdout}");
                assert!(
                    stdout.contains(&format!("test {filter} ")),
                    "`{cmd}` runs no test named `{filter}`:\n{stdout}"
                );
                continue;
            }
            // Installing is a release build of its own: `tests/install.rs`
            // runs every install command.
            ["cargo", "install", ..] => continue,
            // A call of `scapi serve`: against a real one on the example
            // policy, started for the README (its address for the
            // README's `localhost:8181`). The window's end depends on the
            // clock: `resetAt` is compared as a number.
            ["curl", ..] => {
                let s = service.get_or_insert_with(|| {
                    scapi_testkit::service::Service::start(
                        std::path::Path::new(env!("CARGO_BIN_EXE_scapi")),
                        &["examples/wwews-cluster.cfg", "--no-watch"],
                        scratch.path(),
                    )
                });
                let args: Vec<String> = words[1..]
                    .iter()
                    .map(|w| w.replace("localhost:8181", &s.addr))
                    .collect();
                let out = Command::new("curl").args(&args).output().unwrap();
                assert!(out.status.success(), "`{cmd}`: {out:?}");
                let reset = |t: &str| {
                    let mut out = String::new();
                    let mut rest = t;
                    while let Some((head, tail)) = rest.split_once("\"resetAt\":") {
                        out.push_str(head);
                        out.push_str("\"resetAt\":N");
                        rest = tail.trim_start_matches(|c: char| c.is_ascii_digit());
                    }
                    out.push_str(rest);
                    out
                };
                let stdout = reset(&String::from_utf8_lossy(&out.stdout));
                let shown_lines: Vec<String> = shown.output.iter().map(|l| reset(l)).collect();
                assert!(
                    shows(&stdout, &shown_lines),
                    "`{cmd}` does not print what README.md shows:\n--- shown\n{}\n--- stdout\n{stdout}",
                    shown_lines.join("\n")
                );
                ran += 1;
                continue;
            }
            other => panic!(
                "README command `{}` is not one this test knows how to run",
                other.join(" ")
            ),
        };
        const README_REDIS: &str = "redis://127.0.0.1:6379";
        let needs_redis = args.iter().any(|a| a == README_REDIS);
        if needs_redis && !scapi_testkit::tools::have("redis-server", "redis-server") {
            continue;
        }
        let args: Vec<String> = if needs_redis {
            let url = redis
                .get_or_insert_with(scapi_testkit::redis_server::Server::start)
                .url();
            args.iter().map(|a| a.replace(README_REDIS, &url)).collect()
        } else {
            args
        };
        let out = Command::new(env!("CARGO_BIN_EXE_scapi"))
            .args(&args)
            .current_dir(scratch.path())
            .env_remove("NO_COLOR")
            .env_remove("COLUMNS")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(expected_code),
            "`{cmd}` exit code\n{stderr}"
        );
        let either = shows(&format!("{stdout}{stderr}"), &shown.output)
            || shows(&format!("{stderr}{stdout}"), &shown.output);
        assert!(
            either,
            "`{cmd}` does not print what README.md shows:\n--- shown\n{}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            shown.output.join("\n")
        );
        ran += 1;
    }
    assert!(ran >= 5, "only {ran} README commands ran");
}

/// Every `scapi …` invocation in the ```sh and ```yaml blocks of the README.
fn recipe_commands(readme: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut in_block = false;
    for line in readme.lines() {
        if line.starts_with("```") {
            in_block = matches!(line.trim(), "```sh" | "```yaml");
            continue;
        }
        if !in_block {
            continue;
        }
        let line = line
            .trim()
            .trim_start_matches("- ")
            .trim_start_matches("run:")
            .trim();
        // A shell comment is not an argument.
        let line = line.split(" #").next().unwrap_or("");
        for segment in line
            .split("&&")
            .flat_map(|s| s.split("||"))
            .flat_map(|s| s.split('|'))
        {
            let segment = segment.split('>').next().unwrap_or("").trim();
            let words = split_args(segment);
            if words.first().map(String::as_str) == Some("scapi") {
                out.push(words);
            }
        }
    }
    out
}

#[test]
fn ci_recipes_use_real_flags() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let commands = recipe_commands(&readme);
    assert!(
        commands.len() >= 3,
        "only {} recipe commands found",
        commands.len()
    );
    for words in commands {
        let out = Command::new(env!("CARGO_BIN_EXE_scapi"))
            .args(&words[1..])
            .arg("--help")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "`{}` is not a valid scapi command line:\n{}",
            words.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn pre_commit_hooks_run() {
    let text = std::fs::read_to_string(root().join(".pre-commit-hooks.yaml")).unwrap();
    let hooks: Vec<serde_json::Value> = serde_yaml_ng::from_str(&text).unwrap();
    assert!(hooks.len() >= 2);
    let scratch = tempfile::tempdir().unwrap();
    let export = scratch.path().join("wwews.cfg");
    for hook in hooks {
        for key in ["id", "name", "entry", "language", "files"] {
            assert!(hook[key].is_string(), "hook without `{key}`: {hook}");
        }
        std::fs::copy(root().join("examples/wwews-cluster.cfg"), &export).unwrap();
        let words = split_args(hook["entry"].as_str().unwrap());
        assert_eq!(words[0], "scapi");
        let out = Command::new(env!("CARGO_BIN_EXE_scapi"))
            .args(&words[1..])
            .arg(&export)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "hook {} fails on the clean example:\n{}",
            hook["id"],
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            std::fs::read(&export).unwrap(),
            std::fs::read(root().join("examples/wwews-cluster.cfg")).unwrap()
        );
    }
}
