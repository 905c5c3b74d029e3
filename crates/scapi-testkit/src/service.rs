//! `scapi serve` as the tests run it: a real process on a free loopback
//! port (port 0: it says which), spoken to over HTTP/1.1 on real sockets,
//! stopped by its PID.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `scapi serve`.
pub struct Service {
    child: Option<Child>,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    stderr: Arc<Mutex<String>>,
    /// The thread reading standard error, joined once the process ends so
    /// that its last words are in `stderr`.
    stderr_reader: Option<std::thread::JoinHandle<()>>,
}

impl Service {
    /// Starts `scapi serve ARGS… --listen 127.0.0.1:0` in `cwd` and waits
    /// (at most a minute, however loaded the machine) until it listens.
    pub fn start(scapi: &Path, args: &[&str], cwd: &Path) -> Service {
        let mut child = Command::new(scapi)
            .arg("serve")
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("scapi serve starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let err = child.stderr.take().expect("piped");
        let seen = Arc::clone(&stderr);
        let stderr_reader = std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if let Some(at) = line.split("listening on http://").nth(1) {
                    let addr = at.split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(addr);
                }
                let mut s = seen.lock().unwrap_or_else(|p| p.into_inner());
                s.push_str(&line);
                s.push('\n');
            }
        });
        // Standard output (a decision log to `-`) is drained, not kept.
        if let Some(mut out) = child.stdout.take() {
            std::thread::spawn(move || {
                let mut sink = Vec::new();
                let _ = out.read_to_end(&mut sink);
            });
        }
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                let said = stderr.lock().unwrap_or_else(|p| p.into_inner()).clone();
                panic!("scapi serve did not start listening:\n{said}");
            }
        };
        Service {
            child: Some(child),
            addr,
            stderr,
            stderr_reader: Some(stderr_reader),
        }
    }

    /// What it wrote on standard error so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A `GET`: status and body.
    pub fn get(&self, path: &str) -> (u16, String) {
        request(&self.addr, "GET", path, None)
    }

    /// A `POST` of a JSON body: status and body.
    pub fn post(&self, path: &str, body: &str) -> (u16, String) {
        request(&self.addr, "POST", path, Some(body))
    }

    /// A `POST` whose answer must be 200 with JSON: the JSON.
    pub fn post_json(&self, path: &str, body: &serde_json::Value) -> serde_json::Value {
        let (status, text) = self.post(path, &body.to_string());
        assert_eq!(status, 200, "{path} {body}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    /// Sends a signal (`HUP`, `TERM`) by PID.
    pub fn signal(&self, name: &str) {
        let pid = self.child.as_ref().expect("running").id();
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(ok.success());
    }

    /// Polls `GET /status` (every 50 ms, at most a minute) until `done`
    /// says yes of its JSON; returns it.
    pub fn status_until(&self, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let start = Instant::now();
        loop {
            let (_, text) = self.get("/status");
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            if done(&v) {
                return v;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "status never came: {v}\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the process to exit (at most a minute).
    pub fn wait(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("waits") {
                // The process has ended and its end of the pipe is closed:
                // the reader reaches the end of what it wrote.
                if let Some(reader) = self.stderr_reader.take() {
                    let _ = reader.join();
                }
                return status;
            }
            if start.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                panic!("scapi serve did not stop:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One HTTP/1.1 request on a connection of its own: status and body.
pub fn request(addr: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connects");
    s.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let body = body.unwrap_or("");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).expect("writes");
    s.write_all(body.as_bytes()).expect("writes");
    read_response(&mut s)
}

/// Reads one response to the end of the connection: status and body
/// (chunked bodies decoded).
pub fn read_response(s: &mut impl Read) -> (u16, String) {
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    if !chunked {
        return (status, body.to_string());
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    (status, out)
}
