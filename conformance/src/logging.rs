//! Logging of the `ssb-harness` binary (`RUST_LOG` filters it, as usual): a repeated warning or
//! error (same level, target and fields) is printed once and then counted, and the counts are
//! printed when the command ends, so one fork seen by 700 simulated nodes is one line and a
//! count, not 700 lines. Log lines never overwrite a progress bar: while [`with_bar`] runs, a
//! line is written with the bar hidden, and on a terminal every line first clears the line the
//! cursor is on (where a bar drawn by code that does not call [`with_bar`] sits), so the bar
//! redraws below the log line instead of over it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use indicatif::ProgressBar;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// Distinct repeated events remembered; past this, new ones are printed every time (memory
/// stays bounded whatever a run logs).
pub const MAX_DISTINCT: usize = 10_000;

/// The bar that log lines must not overwrite, while [`with_bar`] runs.
static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Runs `f` with `bar` as the progress bar that log lines are written around.
pub fn with_bar<T>(bar: &ProgressBar, f: impl FnOnce() -> T) -> T {
    *BAR.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar.clone());
    let out = f();
    *BAR.lock().unwrap_or_else(|e| e.into_inner()) = None;
    out
}

/// Standard error, written around the progress bar.
struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bar = BAR.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let write = || {
            let mut e = std::io::stderr().lock();
            if e.is_terminal() {
                e.write_all(b"\r\x1b[2K")?;
            }
            e.write_all(buf)
        };
        match bar {
            Some(b) => b.suspend(write)?,
            None => write()?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Counts events by level, target and fields.
#[derive(Clone, Default)]
pub struct Dedup {
    seen: Arc<Mutex<BTreeMap<String, u64>>>,
}

struct KeyVisitor<'a>(&'a mut String);

impl Visit for KeyVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl Dedup {
    /// Whether an event with this key is printed (its first time, or once the table is full).
    pub fn first_time(&self, key: String) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        match seen.get_mut(&key) {
            Some(n) => {
                *n += 1;
                false
            }
            None => {
                if seen.len() < MAX_DISTINCT {
                    seen.insert(key, 1);
                }
                true
            }
        }
    }

    /// One line per event that was repeated: how many more times it came than was printed.
    pub fn repeats(&self) -> Vec<String> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.iter()
            .filter(|(_, n)| **n > 1)
            .map(|(k, n)| format!("{k} (repeated {} more times, not printed)", n - 1))
            .collect()
    }
}

impl<S: Subscriber> Layer<S> for Dedup {
    fn event_enabled(&self, event: &Event<'_>, _cx: Context<'_, S>) -> bool {
        let meta = event.metadata();
        // Levels compare by verbosity: INFO and below are never folded.
        if *meta.level() > Level::WARN {
            return true;
        }
        let mut key = format!("{} {}:", meta.level(), meta.target());
        event.record(&mut KeyVisitor(&mut key));
        self.first_time(key)
    }
}

/// Prints the repeat counts when dropped (at the end of `main`).
pub struct Guard(Dedup);

impl Drop for Guard {
    fn drop(&mut self) {
        let repeats = self.0.repeats();
        if repeats.is_empty() {
            return;
        }
        let mut e = LogWriter;
        let mut text = format!(
            "{} repeated log line{} counted instead of printed:\n",
            repeats.len(),
            if repeats.len() == 1 { "" } else { "s" }
        );
        for r in repeats {
            let _ = writeln!(text, "  {r}");
        }
        let _ = e.write_all(text.as_bytes());
    }
}

/// Installs the subscriber: `RUST_LOG` filter, repeat folding, output to standard error.
pub fn init() -> Guard {
    let dedup = Dedup::default();
    let _ = tracing_subscriber::registry()
        // WARN and above by default: recoveries and refusals are never silent.
        .with(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with(dedup.clone())
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(std::io::stderr().is_terminal())
                .with_writer(|| LogWriter),
        )
        .try_init();
    Guard(dedup)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_counted_not_printed() {
        let d = Dedup::default();
        assert!(d.first_time("WARN x: fork seq=3".into()));
        for _ in 0..699 {
            assert!(!d.first_time("WARN x: fork seq=3".into()));
        }
        assert!(d.first_time("WARN x: fork seq=4".into()));
        assert_eq!(
            d.repeats(),
            vec!["WARN x: fork seq=3 (repeated 699 more times, not printed)".to_string()]
        );
    }

    #[test]
    fn table_is_bounded() {
        let d = Dedup::default();
        for i in 0..MAX_DISTINCT + 5 {
            assert!(d.first_time(format!("k{i}")));
        }
        // Past the bound, a new key is printed every time rather than remembered.
        assert!(d.first_time("late".into()));
        assert!(d.first_time("late".into()));
        assert_eq!(d.seen.lock().unwrap().len(), MAX_DISTINCT);
    }

    #[test]
    fn events_through_the_layer_are_folded() {
        use tracing_subscriber::layer::SubscriberExt;
        let d = Dedup::default();
        let printed = Arc::new(Mutex::new(0usize));
        struct CountLines(Arc<Mutex<usize>>);
        impl<S: Subscriber> Layer<S> for CountLines {
            fn on_event(&self, _e: &Event<'_>, _cx: Context<'_, S>) {
                *self.0.lock().unwrap() += 1;
            }
        }
        let sub = tracing_subscriber::registry()
            .with(d.clone())
            .with(CountLines(printed.clone()));
        tracing::subscriber::with_default(sub, || {
            for _ in 0..50 {
                tracing::warn!(author = "@a", seq = 7, "fork");
            }
            tracing::warn!(author = "@b", seq = 7, "fork");
            for _ in 0..3 {
                tracing::info!("progress");
            }
        });
        assert_eq!(*printed.lock().unwrap(), 2 + 3);
        let r = d.repeats();
        assert_eq!(r.len(), 1);
        assert!(
            r[0].contains("author=\"@a\"") && r[0].contains("repeated 49 more times"),
            "{r:?}"
        );
    }
}
