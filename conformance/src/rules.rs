//! The rule registry (`conformance/rules.toml`): each check names the protocol rule it enforces,
//! with a one-line statement and a pointer to the spec, so a report reads as a compliance matrix.

use serde::Deserialize;

/// The registry, compiled into the binary.
pub const RULES_TOML: &str = include_str!("../rules.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub suite: String,
    /// Flags a case must all carry.
    #[serde(default)]
    pub all: Vec<String>,
    /// Flags of which a case must carry at least one (when not empty).
    #[serde(default)]
    pub any: Vec<String>,
    pub statement: String,
    pub spec: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    #[serde(rename = "rule")]
    pub rules: Vec<Rule>,
}

impl Rules {
    pub fn builtin() -> Self {
        toml::from_str(RULES_TOML).expect("conformance/rules.toml is checked by a test")
    }

    /// The id of the rule a case checks (`?` if none matches, which a test forbids for our
    /// vector files).
    pub fn rule_for(&self, suite: &str, flags: &[String]) -> &str {
        self.rules
            .iter()
            .find(|r| {
                r.suite == suite
                    && r.all.iter().all(|f| flags.contains(f))
                    && (r.any.is_empty() || r.any.iter().any(|f| flags.contains(f)))
            })
            .map(|r| r.id.as_str())
            .unwrap_or("?")
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}
