//! Which pickle globals are safe, dangerous or unknown.
//!
//! Three sources, consulted in this order: the curated denylist (`data/denylist.txt`), the
//! user's `[scan] deny` and `allow` patterns, and the generated allowlist
//! (`data/allowlist.txt`, made by `scripts/gen_allowlist.py` from what ML libraries write).
//! Python 2 names are mapped with CPython's `_compat_pickle` tables (`data/compat_pickle.txt`)
//! and both spellings are judged; the worse verdict wins.

use std::collections::{HashMap, HashSet};

const DENYLIST: &str = include_str!("../data/denylist.txt");
const ALLOWLIST: &str = include_str!("../data/allowlist.txt");
const COMPAT: &str = include_str!("../data/compat_pickle.txt");

/// Dunder names that pickles legitimately import.
const HARMLESS_DUNDERS: &[&str] = &["__newobj__", "__newobj_ex__"];

/// How a global is judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// On the allowlist (built in or the user's).
    Safe,
    /// Runs code, reflects, touches files or the network, or loads a second stage.
    Unsafe {
        /// Why: the denylist entry or pattern it matched.
        reason: String,
    },
    /// Neither: it could run any code its module chooses.
    Unknown,
}

/// A user pattern: `pkg.mod.Name` (exact) or `pkg.mod.*` (everything below `pkg.mod`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    path: String,
    subtree: bool,
}

impl Pattern {
    fn parse(text: &str) -> Result<Pattern, PatternError> {
        let (path, subtree) = match text.strip_suffix(".*") {
            Some(prefix) => (prefix, true),
            None => (text, false),
        };
        let valid = !path.is_empty()
            && path.split('.').all(|part| {
                !part.is_empty() && part.chars().all(|c| c == '_' || c.is_alphanumeric())
            });
        if !valid {
            return Err(PatternError(text.to_owned()));
        }
        Ok(Pattern {
            path: path.to_owned(),
            subtree,
        })
    }

    fn matches(&self, full: &str) -> bool {
        full == self.path
            || (self.subtree
                && full.len() > self.path.len()
                && full.starts_with(&self.path)
                && full.as_bytes()[self.path.len()] == b'.')
    }
}

/// A `[scan] allow` or `deny` entry that is not a dotted name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid global pattern `{0}`: expected a dotted name such as `mypkg.models.Net` or `mypkg.*`"
)]
pub struct PatternError(pub String);

/// The judge of globals.
#[derive(Debug, Clone)]
pub struct GlobalPolicy {
    deny: HashSet<String>,
    allow: HashSet<(String, String)>,
    user_allow: Vec<Pattern>,
    user_deny: Vec<Pattern>,
    module_map: HashMap<String, String>,
    name_map: HashMap<(String, String), (String, String)>,
}

fn data_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty())
}

impl GlobalPolicy {
    /// The built-in lists plus the user's patterns.
    pub fn new(user_allow: &[String], user_deny: &[String]) -> Result<Self, PatternError> {
        let deny = data_lines(DENYLIST).map(str::to_owned).collect();
        let allow = data_lines(ALLOWLIST)
            .filter_map(|line| {
                let mut parts = line.split_whitespace();
                Some((parts.next()?.to_owned(), parts.next()?.to_owned()))
            })
            .collect();
        let mut module_map = HashMap::new();
        let mut name_map = HashMap::new();
        for line in data_lines(COMPAT) {
            let parts: Vec<&str> = line.split_whitespace().collect();
            match parts.as_slice() {
                ["module", old, new] => {
                    module_map.insert((*old).to_owned(), (*new).to_owned());
                }
                ["name", om, on, nm, nn] => {
                    name_map.insert(
                        ((*om).to_owned(), (*on).to_owned()),
                        ((*nm).to_owned(), (*nn).to_owned()),
                    );
                }
                _ => {}
            }
        }
        Ok(GlobalPolicy {
            deny,
            allow,
            user_allow: user_allow
                .iter()
                .map(|p| Pattern::parse(p))
                .collect::<Result<_, _>>()?,
            user_deny: user_deny
                .iter()
                .map(|p| Pattern::parse(p))
                .collect::<Result<_, _>>()?,
            module_map,
            name_map,
        })
    }

    /// Judges `module.name`, under its own spelling and its Python 3 spelling.
    pub fn judge(&self, module: &str, name: &str) -> Verdict {
        let own = self.judge_one(module, name);
        let mapped = match self.name_map.get(&(module.to_owned(), name.to_owned())) {
            Some((m, n)) => Some((m.clone(), n.clone())),
            None => self
                .module_map
                .get(module)
                .map(|m| (m.clone(), name.to_owned())),
        };
        let Some((m, n)) = mapped else {
            return own;
        };
        match (own, self.judge_one(&m, &n)) {
            (unsafe_ @ Verdict::Unsafe { .. }, _) => unsafe_,
            (_, Verdict::Unsafe { reason }) => Verdict::Unsafe {
                reason: format!("{reason} (as Python 2's {module}.{name} loads as {m}.{n})"),
            },
            // The Python 2 name exists only under its Python 3 spelling, which is what loads.
            (_, mapped) => mapped,
        }
    }

    fn judge_one(&self, module: &str, name: &str) -> Verdict {
        let full = format!("{module}.{name}");
        if let Some(reason) = self.denied(&full, name) {
            return Verdict::Unsafe { reason };
        }
        if let Some(p) = self.user_deny.iter().find(|p| p.matches(&full)) {
            return Verdict::Unsafe {
                reason: format!("denied by `{}` in [scan] deny", p.path),
            };
        }
        if self.user_allow.iter().any(|p| p.matches(&full))
            || self.allow.contains(&(module.to_owned(), name.to_owned()))
        {
            return Verdict::Safe;
        }
        Verdict::Unknown
    }

    /// The denylist entry `full` falls under, either directly or by walking attributes: a
    /// dotted name such as `utils.os.system` reaches `os.system` whatever module holds it.
    fn denied(&self, full: &str, name: &str) -> Option<String> {
        if let Some(entry) = self.denied_path(full) {
            return Some(format!("on the denylist as `{entry}`"));
        }
        let mut rest = name;
        loop {
            if let Some(entry) = self.denied_path(rest) {
                return Some(format!("reaches `{entry}` through attribute `{name}`"));
            }
            match rest.split_once('.') {
                Some((_, tail)) => rest = tail,
                None => break,
            }
        }
        name.split('.')
            .find(|seg| {
                seg.len() > 4
                    && seg.starts_with("__")
                    && seg.ends_with("__")
                    && !HARMLESS_DUNDERS.contains(seg)
            })
            .map(|seg| format!("reflective attribute `{seg}`"))
    }

    fn denied_path<'p>(&self, path: &'p str) -> Option<&'p str> {
        if self.deny.contains(path) {
            return Some(path);
        }
        path.match_indices('.')
            .map(|(i, _)| &path[..i])
            .find(|prefix| self.deny.contains(*prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> GlobalPolicy {
        GlobalPolicy::new(&["mypkg.models.*".into()], &["numpy.mean".into()]).unwrap()
    }

    fn is_unsafe(module: &str, name: &str) -> bool {
        matches!(policy().judge(module, name), Verdict::Unsafe { .. })
    }

    #[test]
    fn dangerous_callables_are_unsafe() {
        for (m, n) in [
            ("os", "system"),
            ("posix", "system"),
            ("subprocess", "Popen"),
            ("builtins", "eval"),
            ("builtins", "getattr"),
            ("asyncio.unix_events", "_UnixSubprocessTransport"),
            ("pip", "main"),
            ("pkgutil", "resolve_name"),
            ("operator", "attrgetter"),
            ("torch.serialization", "load"),
            ("numpy", "load"),
            ("runpy", "_run_code"),
            ("code", "InteractiveInterpreter"),
            ("types", "CodeType"),
        ] {
            assert!(is_unsafe(m, n), "{m}.{n}");
        }
    }

    #[test]
    fn python2_aliases_are_mapped() {
        assert!(is_unsafe("__builtin__", "eval"));
        assert!(is_unsafe("cPickle", "loads"));
        assert!(is_unsafe("commands", "getoutput"));
        assert_eq!(policy().judge("__builtin__", "set"), Verdict::Safe);
    }

    #[test]
    fn attribute_walks_and_dunders_are_unsafe() {
        assert!(is_unsafe("numpy.testing._private.utils", "os.system"));
        assert!(is_unsafe("mylib", "helpers.subprocess.run"));
        assert!(is_unsafe(
            "collections",
            "OrderedDict.__class__.__subclasses__"
        ));
        assert!(!is_unsafe("copyreg", "__newobj__"));
    }

    #[test]
    fn ml_types_are_safe_and_the_rest_unknown() {
        let p = policy();
        assert_eq!(p.judge("torch._utils", "_rebuild_tensor_v2"), Verdict::Safe);
        assert_eq!(p.judge("collections", "OrderedDict"), Verdict::Safe);
        assert_eq!(
            p.judge("numpy.core.multiarray", "_reconstruct"),
            Verdict::Safe
        );
        assert_eq!(p.judge("mypkg.models", "Net"), Verdict::Safe);
        assert_eq!(p.judge("mypkg.other", "Net"), Verdict::Unknown);
        assert!(matches!(p.judge("numpy", "mean"), Verdict::Unsafe { .. }));
        assert_eq!(p.judge("osgeo", "gdal"), Verdict::Unknown);
    }

    #[test]
    fn user_cannot_allow_a_denied_global() {
        let p = GlobalPolicy::new(&["os.*".into()], &[]).unwrap();
        assert!(matches!(p.judge("os", "system"), Verdict::Unsafe { .. }));
    }

    #[test]
    fn bad_patterns_are_rejected() {
        assert!(GlobalPolicy::new(&["my pkg".into()], &[]).is_err());
        assert!(GlobalPolicy::new(&[], &["".into()]).is_err());
    }
}
