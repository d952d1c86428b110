//! The rules every declared source follows, applied by every command that reads sources.

use aigate_fetch::source::check_declared;
use aigate_report::{Finding, Location, Span};

use crate::settings::Settings;

/// A warning when `aigate.toml` declares nothing: a gate over nothing must not pass silently.
pub fn nothing_declared(settings: &Settings) -> Option<Finding> {
    if !settings.config.artifacts().is_empty() {
        return None;
    }
    let path = settings
        .config_path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let mut finding = Finding::new(
        &crate::registry::CONFIG_NO_ARTIFACTS,
        "aigate.toml declares no model or dataset; there is nothing to pin or verify",
        Location::file(path),
    );
    finding.level = Some(aigate_report::Level::Warn);
    Some(finding)
}

/// A finding for each declared source that breaks a rule, at its line in `aigate.toml`.
pub fn check(settings: &Settings) -> Vec<Finding> {
    let text = &settings.config_text;
    let config_name = settings
        .config_path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let pinned = settings.config.sources.require_pinned_revision;
    let mut out = Vec::new();
    for (kind, decl) in settings.config.artifacts() {
        let Some(source) = &decl.source else { continue };
        for problem in check_declared(source.get_ref(), pinned) {
            let span = source.span();
            out.push(
                Finding::new(
                    problem.rule,
                    format!(
                        "{} {}: {}",
                        kind.as_str(),
                        decl.name.get_ref(),
                        problem.message
                    ),
                    Location::file(config_name.clone())
                        .with_span(Span::of_bytes(text, span.start, span.end)),
                )
                .with_detail("artifact", decl.name.get_ref().clone()),
            );
        }
    }
    out
}
