//! Faults while writing: a full disk (simulated with a file-size limit), a
//! full standard output (`/dev/full`), a closed pipe, a target whose
//! directory is a file. Every failure exits 2 with a clear message, leaves
//! the target as it was and leaves no temporary file behind.
#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

const SCAPI: &str = env!("CARGO_BIN_EXE_scapi");
const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/wwews-cluster.cfg"
);
const BROKEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/broken.cfg");
const REQUESTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/requests.jsonl");

/// Runs scapi with files limited to 1 KiB: a write past it fails with
/// "file too large" (SIGXFSZ ignored), as a full disk fails a write.
fn run_with_tiny_disk(args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 1; exec \"$0\" \"$@\"")
        .arg(SCAPI)
        .args(args)
        .output()
        .unwrap()
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn compile_on_a_full_disk_keeps_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("policy.json");
    std::fs::write(&target, "previous policy\n").unwrap();
    let o = run_with_tiny_disk(&["compile", EXAMPLE, "-o", target.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot write") && stderr(&o).contains("file too large"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "previous policy\n"
    );
    assert_eq!(listing(dir.path()), ["policy.json"]);
    // Without the limit the same command succeeds: the limit is the cause.
    let ok = Command::new(SCAPI)
        .args(["compile", EXAMPLE, "-o", target.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(
        std::fs::read_to_string(&target)
            .unwrap()
            .contains("\"origins\"")
    );
    assert_eq!(listing(dir.path()), ["policy.json"]);
}

#[test]
fn fmt_write_on_a_full_disk_keeps_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.cfg");
    let mut text = String::from("[interaction-workspace]\n");
    for i in 0..40 {
        text.push_str(&format!(
            "; comment line {i} that makes the file larger than 1 KiB\n"
        ));
    }
    text.push_str("service-client-api.accepted-web-content-origins=HTTPS://CRM.Example.com:443 (agent.*,voice.dial)\n");
    std::fs::write(&file, &text).unwrap();
    let o = run_with_tiny_disk(&["fmt", "--write", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("file too large"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    assert_eq!(listing(dir.path()), ["export.cfg"]);
    let ok = Command::new(SCAPI)
        .args(["fmt", "--write", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("=https://crm.example.com (agent.*, voice.dial)\n")
    );
    assert_eq!(listing(dir.path()), ["export.cfg"]);
}

#[test]
fn a_target_under_a_file_is_refused_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let target = file.join("policy.json");
    let o = Command::new(SCAPI)
        .args(["compile", EXAMPLE, "-o", target.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a directory"), "{}", stderr(&o));
    assert_eq!(listing(dir.path()), ["not-a-dir"]);
}

#[test]
fn a_full_standard_output_is_an_error() {
    if !Path::new("/dev/full").exists() {
        // Every Linux system has it; elsewhere there is nothing to test.
        return;
    }
    let cases: &[&[&str]] = &[
        &["compile", EXAMPLE],
        &["lint", BROKEN, "--format", "json"],
        &["lint", BROKEN, "--format", "sarif"],
        &["lint", BROKEN, "--format", "github"],
        &["eval", EXAMPLE, REQUESTS, "--format", "json"],
        &["explain", EXAMPLE, "--origin", "https://crm.example.com"],
        &["diff", EXAMPLE, BROKEN],
        &["requests"],
        &["schema", "compiled"],
        &["rule", "SC0111"],
    ];
    for args in cases {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let o = Command::new(SCAPI)
            .args(*args)
            .stdout(Stdio::from(full))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("no space left on device"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let mut child = Command::new(SCAPI)
        .args(["lint", BROKEN, "--format", "json", "--max-per-rule", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away before the report is written.
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    // Findings were made (exit 1); the closed pipe itself is no failure.
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!stderr(&o).contains("cannot write"), "{}", stderr(&o));
}

/// A closed standard input is a read error, not an empty file.
#[test]
fn a_closed_standard_input_is_an_error() {
    for args in [
        &["lint", "-"][..],
        &["eval", EXAMPLE, "-"],
        &["compile", "-"],
    ] {
        let o = Command::new("sh")
            .arg("-c")
            .arg("exec \"$0\" \"$@\" <&-")
            .arg(SCAPI)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("standard input: it is closed"),
            "{}",
            stderr(&o)
        );
    }
    // `< /dev/null` is an empty input, read as such.
    let o = Command::new(SCAPI)
        .args(["eval", EXAMPLE, "-"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// JSON Lines are read on a thread of their own, ahead of the replay, and
/// each item is replayed as soon as it is read: a replay that fails (here,
/// on an item out of time order) ends the process at once, though its
/// standard input is still open and has more to come.
#[test]
fn a_failed_replay_does_not_wait_for_standard_input_to_end() {
    use std::io::Write;
    let mut child = Command::new(SCAPI)
        .args(["eval", EXAMPLE, "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A watchdog ends a process that waits for more (and the test fails);
    // it runs before anything is written.
    let pid = child.id();
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if finished
            .recv_timeout(std::time::Duration::from_secs(300))
            .is_err()
        {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    });
    // The lines are written from a thread of their own, which then holds
    // the pipe open until the process has ended, while the test reads the
    // process's output (so neither side waits on a full pipe).
    let mut stdin = child.stdin.take().unwrap();
    let (ended, end) = std::sync::mpsc::channel::<()>();
    let writer = std::thread::spawn(move || {
        let line = |at: &str| {
            format!(
                "{{\"at\": \"{at}\", \"origin\": \"https://crm.example.com\", \"request\": \"agent.getState\", \"client\": \"a\"}}\n"
            )
        };
        for _ in 0..2000 {
            if stdin
                .write_all(line("2026-01-01T00:01:00Z").as_bytes())
                .is_err()
            {
                return;
            }
        }
        let _ = stdin.write_all(line("2026-01-01T00:00:00Z").as_bytes());
        let _ = stdin.flush();
        let _ = end.recv();
        drop(stdin);
    });
    let o = child.wait_with_output().unwrap();
    let _ = done.send(());
    let _ = ended.send(());
    watchdog.join().unwrap();
    writer.join().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("items must be in time order"),
        "{}",
        stderr(&o)
    );
}

/// A device or a FIFO is written through, never replaced by a file; a
/// symbolic link keeps pointing at the file it names.
#[test]
fn compile_writes_through_devices_fifos_and_links() {
    let o = Command::new(SCAPI)
        .args(["compile", EXAMPLE, "-o", "/dev/null"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );

    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("policy.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let o = Command::new(SCAPI)
        .args(["compile", EXAMPLE, "-o", fifo.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        reader
            .join()
            .unwrap()
            .starts_with("{\n  \"schemaVersion\": 1,")
    );
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());

    let real = dir.path().join("real.json");
    std::fs::write(&real, "old\n").unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink("real.json", &link).unwrap();
    let o = Command::new(SCAPI)
        .args(["compile", EXAMPLE, "-o", link.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read_to_string(&real)
            .unwrap()
            .contains("schemaVersion")
    );
    assert_eq!(
        listing(dir.path()),
        ["link.json", "policy.fifo", "real.json"]
    );
}

/// An export whose compiled policy takes several writes.
fn big_export(dir: &Path) -> std::path::PathBuf {
    use std::fmt::Write as _;
    let mut text =
        String::from("[interaction-workspace]\nservice-client-api.accepted-web-content-origins=");
    for i in 0..2_000 {
        let _ = write!(
            text,
            "https://tenant{i}.crm.example.com (agent.*, voice.dial), "
        );
    }
    text.push_str("https://last.example.com\n");
    let path = dir.join("big.cfg");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `compile -o` under `strace`, which sends `signal` when the process
/// makes the system call `at` — an exact point of the write, whatever the
/// machine's load: `fsync` (the contents are written, the file has no name
/// yet) or the rename (the file has its temporary name; `strace` fails the
/// rename with `EINTR`, so the process is caught with the name in place).
/// Neither a temporary file nor a changed target may be left.
fn interrupt_at(at: &str, signal: &str) {
    if !scapi_testkit::tools::have("strace", "strace") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let export = big_export(dir.path());
    let target = dir.path().join("policy.json");
    std::fs::write(&target, "old\n").unwrap();
    let (calls, inject) = match at {
        "fsync" => ("fsync", format!("fsync:signal={signal}")),
        _ => (
            "rename,renameat,renameat2",
            format!("rename,renameat,renameat2:error=EINTR:signal={signal}"),
        ),
    };
    // A run started in the background (`… &` in a script, as CI may be)
    // inherits SIGINT ignored; `env --default-signal` gives scapi the
    // default disposition of the signals it is sent, as a terminal would.
    let o = Command::new("env")
        .args(["--default-signal=INT,TERM,HUP", "strace"])
        .args(["-f", "-qq", "-o", "/dev/null", "-e"])
        .arg(format!("trace={calls}"))
        .arg("-e")
        .arg(format!("inject={inject}"))
        .arg(SCAPI)
        .args([
            "compile",
            export.to_str().unwrap(),
            "-o",
            target.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!o.status.success(), "{at} {signal}: {:?}", o.status);
    assert_eq!(
        listing(dir.path()),
        ["big.cfg", "policy.json"],
        "{at} {signal}"
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "old\n",
        "{at} {signal}"
    );
}

#[test]
fn an_interrupt_leaves_no_temporary_file() {
    for signal in ["TERM", "INT", "HUP"] {
        interrupt_at("fsync", signal);
        interrupt_at("rename", signal);
    }
}

#[cfg(target_os = "linux")]
#[test]
fn even_sigkill_leaves_no_temporary_file() {
    // While the file has no name; the instant between naming and renaming
    // it is the one a `SIGKILL` can leave a `.scapi-*.tmp` behind.
    interrupt_at("fsync", "KILL");
}

/// An export with a safe fix (`HTTPS://CRM.Example.com` is written
/// canonically).
const FIXABLE: &str = "service-client-api.accepted-web-content-origins=HTTPS://CRM.Example.com\nservice-client-api.user-data.read-allowed=*\nservice-client-api.user-data.write-allowed=*\n";

fn scapi(args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    // `timeout` only guards against a hang failing the whole suite; no
    // result depends on it.
    let mut child = Command::new("timeout")
        .arg("120")
        .arg(SCAPI)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // A command that stops before reading its input closes the pipe.
    match input.write_all(stdin) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.unwrap(),
    }
    drop(input);
    child.wait_with_output().unwrap()
}

#[test]
fn lint_fix_refuses_a_fifo_instead_of_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("wwews.cfg");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    // No writer: reading it would block for ever; it is refused unread.
    let o = scapi(&["lint", "--fix", fifo.to_str().unwrap()], b"");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is not a regular file"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("no fixes"), "{}", stderr(&o));
}

#[test]
fn lint_fix_refuses_a_read_only_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wwews.cfg");
    std::fs::write(&file, FIXABLE).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o444)).unwrap();
    let o = scapi(&["lint", "--fix", file.to_str().unwrap()], b"");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("it is read-only"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("fixed 1"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), FIXABLE);
    assert_eq!(listing(dir.path()), ["wwews.cfg"]);
}

#[test]
fn lint_fix_keeps_the_owner_and_the_mode() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wwews.cfg");
    std::fs::write(&file, FIXABLE).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    // As root (CI containers), the file belongs to someone else: replacing
    // it must not hand it to root.
    let root = std::fs::metadata(dir.path()).unwrap().uid() == 0
        && Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    if root {
        std::os::unix::fs::chown(&file, Some(65534), Some(65534)).unwrap();
    }
    let before = std::fs::metadata(&file).unwrap();
    let o = scapi(&["lint", "--fix", file.to_str().unwrap()], b"");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("=https://crm.example.com\n"), "{text}");
    let after = std::fs::metadata(&file).unwrap();
    assert_eq!(after.mode() & 0o7777, 0o640);
    assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
    assert_ne!(
        after.ino(),
        before.ino(),
        "replaced atomically, not in place"
    );
}

#[test]
fn lint_fix_of_standard_input_that_is_not_utf8_prints_nothing() {
    let o = scapi(
        &["lint", "--fix", "-"],
        b"service-client-api.rate-limit=\xff5\n",
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(o.stdout.is_empty(), "{:?}", o.stdout);
    assert!(stderr(&o).contains("not valid UTF-8"), "{}", stderr(&o));
    // Readable input with nothing to fix is echoed byte for byte.
    let same = "service-client-api.rate-limit=5\n";
    let o = scapi(&["lint", "--fix", "-"], same.as_bytes());
    assert_eq!(o.stdout, same.as_bytes());
}
