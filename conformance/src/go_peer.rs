//! Drives go-ssb's server (the `sbot` package behind go-sbot, run by
//! `conformance/adapters/go-sbot/peer.go`) as a child process on 127.0.0.1: it prints a ready line
//! with its id, then answers newline-delimited JSON commands (`{"id", "cmd", ...}` →
//! `{"id", "ok"|"error"}`), the same protocol as the JavaScript peer of [`crate::js_peer`]. The
//! peer is built from its go.sum (`go build -mod=readonly`) the first time it is needed.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;

use serde_json::{json, Value};

use crate::workspace_root;

/// The folder of the Go peer.
pub fn go_sbot_dir() -> PathBuf {
    workspace_root().join("conformance/adapters/go-sbot")
}

/// Builds the Go peer into `target/go-sbot/peer` once per process (`go build` is incremental: a
/// no-op when nothing changed) and returns its path; an error names a missing Go toolchain or
/// the failed build.
pub fn ensure_built() -> Result<PathBuf, String> {
    static BUILT: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = built.as_ref() {
        return Ok(p.clone());
    }
    let out = workspace_root().join("target/go-sbot/peer");
    let o = Command::new("go")
        .args(["build", "-mod=readonly", "-buildvcs=false", "-o"])
        .arg(&out)
        .arg(".")
        .current_dir(go_sbot_dir())
        .output()
        .map_err(|e| format!("the go-sbot peer needs the Go toolchain (`go` on PATH): {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "go build of conformance/adapters/go-sbot failed:\n{}",
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    *built = Some(out.clone());
    Ok(out)
}

/// Options of a go-sbot peer.
#[derive(Debug, Clone)]
pub struct GoPeerOptions {
    pub port: u16,
    /// The repository folder (kept across a restart: store, follow graph, EBT state).
    pub data: PathBuf,
    /// 32-byte ed25519 seed.
    pub seed: [u8; 32],
    /// EBT first, createHistoryStream as fallback; off: createHistoryStream only.
    pub ebt: bool,
    /// More arguments of peer.go (`--legacy-live on`, `--promisc`, `--hops N`, `--shs-cap B64`).
    pub extra: Vec<String>,
}

/// A running go-sbot peer.
pub struct GoPeer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next: u64,
    pub id: String,
    pub port: u16,
    /// The peer's stderr: go-ssb's log, debug level.
    pub log: PathBuf,
    pub ready: Value,
}

impl GoPeer {
    pub fn start(o: &GoPeerOptions) -> Result<GoPeer, String> {
        let bin = ensure_built()?;
        let log = o.data.with_extension(format!("{}.log", o.port));
        let stderr = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut child = Command::new(bin)
            .args(["--port", &o.port.to_string(), "--data"])
            .arg(&o.data)
            .args(["--seed", &hex::encode(o.seed)])
            .args(["--ebt", if o.ebt { "on" } else { "off" }])
            .args(&o.extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("go-sbot peer: {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin pipe")?;
        let mut stdout = BufReader::new(child.stdout.take().ok_or("no stdout pipe")?);
        let ready = loop {
            let mut line = String::new();
            if stdout.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
                let _ = child.wait();
                return Err(format!(
                    "go-sbot peer exited before it was ready; see {}",
                    log.display()
                ));
            }
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                if v["event"] == "ready" {
                    break v;
                }
            }
        };
        let id = ready["id"].as_str().ok_or("ready line without id")?.to_string();
        Ok(GoPeer {
            child,
            stdin,
            stdout,
            next: 1,
            id,
            port: o.port,
            log,
            ready,
        })
    }

    /// Sends a command and waits for its answer (the peer answers one command at a time).
    pub fn cmd(&mut self, cmd: &str, mut args: Value) -> Result<Value, String> {
        let id = self.next;
        self.next += 1;
        let o = args.as_object_mut().ok_or("command args must be an object")?;
        o.insert("id".into(), json!(id));
        o.insert("cmd".into(), json!(cmd));
        writeln!(self.stdin, "{args}").map_err(|e| e.to_string())?;
        self.stdin.flush().map_err(|e| e.to_string())?;
        loop {
            let mut line = String::new();
            if self.stdout.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
                return Err(format!(
                    "go-sbot peer exited during {cmd}; see {}",
                    self.log.display()
                ));
            }
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if v["id"] != json!(id) {
                continue;
            }
            return match v.get("error") {
                Some(e) if !e.is_null() => Err(format!("{cmd}: {e}")),
                _ => Ok(v.get("ok").cloned().unwrap_or(Value::Null)),
            };
        }
    }

    /// The peer's address for our `PeerAddr`: `127.0.0.1:PORT:@ID`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}:{}", self.port, self.id)
    }

    /// What the peer has logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn stop(mut self) {
        let _ = self.cmd("stop", json!({}));
        let _ = self.child.wait();
    }
}

impl Drop for GoPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
