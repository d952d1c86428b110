//! Every rule of every crate, in one list: the renderers, the SARIF rule table, `[rules]`
//! validation and the docs test all read it.

use aigate_report::Rule;

aigate_report::rules! {
    /// The rules the binary itself reports, about the configuration.
    CONFIG_RULES;
    CONFIG_UNUSED_ENTRY = "config-unused-entry", Low,
        "an entry of aigate.toml matched nothing in this run",
        "remove the entry if it is stale; it is reported so that settings cannot outlive their reason unnoticed";
    CONFIG_NOT_TRUSTED = "config-not-trusted", Low,
        "the aigate.toml found beside the files is not trusted, so its settings that relax checks ([scan] allow, a higher [scan] fail-on, [rules] allow or warn) were ignored",
        "a downloaded model cannot configure its own scan; if the configuration is yours, run `aigate trust` once (editing it withdraws the trust), or name it with --config";
    CONFIG_NO_ARTIFACTS = "config-no-artifacts", Low,
        "aigate.toml declares no model or dataset, so there is nothing to pin or verify",
        "declare what the project uses with [[model]] and [[dataset]] entries (name, path)";
}

/// Rules a `[rules]` entry may raise to `deny` but never relax: the built-in denylist always
/// wins, and a failed analysis is never a pass.
pub const NOT_RELAXABLE: &[&str] = &["pickle-unsafe-global", "internal-error"];

/// Every rule aigate reports, each once.
pub fn all() -> Vec<&'static Rule> {
    aigate_report::COMMON_RULES
        .iter()
        .chain(aigate_scan::RULES)
        .chain(aigate_integrity::RULES)
        .chain(aigate_fetch::RULES)
        .chain(aigate_attest::RULES)
        .chain(aigate_policy::RULES)
        .chain(aigate_policy::DIFF_RULES)
        .chain(aigate_advisory::RULES)
        .chain(aigate_sbom::RULES)
        .chain(aigate_sbom::COMPLETENESS_RULES)
        .chain(CONFIG_RULES)
        .collect()
}

/// The rule with exactly this id.
pub fn get(id: &str) -> Option<&'static Rule> {
    static BY_ID: std::sync::OnceLock<std::collections::HashMap<&'static str, &'static Rule>> =
        std::sync::OnceLock::new();
    BY_ID
        .get_or_init(|| all().into_iter().map(|r| (r.id, r)).collect())
        .get(id)
        .copied()
}

/// The rule id closest to `id` by edit distance, when it is close enough to be a typo.
pub fn closest(id: &str) -> Option<&'static str> {
    all()
        .into_iter()
        .map(|r| (edit_distance(id, r.id), r.id))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, id)| id)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique() {
        let mut ids: Vec<&str> = all().iter().map(|r| r.id).collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }

    /// `docs/rules.md` has exactly one `## id` section per rule, found by exact id, stating
    /// the rule's default severity.
    #[test]
    fn every_rule_is_documented_and_every_documented_rule_exists() {
        let docs = include_str!("../../../docs/rules.md");
        let sections: Vec<(&str, &str)> = docs
            .split("\n## ")
            .skip(1)
            .map(|s| s.split_once('\n').unwrap_or((s, "")))
            .map(|(id, body)| (id.trim(), body))
            .collect();
        let documented: Vec<&str> = sections.iter().map(|(id, _)| *id).collect();
        for rule in all() {
            let matching: Vec<&&str> = sections
                .iter()
                .filter(|(id, _)| *id == rule.id)
                .map(|(_, body)| body)
                .collect();
            assert_eq!(matching.len(), 1, "docs/rules.md sections for {}", rule.id);
            let sev = rule.severity.as_str();
            let stated = format!("**{}{}.**", sev[..1].to_uppercase(), &sev[1..]);
            assert!(
                matching[0].contains(&stated),
                "{}: docs do not state severity {stated}",
                rule.id
            );
            assert!(
                rule.id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{} is not kebab-case",
                rule.id
            );
        }
        let stale: Vec<&&str> = documented.iter().filter(|id| get(id).is_none()).collect();
        assert!(
            stale.is_empty(),
            "docs/rules.md documents unknown rules: {stale:?}"
        );
    }

    #[test]
    fn lookups_are_exact_and_typos_are_near() {
        assert_eq!(
            get("pickle-malformed").map(|r| r.id),
            Some("pickle-malformed")
        );
        assert!(get("pickle-malform").is_none());
        assert_eq!(closest("pickle-malfromed"), Some("pickle-malformed"));
        assert_eq!(closest("completely-different-thing"), None);
    }
}
