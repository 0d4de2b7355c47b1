//! Talking to an implementation under test: the in-process reference, or a child process that
//! speaks the adapter protocol (`ADAPTER.md`) with a time limit per request. A crash, a hang, a
//! line that is not JSON or an answer to the wrong request becomes a [`CallError`], never a panic
//! or a hang of the harness; the process is restarted for the next request.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use ssb_vectors::reference;

/// Longest response line accepted from an adapter.
pub const MAX_LINE: usize = 64 * 1024 * 1024;

/// Lines of an adapter's standard error kept for the report when it fails.
pub const STDERR_TAIL_LINES: usize = 20;

/// Longest standard error line kept; the rest of the line is dropped.
const MAX_STDERR_LINE: usize = 4096;

/// Why a call did not produce a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The adapter answered with an error object.
    Op { kind: String, message: String },
    /// The adapter broke the protocol (timeout, exit, bad JSON, wrong id, oversized line).
    Transport(String),
}

impl CallError {
    /// The kind compared with vectors; transport failures never match a vector.
    pub fn kind(&self) -> &str {
        match self {
            CallError::Op { kind, .. } => kind,
            CallError::Transport(_) => "adapter_failure",
        }
    }
}

/// An implementation under test.
pub trait Adapter {
    /// The adapter's name, used for the report directory.
    fn name(&self) -> String;
    /// Runs one op.
    fn call(&mut self, op: &str, args: &Value) -> Result<Value, CallError>;
}

/// The reference implementation, called in-process.
pub struct Reference;

impl Adapter for Reference {
    fn name(&self) -> String {
        "reference".into()
    }

    fn call(&mut self, op: &str, args: &Value) -> Result<Value, CallError> {
        reference::dispatch(op, args).map_err(|e| CallError::Op {
            kind: e.kind,
            message: e.message,
        })
    }
}

struct Running {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<Result<String, String>>,
    /// Receives once the stderr reader has seen the end of the stream.
    stderr_done: Receiver<()>,
}

/// A child process speaking the adapter protocol.
pub struct Process {
    command: Vec<String>,
    timeout: Duration,
    running: Option<Running>,
    next_id: u64,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    name: String,
}

impl Process {
    /// Starts `command` (split on white space) and asks for its capabilities.
    pub fn start(command: &str, timeout: Duration) -> Result<(Self, Value), CallError> {
        let command: Vec<String> = command.split_whitespace().map(str::to_string).collect();
        if command.is_empty() {
            return Err(CallError::Transport("empty adapter command".into()));
        }
        let mut p = Process {
            command,
            timeout,
            running: None,
            next_id: 0,
            stderr_tail: Arc::new(Mutex::new(VecDeque::new())),
            name: String::new(),
        };
        let caps = p.call("capabilities", &json!({}))?;
        p.name = caps
            .get("name")
            .and_then(Value::as_str)
            .map(sanitize)
            .unwrap_or_else(|| sanitize(&p.command.join(" ")));
        Ok((p, caps))
    }

    fn spawn(&mut self) -> Result<(), CallError> {
        let mut child = Command::new(&self.command[0])
            .args(&self.command[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| CallError::Transport(format!("cannot start {:?}: {e}", self.command.join(" "))))?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let line = read_bounded_line(&mut r);
                let stop = !matches!(line, Ok(Some(_)));
                let msg = match line {
                    Ok(Some(l)) => Ok(l),
                    Ok(None) => Err("adapter closed its standard output (exited?)".to_string()),
                    Err(e) => Err(e),
                };
                if tx.send(msg).is_err() || stop {
                    break;
                }
            }
        });
        // A fresh process: the tail from the one before it would blame this one.
        self.stderr_tail.lock().expect("stderr tail lock").clear();
        let tail = Arc::clone(&self.stderr_tail);
        let (done_tx, stderr_done) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stderr);
            // Bounded lines: an adapter printing megabytes without a newline costs 4 KiB a line.
            while let Ok(Some(line)) = read_stderr_line(&mut r) {
                let mut t = tail.lock().expect("stderr tail lock");
                t.push_back(line);
                if t.len() > STDERR_TAIL_LINES {
                    t.pop_front();
                }
            }
            let _ = done_tx.send(());
        });
        self.running = Some(Running {
            child,
            stdin,
            lines,
            stderr_done,
        });
        Ok(())
    }

    fn stderr_tail(&self) -> String {
        let t = self.stderr_tail.lock().expect("stderr tail lock");
        if t.is_empty() {
            String::new()
        } else {
            let lines: Vec<&str> = t.iter().map(String::as_str).collect();
            format!(
                "; adapter stderr, last {} line{}:\n{}",
                t.len(),
                if t.len() == 1 { "" } else { "s" },
                lines.join("\n")
            )
        }
    }

    fn transport(&mut self, what: String) -> CallError {
        if let Some(mut r) = self.running.take() {
            let _ = r.child.kill();
            let _ = r.child.wait();
            // The process is gone, so its stderr ends: wait (bounded, in case a grandchild
            // holds the pipe) until the reader has the adapter's last words.
            let _ = r.stderr_done.recv_timeout(Duration::from_millis(500));
        }
        CallError::Transport(format!("{what}{}", self.stderr_tail()))
    }
}

/// Reads one `\n`-terminated line of at most [`MAX_LINE`] bytes; `None` at end of stream.
fn read_bounded_line(r: &mut impl BufRead) -> Result<Option<String>, String> {
    let mut line = Vec::new();
    let n = r
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut line)
        .map_err(|e| format!("reading the adapter's output: {e}"))?;
    if n == 0 {
        return Ok(None);
    }
    if line.len() > MAX_LINE {
        return Err(format!("adapter response longer than {MAX_LINE} bytes"));
    }
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    String::from_utf8(line)
        .map(Some)
        .map_err(|_| "adapter response is not UTF-8".to_string())
}

/// Parses an answer line. JSON allows a `\uXXXX` escape of a lone UTF-16 surrogate (what
/// JavaScript's JSON.stringify writes for one), which serde_json's strings cannot hold: such
/// escapes are read as U+FFFD, with a warning, rather than failing the whole answer.
fn parse_answer(line: &str) -> Result<Value, serde_json::Error> {
    match serde_json::from_str(line) {
        Ok(v) => Ok(v),
        Err(e) => {
            let (fixed, n) = replace_lone_surrogate_escapes(line);
            if n == 0 {
                return Err(e);
            }
            tracing::warn!(
                replaced = n,
                "adapter answer held lone-surrogate escapes, read as U+FFFD"
            );
            serde_json::from_str(&fixed)
        }
    }
}

/// `\uD800`–`\uDFFF` escapes that are not a high-low pair, replaced by `\uFFFD`; and how many.
fn replace_lone_surrogate_escapes(s: &str) -> (String, usize) {
    let b = s.as_bytes();
    let unit_at = |i: usize| -> Option<u16> {
        if b.get(i) == Some(&b'\\') && b.get(i + 1) == Some(&b'u') {
            let hex = s.get(i + 2..i + 6)?;
            u16::from_str_radix(hex, 16).ok()
        } else {
            None
        }
    };
    let mut out = String::with_capacity(s.len());
    let mut n = 0;
    let mut i = 0;
    let mut last = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            if let Some(u) = unit_at(i) {
                let pair = (0xd800..0xdc00).contains(&u)
                    && unit_at(i + 6).is_some_and(|l| (0xdc00..0xe000).contains(&l));
                if pair {
                    i += 12;
                    continue;
                }
                if (0xd800..0xe000).contains(&u) {
                    out.push_str(&s[last..i]);
                    out.push_str("\\ufffd");
                    n += 1;
                    i += 6;
                    last = i;
                    continue;
                }
                i += 6;
                continue;
            }
            // Any other escape: skip the escaped character, so an escaped backslash before `u` is not read as an escape.
            i += 2;
            continue;
        }
        i += 1;
    }
    out.push_str(&s[last..]);
    (out, n)
}

/// Reads one line of the adapter's standard error, keeping at most [`MAX_STDERR_LINE`] bytes of
/// it (lossy UTF-8); `None` at end of stream.
fn read_stderr_line(r: &mut impl BufRead) -> std::io::Result<Option<String>> {
    let mut kept = Vec::new();
    let mut any = false;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        any = true;
        let (chunk, done) = match buf.iter().position(|b| *b == b'\n') {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        let room = MAX_STDERR_LINE.saturating_sub(kept.len());
        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = done.unwrap_or(buf.len());
        r.consume(used);
        if done.is_some() {
            break;
        }
    }
    if !any {
        return Ok(None);
    }
    if kept.last() == Some(&b'\r') {
        kept.pop();
    }
    Ok(Some(String::from_utf8_lossy(&kept).into_owned()))
}

/// A name usable as a directory: letters, digits, `-`, `_`, `.`.
pub fn sanitize(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let out = out.trim_matches('-').to_string();
    if out.is_empty() {
        "adapter".into()
    } else {
        out
    }
}

impl Adapter for Process {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn call(&mut self, op: &str, args: &Value) -> Result<Value, CallError> {
        if self.running.is_none() {
            self.spawn()?;
        }
        self.next_id += 1;
        let id = self.next_id;
        let mut line = serde_json::to_string(&json!({"id": id, "op": op, "args": args})).expect("JSON");
        line.push('\n');
        let running = self.running.as_mut().expect("spawned above");
        if let Err(e) = running
            .stdin
            .write_all(line.as_bytes())
            .and_then(|_| running.stdin.flush())
        {
            return Err(self.transport(format!("cannot write to the adapter: {e}")));
        }
        let reply = match running.lines.recv_timeout(self.timeout) {
            Ok(Ok(l)) => l,
            Ok(Err(e)) => return Err(self.transport(e)),
            Err(RecvTimeoutError::Timeout) => {
                return Err(self.transport(format!("no answer within {} ms", self.timeout.as_millis())))
            }
            Err(RecvTimeoutError::Disconnected) => return Err(self.transport("adapter output closed".into())),
        };
        let v: Value = match parse_answer(&reply) {
            Ok(v) => v,
            Err(e) => return Err(self.transport(format!("answer is not JSON ({e}): {}", clip(&reply, 200)))),
        };
        if v.get("id").and_then(Value::as_u64) != Some(id) {
            return Err(self.transport(format!("answer has id {:?}, expected {id}", v.get("id"))));
        }
        if let Some(ok) = v.get("ok") {
            return Ok(ok.clone());
        }
        match v.get("error") {
            Some(err) => Err(CallError::Op {
                kind: err.get("kind").and_then(Value::as_str).unwrap_or("").to_string(),
                message: err
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            }),
            None => Err(self.transport(format!("answer has neither ok nor error: {}", clip(&reply, 200)))),
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(mut r) = self.running.take() {
            drop(r.stdin);
            // Closing stdin asks the adapter to exit; give it a moment, then make sure.
            for _ in 0..20 {
                if let Ok(Some(_)) = r.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = r.child.kill();
            let _ = r.child.wait();
        }
    }
}

/// The first `n` characters of `s`, marked when cut.
pub fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!(
            "{}… ({} chars)",
            s.chars().take(n).collect::<String>(),
            s.chars().count()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::parse_answer;

    #[test]
    fn lone_surrogate_escapes_are_read_as_replacement_characters() {
        let v = parse_answer(r#"{"id":1,"error":{"kind":"x","message":"a\ud800b \ud83d\ude00 \\ud800"}}"#)
            .unwrap();
        assert_eq!(v["error"]["message"], "a\u{fffd}b \u{1f600} \\ud800");
        assert!(parse_answer("{").is_err());
    }
}
