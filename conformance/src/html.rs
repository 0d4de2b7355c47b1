//! `report.html`: one self-contained page per run (inline CSS, no scripts, no external assets,
//! so it opens from a CI artifact or an e-mail). It holds the suite summary, the rules matrix
//! grouped by protocol area (suite) with each rule's statement and a link to its spec from
//! `rules.toml`, and per case the request sent to the adapter, the expected answer and the
//! answer that came back. Cases that did not pass are open and carry every value in full;
//! passing ones are folded and their long strings shortened (the vector file has them).

use std::fmt::Write as _;

use serde_json::Value;

use crate::report::Report;
use crate::runner::{CaseResult, Status, SuiteResult};

/// Where the sources named in `rules.toml`'s `spec` fields live, as data: a `spec` part that
/// starts with the name links to the address. Checked in order; the first match wins.
pub const SPEC_SOURCES: &[(&str, &str)] = &[
    (
        "protocol guide",
        "https://ssbc.github.io/scuttlebutt-protocol-guide/",
    ),
    (
        "scuttlebutt-protocol-guide",
        "https://ssbc.github.io/scuttlebutt-protocol-guide/",
    ),
    (
        "epidemic-broadcast-trees",
        "https://github.com/dominictarr/epidemic-broadcast-trees",
    ),
    ("envelope-spec", "https://github.com/ssbc/envelope-spec"),
    ("bendy-butt-spec", "https://github.com/ssbc/bendy-butt-spec"),
    ("private-box", "https://github.com/auditdrivencrypto/private-box"),
    ("private-group-spec", "https://github.com/ssbc/private-group-spec"),
    (
        "ssb-meta-feeds-spec",
        "https://github.com/ssbc/ssb-meta-feeds-spec",
    ),
    ("ssb-validate", "https://github.com/ssbc/ssb-validate"),
    ("ssb-keys", "https://github.com/ssbc/ssb-keys"),
    ("ssb-ebt", "https://github.com/ssbc/ssb-ebt"),
    ("libsodium", "https://doc.libsodium.org/"),
    ("RFC 8032", "https://www.rfc-editor.org/rfc/rfc8032"),
];

/// `s` escaped for HTML text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `s` escaped for HTML text (not attributes): quotes stay as they are, which keeps JSON short.
pub fn escape_text(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A rule's `spec` as HTML: each `;`-separated source linked when [`SPEC_SOURCES`] knows it.
pub fn spec_html(spec: &str) -> String {
    spec.split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(
            |part| match SPEC_SOURCES.iter().find(|(name, _)| part.starts_with(name)) {
                Some((_, url)) => format!("<a href=\"{url}\">{}</a>", escape(part)),
                None => escape(part),
            },
        )
        .collect::<Vec<_>>()
        .join("; ")
}

const STYLE: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#1d232a;background:#fbfbfa}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:2em;border-bottom:2px solid #d9dde2;padding-bottom:.2em}
h3{margin:1.4em 0 .4em}
table{border-collapse:collapse;width:100%;margin:.5em 0 1em}
th,td{border:1px solid #d9dde2;padding:.3em .55em;text-align:left;vertical-align:top}
th{background:#eef1f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
.meta{color:#56606b}.meta code{background:#eef1f4;padding:0 .25em;border-radius:3px}
.pass{color:#13703a}.fail{color:#b3261e;font-weight:600}.deviation{color:#8a5a00}.unsupported,.skipped{color:#6b7380}
tr.fail td{background:#fdecea}tr.deviation td{background:#fff6e0}tr.skipped td,tr.unsupported td{background:#f2f3f5}
.badge{display:inline-block;min-width:7em;font-weight:600}
.totals span{margin-right:1.5em;font-size:1.1em}
details{border:1px solid #d9dde2;border-radius:4px;margin:.35em 0;background:#fff}
details>summary{cursor:pointer;padding:.35em .6em}
details[open]>summary{border-bottom:1px solid #d9dde2}
details .body{padding:.4em .8em}
pre{white-space:pre-wrap;word-break:break-all;background:#f4f6f8;padding:.5em;border-radius:3px;margin:.2em 0 .6em;font-size:12.5px}
dt{font-weight:600;margin-top:.3em}dd{margin-left:0}
a{color:#0b57d0}
";

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Pass => "pass",
        Status::Fail => "fail",
        Status::Deviation => "deviation",
        Status::Unsupported => "unsupported",
    }
}

/// Strings of passing cases longer than this are cut (the page stays small; the vector file
/// has every value).
const BRIEF: usize = 40;

/// Arrays of passing cases longer than this are cut likewise.
const BRIEF_ITEMS: usize = 4;

/// `v` with every string longer than [`BRIEF`] cut to its start and its length, and every array
/// longer than [`BRIEF_ITEMS`] to its first entries and its length.
fn brief(v: &Value) -> Value {
    match v {
        Value::String(s) if s.chars().count() > BRIEF => Value::String(format!(
            "{}…({} chars)",
            s.chars().take(BRIEF).collect::<String>(),
            s.chars().count()
        )),
        Value::Array(a) if a.len() > BRIEF_ITEMS => {
            let mut out: Vec<Value> = a[..BRIEF_ITEMS].iter().map(brief).collect();
            out.push(Value::String(format!("…({} entries)", a.len())));
            Value::Array(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(brief).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), brief(x))).collect()),
        other => other.clone(),
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).expect("JSON")
}

fn suite_counts(s: &SuiteResult) -> [usize; 4] {
    [
        s.count(Status::Pass),
        s.count(Status::Fail),
        s.count(Status::Deviation),
        s.count(Status::Unsupported),
    ]
}

fn summary_table(h: &mut String, report: &Report<'_>) {
    h.push_str("<table><tr><th>suite</th><th>cases</th><th>pass</th><th>fail</th><th>documented deviation</th><th>unsupported</th><th>pass %</th></tr>\n");
    for s in report.suites {
        if let Some(why) = &s.skipped {
            let _ = writeln!(
                h,
                "<tr class=\"skipped\"><td><a href=\"#suite-{0}\">{0}</a></td><td colspan=\"6\" class=\"skipped\">skipped: {1}</td></tr>",
                escape(&s.suite),
                escape(why)
            );
            continue;
        }
        let [p, f, d, u] = suite_counts(s);
        let total = s.cases.len();
        let pct = if total == 0 {
            0.0
        } else {
            100.0 * p as f64 / total as f64
        };
        let class = if f > 0 { "fail" } else { "pass" };
        let _ = writeln!(
            h,
            "<tr class=\"{class}\"><td><a href=\"#suite-{0}\">{0}</a></td><td class=\"n\">{total}</td><td class=\"n\">{p}</td><td class=\"n\">{f}</td><td class=\"n\">{d}</td><td class=\"n\">{u}</td><td class=\"n\">{pct:.1}</td></tr>",
            escape(&s.suite)
        );
    }
    h.push_str("</table>\n");
}

fn rules_matrix(h: &mut String, report: &Report<'_>, s: &SuiteResult) {
    let rows: Vec<_> = report
        .rules
        .rules
        .iter()
        .filter(|r| r.suite == s.suite)
        .map(|r| {
            let cases: Vec<&CaseResult> = s.cases.iter().filter(|c| c.rule == r.id).collect();
            (r, cases)
        })
        .filter(|(_, cases)| !cases.is_empty())
        .collect();
    if rows.is_empty() {
        return;
    }
    h.push_str("<table><tr><th>rule</th><th>statement</th><th>spec</th><th>cases</th><th>pass</th><th>fail</th><th>deviation</th><th>unsupported</th></tr>\n");
    for (r, cases) in rows {
        let n = |st: Status| cases.iter().filter(|c| c.status == st).count();
        let class = if n(Status::Fail) > 0 {
            "fail"
        } else if n(Status::Deviation) > 0 {
            "deviation"
        } else if n(Status::Unsupported) == cases.len() {
            "unsupported"
        } else {
            "pass"
        };
        let _ = writeln!(
            h,
            "<tr class=\"{class}\"><td id=\"rule-{id}\"><code>{id}</code></td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(&r.statement),
            spec_html(&r.spec),
            cases.len(),
            n(Status::Pass),
            n(Status::Fail),
            n(Status::Deviation),
            n(Status::Unsupported),
            id = escape(&r.id),
        );
    }
    h.push_str("</table>\n");
}

fn case_block(h: &mut String, c: &CaseResult) {
    let full = c.status != Status::Pass;
    let show = |v: &Value| {
        if full {
            pretty(v)
        } else {
            serde_json::to_string(&brief(v)).expect("JSON")
        }
    };
    let word = status_word(c.status);
    let _ = writeln!(
        h,
        "<details id=\"case-{id}\"{open}><summary><span class=\"badge {word}\">{word}</span><code>{id}</code> {}</summary><div class=\"body\"><dl>",
        escape(&c.comment),
        id = escape(&c.id),
        open = if full { " open" } else { "" },
    );
    let _ = writeln!(
        h,
        "<dt>rule</dt><dd><a href=\"#rule-{0}\"><code>{0}</code></a>; flags: {1}</dd>",
        escape(&c.rule),
        escape(&c.flags.join(", "))
    );
    if !c.reason.is_empty() {
        let _ = writeln!(h, "<dt>why</dt><dd><pre>{}</pre></dd>", escape_text(&c.reason));
    }
    let request = serde_json::json!({"op": c.op, "args": c.input});
    let _ = writeln!(
        h,
        "<dt>request</dt><dd><pre>{}</pre></dd>",
        escape_text(&show(&request))
    );
    let _ = writeln!(
        h,
        "<dt>expected</dt><dd><pre>{}</pre></dd>",
        escape_text(&show(&c.expected))
    );
    let _ = writeln!(
        h,
        "<dt>response</dt><dd><pre>{}</pre></dd>",
        escape_text(&show(&c.actual))
    );
    h.push_str("</dl></div></details>\n");
}

/// The page for `report`.
pub fn render(report: &Report<'_>) -> String {
    let mut h = String::new();
    let title = format!("Conformance report: {}", report.adapter);
    let _ = writeln!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>",
        escape(&title)
    );
    let _ = writeln!(h, "<h1>{}</h1>", escape(&title));
    let _ = writeln!(
        h,
        "<p class=\"meta\">Implementation <code>{}</code><br>Vectors: <code>{}</code><br>Generated by <code>ssb-harness check</code> {}</p>",
        escape(&report.capabilities.to_string()),
        escape(&report.vectors),
        env!("CARGO_PKG_VERSION")
    );
    let all = report.suites.iter().flat_map(|s| &s.cases);
    let n = |st: Status| all.clone().filter(|c| c.status == st).count();
    let skipped = report.suites.iter().filter(|s| s.skipped.is_some()).count();
    let _ = writeln!(
        h,
        "<p class=\"totals\"><span class=\"pass\">{} pass</span><span class=\"{}\">{} fail</span><span class=\"deviation\">{} documented deviations</span><span class=\"unsupported\">{} unsupported</span><span class=\"skipped\">{skipped} suites skipped</span></p>",
        n(Status::Pass),
        if n(Status::Fail) > 0 { "fail" } else { "pass" },
        n(Status::Fail),
        n(Status::Deviation),
        n(Status::Unsupported)
    );
    summary_table(&mut h, report);
    for s in report.suites {
        let _ = writeln!(h, "<h2 id=\"suite-{0}\">{0}</h2>", escape(&s.suite));
        if let Some(why) = &s.skipped {
            let _ = writeln!(h, "<p class=\"skipped\">Skipped: {}</p>", escape(why));
            continue;
        }
        rules_matrix(&mut h, report, s);
        let _ = writeln!(h, "<h3>Cases ({})</h3>", s.cases.len());
        // Cases that need attention first, then the passing ones, each in vector order.
        for st in [Status::Fail, Status::Deviation, Status::Unsupported, Status::Pass] {
            for c in s.cases.iter().filter(|c| c.status == st) {
                case_block(&mut h, c);
            }
        }
    }
    h.push_str("</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_links_known_sources_only() {
        let h = spec_html("protocol guide, Box stream; DESIGN.md <notes>");
        assert!(h.starts_with(
            "<a href=\"https://ssbc.github.io/scuttlebutt-protocol-guide/\">protocol guide, Box stream</a>; "
        ));
        assert!(h.ends_with("DESIGN.md &lt;notes&gt;"), "{h}");
    }

    #[test]
    fn every_rule_spec_renders() {
        // Every spec names at least one source; the ones we link must be most of them.
        let rules = crate::rules::Rules::builtin();
        let linked = rules
            .rules
            .iter()
            .filter(|r| spec_html(&r.spec).contains("<a href="))
            .count();
        assert!(
            linked * 10 >= rules.rules.len() * 8,
            "{linked} of {} specs linked",
            rules.rules.len()
        );
    }
}
