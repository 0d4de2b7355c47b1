//! JUnit XML (`check --junit FILE`) for CI systems that show test results: one `<testsuite>` per
//! vector suite and one `<testcase>` per case (`classname` is `ssb.<suite>.<rule>`). A failing
//! case carries `<failure>` with its reason, input, expected and actual values; an unsupported
//! case, or the single case standing for a skipped suite, carries `<skipped>`; a documented
//! deviation passes, with the documented reason in `<system-out>`. The layout follows the common
//! JUnit schema (Ant/Surefire style, as read by Jenkins, GitLab and others); no timestamps, so one
//! run writes the same bytes.

use std::fmt::Write as _;

use crate::report::Report;
use crate::runner::{CaseResult, Status};

/// `s` escaped for an XML attribute or text node. Characters XML 1.0 cannot hold (controls other
/// than tab, newline and carriage return) become `\u{..}` text.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(ch),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn detail(c: &CaseResult) -> String {
    let mut d = String::new();
    let _ = writeln!(d, "{}", c.reason);
    let _ = writeln!(d, "rule: {}", c.rule);
    let _ = writeln!(d, "flags: {}", c.flags.join(", "));
    let _ = writeln!(d, "request: {}", serde_json::json!({"op": c.op, "args": c.input}));
    let _ = writeln!(d, "expected: {}", c.expected);
    let _ = writeln!(d, "actual: {}", c.actual);
    d
}

fn testcase(xml: &mut String, suite: &str, c: &CaseResult) {
    let name = if c.comment.is_empty() {
        c.id.clone()
    } else {
        format!("{}: {}", c.id, c.comment)
    };
    let _ = write!(
        xml,
        "    <testcase name=\"{}\" classname=\"{}\" time=\"0\"",
        escape(&name),
        escape(&format!("ssb.{suite}.{}", c.rule))
    );
    let first_line = c.reason.lines().next().unwrap_or("");
    match c.status {
        Status::Pass => xml.push_str("/>\n"),
        Status::Fail => {
            let _ = write!(
                xml,
                ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
                escape(first_line),
                escape(&c.rule),
                escape(&detail(c))
            );
        }
        Status::Unsupported => {
            let _ = write!(
                xml,
                ">\n      <skipped message=\"unsupported: {}\"/>\n    </testcase>\n",
                escape(first_line)
            );
        }
        Status::Deviation => {
            let _ = write!(
                xml,
                ">\n      <system-out>documented deviation: {}</system-out>\n    </testcase>\n",
                escape(&c.reason)
            );
        }
    }
}

/// The JUnit XML document of `report`.
pub fn render(report: &Report<'_>) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total: usize = report
        .suites
        .iter()
        .map(|s| if s.skipped.is_some() { 1 } else { s.cases.len() })
        .sum();
    let _ = writeln!(
        xml,
        "<testsuites name=\"{}\" tests=\"{total}\" failures=\"{}\" errors=\"0\" time=\"0\">",
        escape(&format!("ssb-harness check: {}", report.adapter)),
        report.failures()
    );
    for s in report.suites {
        let (tests, skipped) = match &s.skipped {
            Some(_) => (1, 1),
            None => (s.cases.len(), s.count(Status::Unsupported)),
        };
        let _ = writeln!(
            xml,
            "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{}\" errors=\"0\" skipped=\"{skipped}\" time=\"0\">",
            escape(&s.suite),
            s.count(Status::Fail)
        );
        let _ = writeln!(
            xml,
            "    <properties>\n      <property name=\"adapter\" value=\"{}\"/>\n      <property name=\"vectors\" value=\"{}\"/>\n    </properties>",
            escape(&report.adapter),
            escape(&report.vectors)
        );
        match &s.skipped {
            Some(why) => {
                let _ = writeln!(
                    xml,
                    "    <testcase name=\"{}\" classname=\"ssb.{}\" time=\"0\">\n      <skipped message=\"suite skipped: {}\"/>\n    </testcase>",
                    escape(&s.suite),
                    escape(&s.suite),
                    escape(why)
                );
            }
            None => {
                for c in &s.cases {
                    testcase(&mut xml, &s.suite, c);
                }
            }
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_keeps_xml_well_formed() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(escape("tab\tnl\n"), "tab\tnl\n");
        assert_eq!(escape("nul\u{0}bell\u{7}"), "nul\\u{0}bell\\u{7}");
        assert_eq!(escape("é✓"), "é✓");
    }
}
