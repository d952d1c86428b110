//! Rules as values: the id findings carry, the default severity, and the words a user needs;
//! and the levels a user may give a rule in `aigate.toml` (`[rules]`), as cargo-deny's
//! diagnostic overrides do.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Severity;

/// A rule: the id findings carry, its default severity, and the words a user needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Stable kebab-case id.
    pub id: &'static str,
    /// The severity findings of this rule carry unless a check says otherwise.
    pub severity: Severity,
    /// One line: what was found.
    pub summary: &'static str,
    /// What to do about it.
    pub help: &'static str,
}

/// Declares one constant [`Rule`] per rule and a table of them, so that ids, severities and
/// help texts are written once:
///
/// ```
/// aigate_report::rules! {
///     /// Every rule of this check.
///     RULES;
///     FOO_FOUND = "foo-found", High, "a foo was found", "remove the foo";
/// }
/// assert_eq!(RULES[0].id, FOO_FOUND.id);
/// let finding = aigate_report::Finding::new(&FOO_FOUND, "foo at 3", aigate_report::Location::file("x"));
/// assert_eq!(finding.severity, aigate_report::Severity::High);
/// ```
#[macro_export]
macro_rules! rules {
    ($(#[$table_doc:meta])* $table:ident; $($konst:ident = $id:literal, $sev:ident, $summary:literal, $help:literal;)*) => {
        $(
            #[doc = concat!("`", $id, "`: ", $summary)]
            pub const $konst: $crate::Rule = $crate::Rule {
                id: $id,
                severity: $crate::Severity::$sev,
                summary: $summary,
                help: $help,
            };
        )*
        $(#[$table_doc])*
        pub const $table: &[$crate::Rule] = &[$($konst,)*];
    };
}

rules! {
    /// Rules every command may report.
    COMMON_RULES;
    INTERNAL_ERROR = "internal-error", High,
        "aigate failed while analysing this input (a bug), so nothing is known about it",
        "treat the input as unchecked; please report the bug with the input if you can share it";
}

/// What a `[rules]` entry makes of a rule.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Not reported; counted as suppressed.
    Allow,
    /// Reported, never fails the run.
    Warn,
    /// Reported, and fails the run whatever its severity and the threshold.
    Deny,
}

impl Level {
    /// The lower-case word.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Allow => "allow",
            Level::Warn => "warn",
            Level::Deny => "deny",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The error returned when a string names no level.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown level `{0}` (expected one of: allow, warn, deny)")]
pub struct UnknownLevel(pub String);

impl FromStr for Level {
    type Err = UnknownLevel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Level::Allow, Level::Warn, Level::Deny]
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownLevel(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse() {
        assert_eq!("deny".parse::<Level>(), Ok(Level::Deny));
        assert!("forbid".parse::<Level>().is_err());
    }

    #[test]
    fn the_macro_makes_values_and_a_table() {
        assert_eq!(COMMON_RULES, &[INTERNAL_ERROR]);
        assert_eq!(INTERNAL_ERROR.severity, Severity::High);
    }
}
