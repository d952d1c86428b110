//! Whether a version is affected, by the OSV schema's evaluation rules
//! (<https://ossf.github.io/osv-schema/#evaluation>), over PEP 440 versions:
//!
//! - a version listed in `versions` is affected (compared as PEP 440 versions, so `1.0` is `1.0.0`;
//!   an entry that is no PEP 440 version is compared as text);
//! - in each `ECOSYSTEM` range, the events are sorted by version (`introduced: "0"` first), then
//!   walked: at or above an `introduced` the version is affected, at or above a `fixed` or above a
//!   `last_affected` it is not, until a later `introduced`; when the range has `limit` events the
//!   version must also be below one of them (`"*"` is no limit);
//! - other range types were dropped when the record was read, so they never stop later ranges.
//!
//! PEP 440 ordering (epochs, pre-, post- and dev-releases, local versions such as `+cu118`) is
//! `pep440_rs`'s, the same `aigate-python` reads versions with.

use std::cmp::Ordering;

use aigate_python::pep::{Version, parse_version};

use crate::osv::{Affected, Event};

/// What matching one `affected` entry against one version says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Affected; with the `fixed` versions above the installed one in the ranges that matched.
    Affected {
        /// Fixed versions above the installed one, smallest first.
        fixes: Vec<Version>,
    },
    /// Not affected.
    NotAffected,
    /// A range could not be evaluated (an event version is no PEP 440 version), and no other
    /// part of the entry says the version is affected.
    Unknown(String),
}

/// A version bound as events name it: `"0"` is below every version, `"*"` above.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Bound {
    Zero,
    At(Version),
    Infinity,
}

impl Bound {
    fn of(event: &Event) -> Result<Bound, String> {
        match (event, event.version().trim()) {
            (Event::Introduced(_), "0") => Ok(Bound::Zero),
            (Event::Limit(_), "*") => Ok(Bound::Infinity),
            (_, v) => parse_version(v)
                .map(Bound::At)
                .map_err(|e| format!("`{v}` is no PEP 440 version ({e})")),
        }
    }

    fn cmp_version(&self, v: &Version) -> Ordering {
        match self {
            Bound::Zero => Ordering::Less,
            Bound::Infinity => Ordering::Greater,
            Bound::At(b) => b.cmp(v),
        }
    }

    fn sort_key_cmp(&self, other: &Bound) -> Ordering {
        match (self, other) {
            (Bound::Zero, Bound::Zero) | (Bound::Infinity, Bound::Infinity) => Ordering::Equal,
            (Bound::Zero, _) | (_, Bound::Infinity) => Ordering::Less,
            (_, Bound::Zero) | (Bound::Infinity, _) => Ordering::Greater,
            (Bound::At(a), Bound::At(b)) => a.cmp(b),
        }
    }
}

/// Whether `version` is in one range of `events`; `Err` when an event does not parse.
pub fn in_range(version: &Version, events: &[Event]) -> Result<bool, String> {
    let mut sorted: Vec<(Bound, &Event)> = events
        .iter()
        .map(|e| Bound::of(e).map(|b| (b, e)))
        .collect::<Result<_, _>>()?;
    // Stable: events at the same version keep the record's order.
    sorted.sort_by(|a, b| a.0.sort_key_cmp(&b.0));
    let limits: Vec<&Bound> = sorted
        .iter()
        .filter(|(_, e)| matches!(e, Event::Limit(_)))
        .map(|(b, _)| b)
        .collect();
    if !limits.is_empty()
        && !limits
            .iter()
            .any(|l| l.cmp_version(version) == Ordering::Greater)
    {
        return Ok(false);
    }
    let mut affected = false;
    for (bound, event) in &sorted {
        let vs = bound.cmp_version(version); // bound compared to version
        match event {
            Event::Introduced(_) if vs != Ordering::Greater => affected = true,
            Event::Fixed(_) if vs != Ordering::Greater => affected = false,
            Event::LastAffected(_) if vs == Ordering::Less => affected = false,
            _ => {}
        }
    }
    Ok(affected)
}

/// Matches one `affected` entry against `version`.
pub fn check(affected: &Affected, version: &Version) -> Verdict {
    let text = version.to_string();
    let mut listed = affected.versions.iter().any(|v| match parse_version(v) {
        Ok(parsed) => parsed == *version,
        Err(_) => v.trim() == text,
    });
    let mut fixes = Vec::new();
    let mut unknown = None;
    for range in &affected.ranges {
        match in_range(version, &range.events) {
            Ok(true) => {
                listed = true;
                fixes.extend(range.events.iter().filter_map(|e| match e {
                    Event::Fixed(v) => parse_version(v).ok().filter(|f| f > version),
                    _ => None,
                }));
            }
            Ok(false) => {}
            Err(why) => unknown = Some(why),
        }
    }
    if listed {
        fixes.sort();
        fixes.dedup();
        Verdict::Affected { fixes }
    } else if let Some(why) = unknown {
        Verdict::Unknown(why)
    } else {
        Verdict::NotAffected
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osv::Range;

    fn v(s: &str) -> Version {
        parse_version(s).unwrap()
    }

    fn events(spec: &[(&str, &str)]) -> Vec<Event> {
        spec.iter()
            .map(|(k, ver)| match *k {
                "i" => Event::Introduced((*ver).into()),
                "f" => Event::Fixed((*ver).into()),
                "l" => Event::LastAffected((*ver).into()),
                _ => Event::Limit((*ver).into()),
            })
            .collect()
    }

    #[test]
    fn introduced_and_fixed_bound_the_range() {
        let e = events(&[("i", "1.0"), ("f", "1.5")]);
        for (ver, want) in [
            ("0.9", false),
            ("1.0", true),
            ("1.4.9", true),
            ("1.5", false),
        ] {
            assert_eq!(in_range(&v(ver), &e), Ok(want), "{ver}");
        }
    }

    #[test]
    fn pre_post_dev_local_and_epoch_order_as_pep_440() {
        let e = events(&[("i", "0"), ("f", "2.0")]);
        // 2.0rc1 and 2.0.dev1 come before 2.0: still affected; 2.0.post1 after.
        for (ver, want) in [
            ("2.0rc1", true),
            ("2.0.dev1", true),
            ("2.0.post1", false),
            ("1.9+cu118", true),
            ("2.0+cu118", false),
            ("1!0.1", false),
        ] {
            assert_eq!(in_range(&v(ver), &e), Ok(want), "{ver}");
        }
    }

    #[test]
    fn last_affected_includes_its_version_and_limit_caps_the_range() {
        let e = events(&[("i", "1.0"), ("l", "1.2")]);
        assert_eq!(in_range(&v("1.2"), &e), Ok(true));
        assert_eq!(in_range(&v("1.2.1"), &e), Ok(false));
        let e = events(&[("i", "0"), ("lim", "3.0")]);
        assert_eq!(in_range(&v("2.9"), &e), Ok(true));
        assert_eq!(in_range(&v("3.0"), &e), Ok(false));
        let e = events(&[("i", "0"), ("lim", "*")]);
        assert_eq!(in_range(&v("99"), &e), Ok(true));
    }

    #[test]
    fn several_introduced_fixed_pairs_in_one_range() {
        let e = events(&[("i", "2.0"), ("f", "2.3"), ("i", "1.0"), ("f", "1.4")]);
        for (ver, want) in [("1.2", true), ("1.5", false), ("2.1", true), ("2.3", false)] {
            assert_eq!(in_range(&v(ver), &e), Ok(want), "{ver}");
        }
    }

    #[test]
    fn versions_lists_compare_as_pep_440_and_fixes_are_reported() {
        let a = Affected {
            name: "x".into(),
            versions: vec!["1.0.0".into(), "not-a-version".into()],
            ranges: vec![Range {
                events: events(&[("i", "1.1"), ("f", "1.3"), ("f", "1.2")]),
            }],
            skipped_ranges: 1,
        };
        assert_eq!(check(&a, &v("1.0")), Verdict::Affected { fixes: vec![] });
        assert_eq!(
            check(&a, &v("1.1")),
            Verdict::Affected {
                fixes: vec![v("1.2"), v("1.3")]
            }
        );
        assert_eq!(check(&a, &v("0.9")), Verdict::NotAffected);
    }

    #[test]
    fn an_unparseable_event_is_unknown_not_a_pass() {
        let a = Affected {
            name: "x".into(),
            versions: vec![],
            ranges: vec![Range {
                events: events(&[("i", "0"), ("f", "abc-def")]),
            }],
            skipped_ranges: 0,
        };
        assert!(matches!(check(&a, &v("1.0")), Verdict::Unknown(_)));
    }
}
