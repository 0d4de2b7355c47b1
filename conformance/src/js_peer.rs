//! Drives a JavaScript SSB peer (`conformance/adapters/js-node/peer.js`: secret-stack + ssb-db2 +
//! ssb-ebt, or ssb-server 16) as a child process: it prints a ready line with its id, then
//! answers newline-delimited JSON commands (`{"id", "cmd", ...}` → `{"id", "ok"|"error"}`).
//! Used by the interop tests and the replication bench.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Once;

use serde_json::{json, Value};

use crate::workspace_root;

/// Which JS stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stack {
    /// secret-stack 6 + ssb-db2 6 + ssb-ebt 9 + ssb-friends 5 + ssb-blobs 2.
    Db2,
    /// ssb-server 16 (ssb-db 20, ssb-replicate, ssb-ebt, ssb-friends, ssb-blobs).
    Classic,
}

impl Stack {
    pub fn name(self) -> &'static str {
        match self {
            Stack::Db2 => "db2",
            Stack::Classic => "classic",
        }
    }
}

/// The folder of the JS peer.
pub fn js_node_dir() -> PathBuf {
    workspace_root().join("conformance/adapters/js-node")
}

/// Installs the pinned packages (`npm ci`) once if `node_modules` is missing.
pub fn ensure_installed() -> Result<PathBuf, String> {
    static INSTALL: Once = Once::new();
    let dir = js_node_dir();
    let mut result = Ok(());
    INSTALL.call_once(|| {
        let installed = ["ssb-db2", "ssb-server", "envelope-js"]
            .iter()
            .all(|p| dir.join("node_modules").join(p).is_dir());
        if installed {
            return;
        }
        result = match Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .output()
        {
            Ok(o) if o.status.success() => Ok(()),
            Ok(o) => Err(format!("npm ci failed: {}", String::from_utf8_lossy(&o.stderr))),
            Err(e) => Err(format!("npm not runnable: {e}")),
        };
    });
    result.map(|()| dir)
}

/// A running JS peer.
pub struct JsPeer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next: u64,
    pub id: String,
    pub port: u16,
    pub ready: Value,
}

/// Options of a JS peer.
#[derive(Debug, Clone)]
pub struct JsPeerOptions {
    pub stack: Stack,
    pub port: u16,
    pub data: PathBuf,
    /// 32-byte ed25519 seed (hex).
    pub seed_hex: String,
    pub ebt: bool,
    /// Idle timeout of secret-stack connections in ms.
    pub timeout_ms: Option<u64>,
}

impl JsPeer {
    pub fn start(o: &JsPeerOptions) -> Result<JsPeer, String> {
        let dir = ensure_installed()?;
        let mut cmd = Command::new("node");
        cmd.arg(dir.join("peer.js"))
            .args(["--stack", o.stack.name(), "--port", &o.port.to_string(), "--data"])
            .arg(&o.data)
            .args(["--seed", &o.seed_hex, "--ebt", if o.ebt { "on" } else { "off" }]);
        if let Some(t) = o.timeout_ms {
            cmd.args(["--timeout-ms", &t.to_string()]);
        }
        let log = std::fs::File::create(o.data.with_extension("log")).map_err(|e| e.to_string())?;
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("node: {e}"))?;
        let stdin = child.stdin.take().expect("piped");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let ready = loop {
            let mut line = String::new();
            if stdout.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
                return Err(format!(
                    "JS peer exited before it was ready; see {}",
                    o.data.with_extension("log").display()
                ));
            }
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                if v["event"] == "ready" {
                    break v;
                }
            }
        };
        Ok(JsPeer {
            child,
            stdin,
            stdout,
            next: 1,
            id: ready["id"].as_str().unwrap_or_default().to_string(),
            port: ready["port"].as_u64().unwrap_or(u64::from(o.port)) as u16,
            ready,
        })
    }

    /// Sends a command and waits for its answer.
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
                return Err(format!("JS peer exited during {cmd}"));
            }
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if v["id"] != json!(id) {
                continue; // an event line
            }
            return match v.get("error") {
                Some(e) if !e.is_null() => Err(format!("{cmd}: {e}")),
                _ => Ok(v.get("ok").cloned().unwrap_or(Value::Null)),
            };
        }
    }

    /// The peer's multiserver-free address for our `PeerAddr`: `127.0.0.1:PORT:@ID`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}:{}", self.port, self.id)
    }

    pub fn stop(mut self) {
        let _ = self.cmd("stop", json!({}));
        let _ = self.child.wait();
    }
}

impl Drop for JsPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `dir/name`, created empty.
pub fn fresh_dir(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).expect("create data dir");
    p
}
