//! Findings from a pickle analysis, judged by the global policy.

#[cfg(test)]
use aigate_pickle::Invocations;
use aigate_pickle::{Analysis, Encoding, GlobalUse, Limit, Stop, UnresolvedKind};
use aigate_report::{Finding, Location, Severity, Step};

use crate::globals::{GlobalPolicy, Uses, Verdict};
use crate::rules::*;
use crate::source::over_limit_message;

/// How a pickle is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// A loader unpickles it.
    Loaded,
    /// It sits inside another pickle's payload: only a second stage would load it.
    Embedded,
    /// It sits where loaders expect raw data: reported only if it has code paths.
    RawData,
    /// PyTorch's C++ unpickler reads it (a TorchScript archive): TorchScript's own types are
    /// resolved without Python.
    TorchScript,
}

/// The uses a pickle makes of a global: imported, and every way it is invoked
/// (aigate-pickle counts each kind), so a class instantiated with `NEWOBJ` and later called with
/// arguments by `REDUCE` is judged for both.
pub(crate) fn uses_of(g: &GlobalUse) -> Uses {
    let by = &g.invoked_by;
    let mut uses = Uses::IMPORT;
    if by.called() {
        uses = uses | Uses::CALL;
    }
    if by.newobj > 0 {
        uses = uses | Uses::NEW;
    }
    if by.build > 0 {
        uses = uses | Uses::BUILD;
    }
    uses
}

/// `calls with arguments (REDUCE, INST, OBJ)` and the like, for a finding's message.
fn describe_uses(uses: Uses) -> String {
    let mut parts = Vec::new();
    if uses.contains(Uses::CALL) {
        parts.push("calls it with arguments (REDUCE, INST or OBJ)");
    }
    if uses.contains(Uses::NEW) {
        parts.push("instantiates it (NEWOBJ)");
    }
    if uses.contains(Uses::BUILD) {
        parts.push("sets its state (BUILD)");
    }
    if parts.is_empty() {
        parts.push("imports it");
    }
    parts.join(" and ")
}

/// Appends the findings of `analysis` at `loc`.
pub(crate) fn pickle_findings(
    analysis: &Analysis,
    loc: &Location,
    policy: &GlobalPolicy,
    reach: Reach,
    decoded: bool,
    out: &mut Vec<Finding>,
) {
    let unreadable = matches!(analysis.stop, Some(Stop::Io { .. }));
    if reach == Reach::RawData && !analysis.has_code_paths() && !unreadable {
        return;
    }
    let cap = |sev: Severity| match reach {
        Reach::Embedded => sev.min(Severity::High),
        _ => sev,
    };
    for g in &analysis.globals {
        let verb = if g.calls > 0 { "calls" } else { "imports" };
        let at = g.first_call.map_or(g.offset, |(offset, _)| offset);
        let opcode = g.first_call.map_or(g.opcode, |(_, op)| op);
        let finding = match policy.judge_use(&g.module, &g.name, uses_of(g)) {
            Verdict::Safe => continue,
            Verdict::Unadmitted { admitted, used } => Finding::new(
                &PICKLE_UNKNOWN_GLOBAL,
                format!(
                    "{verb} {}, which the allowlist admits only for {admitted}: the pickle {}",
                    g.dotted(),
                    describe_uses(used)
                ),
                loc.at(at),
            ),
            Verdict::Unsafe { reason } => Finding::new(
                &PICKLE_UNSAFE_GLOBAL,
                format!("{verb} {} ({reason})", g.dotted()),
                loc.at(at),
            ),
            Verdict::Unknown => Finding::new(
                &PICKLE_UNKNOWN_GLOBAL,
                format!("{verb} {}, which is not on the allowlist", g.dotted()),
                loc.at(at),
            ),
        };
        let severity = cap(finding.severity);
        out.push(
            finding
                .with_severity(severity)
                .with_detail("global", g.dotted())
                .with_detail("opcode", opcode)
                .with_detail("imports", g.imports.to_string())
                .with_detail("calls", g.calls.to_string()),
        );
    }
    for u in &analysis.unresolved {
        let rule = match u.kind {
            UnresolvedKind::Call => &PICKLE_INDIRECT_CALL,
            UnresolvedKind::Import => &PICKLE_DYNAMIC_IMPORT,
            UnresolvedKind::Extension => &PICKLE_EXTENSION_CODE,
            UnresolvedKind::GlobalMutation => &PICKLE_GLOBAL_MUTATION,
        };
        out.push(
            Finding::new(rule, u.what.clone(), loc.at(u.offset))
                .with_severity(cap(rule.severity))
                .with_detail("opcode", u.opcode),
        );
    }
    for e in &analysis.embedded {
        let encoding = match e.encoding {
            Encoding::Raw => "raw",
            Encoding::Base64 => "base64",
            Encoding::Hex => "hex",
            Encoding::Latin1 => "latin-1 text",
        };
        let inner = loc.step(Step::Embedded {
            encoding: encoding.to_owned(),
            offset: e.offset,
        });
        let before = out.len();
        pickle_findings(&e.analysis, &inner, policy, Reach::Embedded, false, out);
        if !out[before..].iter().any(|f| f.severity > Severity::Info) {
            out.push(
                Finding::new(
                    &PICKLE_EMBEDDED,
                    format!(
                        "a {} byte payload is an embedded pickle ({encoding}); nothing it imports is unsafe",
                        e.len
                    ),
                    loc.at(e.offset),
                )
                .with_detail("encoding", encoding),
            );
        }
    }
    match &analysis.stop {
        None => {}
        Some(Stop::Malformed { offset, message }) => out.push(Finding::new(
            &PICKLE_MALFORMED,
            format!("not a valid pickle from offset {offset}: {message}"),
            loc.at(*offset),
        )),
        Some(Stop::Limit {
            limit,
            value,
            offset,
        }) => out.push(
            Finding::new(
                &PICKLE_BUDGET_EXCEEDED,
                format!(
                    "analysis stopped at offset {offset}: the {} limit of {value} was reached; the rest was not analysed",
                    limit.as_str()
                ),
                loc.at(*offset),
            )
            .with_detail("limit", limit.as_str()),
        ),
        Some(Stop::Io { message }) => {
            let (rule, text) = match over_limit_message(message) {
                true => (
                    &CONTAINER_BUDGET_EXCEEDED,
                    format!("analysis stopped after {} bytes: {message}", analysis.bytes),
                ),
                false if decoded => (
                    &COMPRESSION_CORRUPT,
                    format!("the stream cannot be decoded after {} bytes: {message}", analysis.bytes),
                ),
                false => (
                    &PICKLE_MALFORMED,
                    format!("reading failed after {} bytes: {message}", analysis.bytes),
                ),
            };
            out.push(Finding::new(rule, text, loc.at(analysis.bytes)));
        }
    }
    if let Some(offset) = analysis.budget_spent {
        out.push(
            Finding::new(
                &PICKLE_BUDGET_EXCEEDED,
                format!(
                    "from offset {offset} the values are more than the kept-bytes limit allows: names built from values not kept are not known (nothing is concluded from them)"
                ),
                loc.at(offset),
            )
            .with_detail("limit", Limit::KeptBytes.as_str()),
        );
    }
    if let Some(offset) = analysis.trailing {
        out.push(Finding::new(
            &PICKLE_TRAILING_DATA,
            format!("the bytes after the last pickle, from offset {offset}, are not a pickle"),
            loc.at(offset),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn used(reduce: u32, inst: u32, newobj: u32, build: u32) -> Uses {
        let invoked_by = Invocations {
            reduce,
            inst,
            newobj,
            build,
        };
        uses_of(&GlobalUse {
            module: "m".into(),
            name: "n".into(),
            offset: 0,
            opcode: "GLOBAL",
            imports: 1,
            calls: invoked_by.total(),
            first_call: None,
            invoked_by,
        })
    }

    #[test]
    fn a_global_invoked_once_is_used_as_its_opcode_says() {
        assert_eq!(used(0, 0, 0, 0), Uses::IMPORT);
        assert_eq!(used(0, 0, 1, 0), Uses::IMPORT | Uses::NEW);
        assert_eq!(used(0, 0, 0, 1), Uses::IMPORT | Uses::BUILD);
        assert_eq!(used(1, 0, 0, 0), Uses::IMPORT | Uses::CALL);
        assert_eq!(used(0, 1, 0, 0), Uses::IMPORT | Uses::CALL);
    }

    #[test]
    fn a_global_invoked_in_several_ways_is_judged_for_every_way() {
        assert_eq!(used(0, 0, 5, 5), Uses::IMPORT | Uses::NEW | Uses::BUILD);
        assert_eq!(used(1, 0, 7, 0), Uses::IMPORT | Uses::NEW | Uses::CALL);
    }
}
