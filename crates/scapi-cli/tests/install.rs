//! Every documented way to install scapi, run as documented.
//!
//! * the `cargo install --locked --path …` lines of every README;
//! * the README's CI recipes for GitHub Actions and GitLab CI, step by step
//!   in a scratch configuration repository (the checkout of scapi the
//!   recipes build from and their restored build cache are modelled by
//!   links to this checkout and to the shared build folder);
//! * the static binary: the README's command, which is the release
//!   workflow's Linux job's, packaged, checksummed, static and working;
//! * the pre-commit hooks, installed by the real `pre-commit` from PyPI in
//!   a scratch git repository and committed through.
//!
//! The commands are taken from the Markdown and the workflow, so the docs
//! cannot drift from what is tested. Every build shares one folder,
//! `target/install`, and Cargo's release profile is made cheap through
//! its environment (`CARGO_PROFILE_RELEASE_OPT_LEVEL=0`): CI time, not
//! the commands, is what that changes. pre-commit installs the hooks at
//! `HEAD` of this checkout (what is committed).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use scapi_testkit::{root, split_args};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where every install of these tests builds.
fn shared_target() -> PathBuf {
    root().join("target").join("install")
}

/// `cmd` with the environment every build of these tests shares.
fn cheap(cmd: &mut Command) -> &mut Command {
    cmd.env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_TERM_PROGRESS_WHEN", "never")
}

/// Runs `script` with bash as CI runners do (`-e -o pipefail`), in `dir`;
/// panics with its output when it fails.
fn bash(dir: &Path, script: &str, env: &[(String, String)]) -> String {
    let mut cmd = Command::new("bash");
    cmd.args([
        "--noprofile",
        "--norc",
        "-e",
        "-o",
        "pipefail",
        "-c",
        script,
    ])
    .current_dir(dir);
    cheap(&mut cmd);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "`{script}` failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The code blocks of `markdown` in `language`, each as its text.
fn blocks(markdown: &str, language: &str) -> Vec<String> {
    let mut out = Vec::new();
    // Inside a block: whether it is one of `language`, and its text.
    let mut inside: Option<(bool, String)> = None;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            inside = match inside.take() {
                None => Some((line.trim() == format!("```{language}"), String::new())),
                Some((wanted, text)) => {
                    if wanted {
                        out.push(text);
                    }
                    None
                }
            };
            continue;
        }
        if let Some((true, text)) = inside.as_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    out
}

/// Every README of the repository, by path.
fn readmes() -> Vec<PathBuf> {
    let out = Command::new("git")
        .args(["ls-files", "*.md"])
        .current_dir(root())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| root().join(l))
        .collect()
}

/// `PATH` with `dir` first.
fn path_with(dir: &Path) -> String {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&path)))
        .unwrap()
        .into_string()
        .unwrap()
}

fn tools_present() -> bool {
    scapi_testkit::tools::have("git", "git") && scapi_testkit::tools::have("bash", "bash")
}

#[test]
fn every_readme_installs_from_a_checkout() {
    if !tools_present() {
        return;
    }
    let mut commands = Vec::new();
    for readme in readmes() {
        let text = std::fs::read_to_string(&readme).unwrap();
        for line in text.lines() {
            let line = line
                .trim()
                .trim_start_matches("$ ")
                .trim_start_matches("- ")
                .trim_start_matches("run:")
                .trim();
            let words = split_args(line.split(" #").next().unwrap());
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            match words.as_slice() {
                // The CI recipes' install, from the submodule: run by
                // `ci_recipes_build_scapi_from_its_checkout`.
                [
                    "cargo",
                    "install",
                    "--locked",
                    "--path",
                    "tools/scapi/crates/scapi-cli",
                ] => {}
                ["cargo", "install", "--locked", "--path", path] => {
                    assert_eq!(
                        *path,
                        "crates/scapi-cli",
                        "{}: `{line}` installs another crate",
                        readme.display()
                    );
                    commands.push(line.to_string());
                }
                // Tools of the build, from crates.io at an exact version.
                [
                    "cargo",
                    "install",
                    "--locked",
                    "wasm-bindgen-cli",
                    "--version",
                    _,
                ]
                | ["cargo", "install", "--locked", "cargo-fuzz"] => {}
                ["cargo", "install", ..] => panic!(
                    "{}: `{line}` cannot work: scapi is on no registry; install from the checkout",
                    readme.display()
                ),
                _ => {}
            }
        }
    }
    assert!(
        commands.len() >= 2,
        "the README and the CLI's README each show the install: {commands:?}"
    );
    commands.dedup();
    for command in commands {
        let home = tempfile::tempdir().unwrap();
        bash(
            &root(),
            &command,
            &[
                (
                    "CARGO_TARGET_DIR".into(),
                    shared_target().display().to_string(),
                ),
                (
                    "CARGO_INSTALL_ROOT".into(),
                    home.path().display().to_string(),
                ),
            ],
        );
        let scapi = home.path().join("bin/scapi");
        let out = Command::new(&scapi)
            .args(["lint", "examples/wwews-cluster.cfg"])
            .current_dir(root())
            .output()
            .unwrap();
        assert!(out.status.success(), "`{command}` installed a broken scapi");
        assert!(String::from_utf8_lossy(&out.stderr).contains("1 file: no problems found"));
    }
}

/// A scratch configuration repository as the CI recipes expect it: the
/// export, the deployed policy and the baseline, scapi's checkout at
/// `tools/scapi` and the restored build cache at `.scapi-target`.
fn configuration_repository() -> tempfile::TempDir {
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path();
    std::fs::create_dir(dir.join("config")).unwrap();
    std::fs::create_dir(dir.join("tools")).unwrap();
    std::fs::copy(
        root().join("examples/wwews-cluster.cfg"),
        dir.join("config/wwews.cfg"),
    )
    .unwrap();
    std::os::unix::fs::symlink(root(), dir.join("tools/scapi")).unwrap();
    std::fs::create_dir_all(shared_target()).unwrap();
    std::os::unix::fs::symlink(shared_target(), dir.join(".scapi-target")).unwrap();
    let scapi = env!("CARGO_BIN_EXE_scapi");
    for args in [
        &[
            "compile",
            "config/wwews.cfg",
            "-o",
            "config/deployed-policy.json",
        ][..],
        &[
            "lint",
            "--write-baseline",
            "scapi-baseline.json",
            "config/wwews.cfg",
        ][..],
    ] {
        let out = Command::new(scapi)
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
    }
    repo
}

/// A CI job's variables, as its runner sets them (the submodule checkout
/// is modelled by the scratch repository), and Cargo's install folder at
/// `home` with its `bin` first on `PATH` (the runner's `~/.cargo/bin`).
fn recipe_env(vars: &serde_json::Value, home: &Path) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vars
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.as_str() != "GIT_SUBMODULE_STRATEGY")
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    env.push(("CARGO_INSTALL_ROOT".into(), home.display().to_string()));
    env.push(("PATH".into(), path_with(&home.join("bin"))));
    env
}

#[test]
fn ci_recipes_build_scapi_from_its_checkout() {
    if !tools_present() {
        return;
    }
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let yaml = blocks(&readme, "yaml");
    let github = yaml
        .iter()
        .find(|b| b.contains("\njobs:"))
        .expect("a GitHub Actions workflow");
    let gitlab = yaml
        .iter()
        .find(|b| b.starts_with("scapi:\n"))
        .expect("a GitLab CI job");

    // GitHub Actions: the job's `env`, then each `run` step in order.
    let workflow: serde_json::Value = serde_yaml_ng::from_str(github).unwrap();
    let job = &workflow["jobs"]["scapi"];
    let repo = configuration_repository();
    let home = tempfile::tempdir().unwrap();
    let env = recipe_env(&job["env"], home.path());
    let mut ran = 0;
    for step in job["steps"].as_array().unwrap() {
        match (step["uses"].as_str(), step["run"].as_str()) {
            // Modelled by the scratch repository: its checkout (with the
            // submodule) and the restored cache.
            (Some(u), None)
                if u.starts_with("actions/checkout@") || u.starts_with("actions/cache@") => {}
            (Some(u), None) if u.starts_with("github/codeql-action/upload-sarif@") => {
                let sarif: serde_json::Value = serde_json::from_slice(
                    &std::fs::read(
                        repo.path()
                            .join(step["with"]["sarif_file"].as_str().unwrap()),
                    )
                    .unwrap(),
                )
                .unwrap();
                assert_eq!(sarif["version"], "2.1.0");
            }
            (None, Some(run)) => {
                bash(repo.path(), run, &env);
                ran += 1;
            }
            other => panic!("a step this test does not know: {other:?}"),
        }
    }
    assert!(ran >= 4, "only {ran} steps ran");
    assert!(home.path().join("bin/scapi").is_file());

    // The shell gates of "Use in CI", with the scapi just installed, on the
    // files they name (`wwews.cfg` and `deployed-policy.json` at the top,
    // exports under `config/`).
    let section = &readme[readme.find("\n## Use in CI").unwrap()..];
    let section = &section[..section[1..].find("\n## ").unwrap()];
    std::fs::copy(
        repo.path().join("config/wwews.cfg"),
        repo.path().join("wwews.cfg"),
    )
    .unwrap();
    std::fs::copy(
        repo.path().join("config/deployed-policy.json"),
        repo.path().join("deployed-policy.json"),
    )
    .unwrap();
    let mut gates = 0;
    for line in blocks(section, "sh").iter().flat_map(|b| b.lines()) {
        if line.starts_with("scapi ") {
            bash(repo.path(), line.split(" #").next().unwrap(), &env);
            gates += 1;
        }
    }
    assert!(gates >= 3, "only {gates} shell gates ran");

    // GitLab CI: the job's `variables`, then its `script` as one shell.
    let job: serde_json::Value = serde_yaml_ng::from_str(gitlab).unwrap();
    let job = &job["scapi"];
    let repo = configuration_repository();
    let home = tempfile::tempdir().unwrap();
    let env = recipe_env(&job["variables"], home.path());
    let script: Vec<&str> = job["script"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    bash(repo.path(), &script.join("\n"), &env);
    for report in job["artifacts"]["reports"].as_object().unwrap().values() {
        let file = repo.path().join(report.as_str().unwrap());
        assert!(file.is_file(), "{} was not written", file.display());
    }
}

/// Whether the ELF executable `bytes` asks for no program interpreter:
/// statically linked (a static PIE has a dynamic section, but no loader).
fn is_static_elf(bytes: &[u8]) -> bool {
    assert_eq!(&bytes[..4], b"\x7fELF", "not an ELF file");
    assert_eq!(bytes[4], 2, "not a 64-bit ELF file");
    let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap()) as usize;
    let (phoff, phentsize, phnum) = (u64_at(0x20), u16_at(0x36), u16_at(0x38));
    const PT_INTERP: u32 = 3;
    (0..phnum).all(|i| {
        let at = phoff + i * phentsize;
        u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) != PT_INTERP
    })
}

#[test]
fn the_static_binary_is_the_release_jobs() {
    if !tools_present() || !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        return;
    }
    const TARGET: &str = "x86_64-unknown-linux-musl";
    // The release workflow's job for this target: its `run` steps.
    let text = std::fs::read_to_string(root().join(".github/workflows/release.yml")).unwrap();
    let workflow: serde_json::Value = serde_yaml_ng::from_str(&text).unwrap();
    let job = &workflow["jobs"]["binaries"];
    let entry = job["strategy"]["matrix"]["include"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["target"] == TARGET)
        .expect("the release builds x86_64-unknown-linux-musl");
    assert_eq!(entry["os"], "ubuntu-latest");
    let runs: Vec<String> = job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .map(|r| r.replace("${{ matrix.target }}", TARGET))
        .collect();
    // The README's one command is that job's.
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let documented: Vec<String> = blocks(&readme, "sh")
        .iter()
        .flat_map(|b| b.lines().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| l.starts_with("bash .ci/release "))
        .map(|l| l.split(" #").next().unwrap().trim().to_string())
        .collect();
    assert_eq!(
        documented, runs,
        "the README's static build is the release job's"
    );

    let dist = tempfile::tempdir().unwrap();
    let env = [
        ("DIST".to_string(), dist.path().display().to_string()),
        (
            "CARGO_TARGET_DIR".to_string(),
            shared_target().display().to_string(),
        ),
    ];
    for run in &runs {
        bash(&root(), run, &env);
    }
    let version = env!("CARGO_PKG_VERSION");
    let name = format!("scapi-{version}-{TARGET}");
    // Its checksum holds, and it unpacks to a static binary that works.
    bash(
        dist.path(),
        &format!("sha256sum -c {name}.tar.gz.sha256 && tar xzf {name}.tar.gz"),
        &[],
    );
    let unpacked = dist.path().join(&name);
    for file in ["scapi", "README.md", "LICENSE-MIT", "LICENSE-APACHE"] {
        assert!(unpacked.join(file).is_file(), "{file} missing");
    }
    let binary = unpacked.join("scapi");
    assert!(
        is_static_elf(&std::fs::read(&binary).unwrap()),
        "not static"
    );
    let out = Command::new(&binary)
        .args(["lint", "examples/wwews-cluster.cfg"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 file: no problems found"));
}

#[test]
fn the_pre_commit_hooks_install_and_gate_a_commit() {
    if !tools_present() || !scapi_testkit::tools::have("python3", "python3") {
        return;
    }
    // pre-commit itself, from PyPI, in its own virtual environment.
    let tools = shared_target().join("pre-commit");
    std::fs::create_dir_all(&tools).unwrap();
    let venv = tools.join("venv");
    if !venv.join("bin/pre-commit").is_file() {
        bash(
            &tools,
            "python3 -m venv venv && venv/bin/pip install --quiet --disable-pip-version-check pre-commit",
            &[],
        );
    }
    let head = bash(&root(), "git rev-parse HEAD", &[]).trim().to_string();
    // The README's configuration, pointed at this checkout's `HEAD`.
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let config = blocks(&readme, "yaml")
        .into_iter()
        .find(|b| b.starts_with("repos:\n"))
        .expect("the README's .pre-commit-config.yaml");
    let config = config
        .replace("<scapi repository URL>", &root().display().to_string())
        .replace("<a tag or commit of it>", &head);
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path();
    std::fs::write(dir.join(".pre-commit-config.yaml"), config).unwrap();
    let env = [
        ("PATH".to_string(), path_with(&venv.join("bin"))),
        // Its environments are kept (per hook revision) beside the build.
        (
            "PRE_COMMIT_HOME".to_string(),
            tools.join("home").display().to_string(),
        ),
        (
            "CARGO_TARGET_DIR".to_string(),
            shared_target().display().to_string(),
        ),
        ("GIT_AUTHOR_NAME".to_string(), "t".to_string()),
        ("GIT_AUTHOR_EMAIL".to_string(), "t@example.com".to_string()),
        ("GIT_COMMITTER_NAME".to_string(), "t".to_string()),
        (
            "GIT_COMMITTER_EMAIL".to_string(),
            "t@example.com".to_string(),
        ),
    ];
    bash(dir, "git init -q && pre-commit install", &env);
    let clean = std::fs::read_to_string(root().join("examples/wwews-cluster.cfg")).unwrap();
    std::fs::write(dir.join("wwews.cfg"), &clean).unwrap();
    bash(dir, "git add -A && git commit -q -m clean", &env);

    let commit = |text: &str| {
        std::fs::write(dir.join("wwews.cfg"), text).unwrap();
        let out = Command::new("bash")
            .args(["-c", "git add wwews.cfg && git commit -q -m change"])
            .current_dir(dir)
            .envs(env.iter().cloned())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(dir.join("wwews.cfg")).unwrap(),
        )
    };
    // A safe fix: the commit fails, the fix hook has fixed the file.
    let (ok, output, after) = commit(&clean.replacen(
        "origins=https://crm.example.com",
        "origins=HTTPS://CRM.Example.com:443",
        1,
    ));
    assert!(!ok, "a non-canonical origin was committed:\n{output}");
    assert!(
        output.contains("files were modified by this hook"),
        "{output}"
    );
    assert_eq!(after, clean, "the fix hook did not fix it:\n{output}");
    // Only safe fixes: a trailing slash (its fix makes an entry take
    // effect) is left for review, and the lint hook fails the commit.
    let slash = clean.replacen(
        "origins=https://crm.example.com",
        "origins=https://crm.example.com/",
        1,
    );
    let (ok, output, after) = commit(&slash);
    assert!(!ok, "a trailing slash was committed:\n{output}");
    assert!(output.contains("SC0104"), "{output}");
    assert_eq!(after, slash, "an unsafe fix was applied");
    // The fixed file commits.
    let (ok, output, _) = commit(&clean.replacen(
        "voice.mark-done-on-release=true",
        "voice.mark-done-on-release=false",
        1,
    ));
    assert!(ok, "a clean export was refused:\n{output}");
}
