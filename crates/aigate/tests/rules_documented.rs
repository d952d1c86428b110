//! Every rule id is unique, kebab-case and documented in `docs/rules.md`, and every rule
//! documented there exists.

use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn rule_ids_are_unique_documented_and_not_stale() {
    let rules: Vec<_> = aigate_scan::RULES
        .iter()
        .chain(aigate_integrity::RULES)
        .collect();
    let ids: BTreeSet<&str> = rules.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), rules.len(), "duplicate rule ids");
    for id in &ids {
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{id} is not kebab-case"
        );
    }
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/rules.md"))
            .unwrap_or_else(|e| panic!("docs/rules.md: {e}"));
    let documented: BTreeSet<&str> = docs
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(str::trim)
        .collect();
    let undocumented: Vec<_> = ids.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&ids).collect();
    assert!(
        undocumented.is_empty(),
        "rules missing from docs/rules.md: {undocumented:?}"
    );
    assert!(
        stale.is_empty(),
        "docs/rules.md documents unknown rules: {stale:?}"
    );
    for rule in &rules {
        let section = docs
            .split("\n## ")
            .find(|s| s.starts_with(rule.id))
            .unwrap_or_default();
        let severity = format!(
            "**{}{}.**",
            rule.severity.as_str()[..1].to_uppercase(),
            &rule.severity.as_str()[1..]
        );
        assert!(
            section.contains(&severity),
            "{}: docs do not state severity {severity}",
            rule.id
        );
    }
}
