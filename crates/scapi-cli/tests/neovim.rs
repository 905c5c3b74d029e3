//! The README's Neovim set-up, in a real editor: headless Neovim from the
//! distribution's packages (`.ci/run` installs it; Debian's is 0.7.2)
//! starts with the README's ```lua snippet as its `init.lua` and `scapi`
//! on its `PATH`; `tests/editors/neovim.lua` opens a cfg, an ini, a JSON
//! and a YAML export and records what Neovim shows. Each must be attached
//! by its filetype and show the findings `scapi lint` reports for the same
//! file, at the same places.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use scapi_testkit::root;
use std::path::Path;
use std::process::{Command, Stdio};

/// The ```lua block of the README's Neovim set-up.
fn readme_snippet() -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let after = &readme[readme
        .find("**Neovim**")
        .expect("the README has a Neovim set-up")..];
    let block = &after[after.find("```lua\n").expect("it is a ```lua block") + 7..];
    block[..block.find("```").unwrap()].to_string()
}

/// What `scapi lint` reports of `file`, as the driver writes Neovim's.
fn lint(dir: &Path, file: &str) -> Vec<String> {
    let lint = Command::new(env!("CARGO_BIN_EXE_scapi"))
        .args(["lint", "--isolated", "--format", "json", file])
        .current_dir(dir)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&lint.stdout).unwrap();
    let mut want: Vec<String> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{}:{} {} {}",
                d["line"],
                d["column"],
                d["code"].as_str().unwrap(),
                d["message"].as_str().unwrap()
            )
        })
        .collect();
    want.sort();
    want
}

#[test]
fn the_readme_set_up_shows_the_findings_of_scapi_lint() {
    if !scapi_testkit::tools::have("nvim", "neovim") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let broken = std::fs::read(root().join("examples/broken.cfg")).unwrap();
    std::fs::write(dir.path().join("wwews.cfg"), &broken).unwrap();
    std::fs::write(dir.path().join("wwews.ini"), &broken).unwrap();
    std::fs::write(
        dir.path().join("wwews.json"),
        "{\"interaction-workspace\": {\n  \"service-client-api.accepted-web-content-origins\": \"http://crm.example.com (agent.*, agent.*)\"\n}}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("wwews.yaml"),
        "interaction-workspace:\n  service-client-api.accepted-web-content-origins: https://crm.example.com/ (voice.dial)\n",
    )
    .unwrap();
    let files = [
        ("wwews.cfg", "cfg"),
        ("wwews.ini", "dosini"),
        ("wwews.json", "json"),
        ("wwews.yaml", "yaml"),
    ];
    let init = dir.path().join("init.lua");
    std::fs::write(&init, readme_snippet()).unwrap();
    let out = dir.path().join("shown.txt");
    let bin = Path::new(env!("CARGO_BIN_EXE_scapi")).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    // Neovim quits by itself once the driver has written what it saw;
    // each wait inside is bounded (a minute per file).
    let status = Command::new("nvim")
        .args(["--headless", "-i", "NONE", "-n", "-u"])
        .arg(&init)
        .arg("-c")
        .arg(format!(
            "luafile {}",
            root().join("tests/editors/neovim.lua").display()
        ))
        .env("PATH", path)
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .env("EXPORTS", files.map(|(f, _)| f).join("\n"))
        .env("OUT", &out)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("nvim runs (`.ci/run` installs the distribution's neovim)");
    assert!(status.success(), "Neovim exited with {status}");
    let shown = std::fs::read_to_string(&out).unwrap();
    let mut sections = shown.split("== ").filter(|s| !s.is_empty());
    for (file, filetype) in files {
        let section = sections
            .next()
            .unwrap_or_else(|| panic!("{file} missing:\n{shown}"));
        let mut lines = section.lines();
        assert_eq!(
            lines.next(),
            Some(format!("{file} {filetype} ok").as_str()),
            "Neovim showed no diagnostics for {file}:\n{shown}"
        );
        let got: Vec<String> = lines.map(str::to_string).collect();
        assert_eq!(got, lint(dir.path(), file), "{file}");
        assert!(!got.is_empty());
    }
    assert!(sections.next().is_none());
}
