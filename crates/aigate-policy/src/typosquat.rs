//! Typosquat detection against the embedded list of popular PyPI names
//! (`data/pypi-popular.txt`, see `data/README.md`).
//!
//! A name is a suspected typosquat of a popular name `p` when it is not popular itself and:
//!
//! - it spells `p` with other separators or none (`python-dateutil` / `pythondateutil`);
//! - it is `p` with look-alike digits (`0` for `o`, `1` for `l`): `reque5ts` is not, `b0to3` is;
//! - it is `p` with its `-`-separated words reordered (`hub-huggingface`);
//! - it is `p` with a `py`/`python` prefix or `-py`/`-python` suffix added or dropped, when `p`
//!   is among the [`AFFIX_MAX_RANK`] most downloaded (wrappers named `py<thing>` are a common,
//!   legitimate convention for everything else);
//! - it is one edit from `p` (insert, delete, substitute, swap of neighbours), when `p` is among
//!   the [`EDIT_MAX_RANK`] most downloaded and has at least [`MIN_EDIT_LENGTH`] characters, and
//!   the edit is not only a digit changed, added or removed (version-like names such as
//!   `foo2`/`foo3` are common and legitimate).
//!
//! The limits were set by measuring: the real projects ranked 10,001 to 15,000, checked against
//! the top 10,000, are the legitimate names a project may use; the test
//! `typosquat_heuristics_do_not_cry_wolf_on_less_popular_real_names` keeps the share flagged
//! under 1.5% (64 of 4,985 when measured, several of them look-alikes in their own right:
//! `psycopgbinary`, `ruamel-yaml-clibz`, `based58`). Squatters target the most downloaded names, which the limits keep covered.
//!
//! A popular name is never reported, so two popular names are never reported against each
//! other, however close they are.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The popular names, most downloaded first; the rank of a name is its 1-based line number.
const POPULAR: &str = include_str!("../data/pypi-popular.txt");

/// The shortest popular name one-edit typos are looked for against: short names are one edit
/// from too many legitimate ones (`six`, `sh`, `rq`).
pub const MIN_EDIT_LENGTH: usize = 6;

/// The most downloaded names one-edit typos are looked for against.
pub const EDIT_MAX_RANK: u32 = 3_000;

/// The most downloaded names `py`/`python` affixes are looked for against.
pub const AFFIX_MAX_RANK: u32 = 1_000;

/// The shortest name (after stripping an affix) an affix or reorder match is accepted for.
const MIN_AFFIX_LENGTH: usize = 4;

/// How a name resembles a popular one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resemblance {
    /// The same words with other separators or none.
    Separators,
    /// Look-alike digits for letters (`0`/`o`, `1`/`l`).
    Homoglyph,
    /// The same words in another order.
    Reordered,
    /// A `py`/`python` prefix or a `-py`/`-python` suffix added or dropped.
    Affix,
    /// One character inserted, deleted, substituted, or two neighbours swapped.
    OneEdit,
}

impl Resemblance {
    /// A phrase for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Resemblance::Separators => "the same name with other separators",
            Resemblance::Homoglyph => "the same name with look-alike digits",
            Resemblance::Reordered => "the same words in another order",
            Resemblance::Affix => "the same name with a py/python prefix or suffix",
            Resemblance::OneEdit => "one character away",
        }
    }

    /// A stable kebab-case word for machine-readable details.
    pub fn as_str(self) -> &'static str {
        match self {
            Resemblance::Separators => "separators",
            Resemblance::Homoglyph => "homoglyph",
            Resemblance::Reordered => "reordered",
            Resemblance::Affix => "affix",
            Resemblance::OneEdit => "one-edit",
        }
    }
}

/// A suspected typosquat: the popular name it resembles, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Typosquat {
    /// The popular name.
    pub target: &'static str,
    /// Its download rank (1 is the most downloaded).
    pub rank: u32,
    /// How the names resemble each other.
    pub resemblance: Resemblance,
}

/// The embedded list of popular PyPI names, with the indexes the checks use.
#[derive(Debug)]
pub struct Popular {
    names: Vec<&'static str>,
    rank: HashMap<&'static str, u32>,
    derived: OnceLock<Derived>,
}

/// Indexes built on first use (only when some name is not itself popular).
#[derive(Debug)]
struct Derived {
    joined: HashMap<String, u32>,
    skeleton: HashMap<String, u32>,
    sorted_words: HashMap<String, u32>,
    stripped: HashMap<String, u32>,
    /// Hashes of every one-character deletion of names of [`MIN_EDIT_LENGTH`] or more: keyed
    /// without the position (for a candidate that is a deletion) and with it (substitutions).
    deletions: HashMap<u64, u32>,
}

/// The popular names embedded in aigate.
pub fn popular() -> &'static Popular {
    static POPULAR_NAMES: OnceLock<Popular> = OnceLock::new();
    POPULAR_NAMES.get_or_init(|| Popular::from_list(POPULAR))
}

impl Popular {
    /// A list from text with one normalised name per line, most popular first.
    pub fn from_list(text: &'static str) -> Popular {
        let names: Vec<&'static str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let mut rank = HashMap::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            rank.entry(*name).or_insert(rank_of(i));
        }
        Popular {
            names,
            rank,
            derived: OnceLock::new(),
        }
    }

    /// How many names the list holds.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The names, most popular first.
    pub fn names(&self) -> &[&'static str] {
        &self.names
    }

    /// The rank of a normalised name, if it is popular.
    pub fn rank(&self, name: &str) -> Option<u32> {
        self.rank.get(name).copied()
    }

    /// Whether a normalised name is popular.
    pub fn contains(&self, name: &str) -> bool {
        self.rank.contains_key(name)
    }

    fn name_at(&self, rank: u32) -> Option<&'static str> {
        let index = usize::try_from(rank).ok()?.checked_sub(1)?;
        self.names.get(index).copied()
    }

    fn derived(&self) -> &Derived {
        self.derived.get_or_init(|| {
            let mut d = Derived {
                joined: HashMap::with_capacity(self.names.len()),
                skeleton: HashMap::with_capacity(self.names.len()),
                sorted_words: HashMap::new(),
                stripped: HashMap::new(),
                deletions: HashMap::with_capacity(self.names.len() * 12),
            };
            for (i, name) in self.names.iter().enumerate() {
                let rank = rank_of(i);
                d.joined.entry(joined(name)).or_insert(rank);
                d.skeleton.entry(skeleton(name)).or_insert(rank);
                if let Some(key) = sorted_words(name) {
                    d.sorted_words.entry(key).or_insert(rank);
                }
                for stem in strip_affixes(name) {
                    if stem.len() >= MIN_AFFIX_LENGTH && rank <= AFFIX_MAX_RANK {
                        d.stripped.entry(stem.to_owned()).or_insert(rank);
                    }
                }
                let bytes = name.as_bytes();
                if bytes.len() >= MIN_EDIT_LENGTH && rank <= EDIT_MAX_RANK {
                    for skip in 0..bytes.len() {
                        let h = hash_skipping(bytes, skip);
                        d.deletions.entry(h).or_insert(rank);
                        d.deletions.entry(positioned(h, skip)).or_insert(rank);
                    }
                }
            }
            d
        })
    }

    /// The popular name `name` (PEP 503-normalised) looks like a typo of, if any. Popular
    /// names themselves are never typosquats.
    pub fn typosquat_of(&self, name: &str) -> Option<Typosquat> {
        if self.contains(name) || name.is_empty() || name.len() > 200 {
            return None;
        }
        let d = self.derived();
        let hit = |rank: u32, resemblance| {
            self.name_at(rank)
                .filter(|target| *target != name)
                .map(|target| Typosquat {
                    target,
                    rank,
                    resemblance,
                })
        };
        if let Some(t) = d
            .joined
            .get(&joined(name))
            .and_then(|r| hit(*r, Resemblance::Separators))
        {
            return Some(t);
        }
        if name.contains(['0', '1'])
            && let Some(t) = d
                .skeleton
                .get(&skeleton(name))
                .and_then(|r| hit(*r, Resemblance::Homoglyph))
        {
            return Some(t);
        }
        if let Some(key) = sorted_words(name)
            && let Some(t) = d
                .sorted_words
                .get(&key)
                .and_then(|r| hit(*r, Resemblance::Reordered))
        {
            return Some(t);
        }
        if let Some(t) = self.affix(name, d) {
            return Some(t);
        }
        self.one_edit(name, d)
    }

    fn affix(&self, name: &str, d: &Derived) -> Option<Typosquat> {
        let mut best: Option<u32> = None;
        for stem in strip_affixes(name) {
            if stem.len() < MIN_AFFIX_LENGTH {
                continue;
            }
            // `requests-py` for `requests`; `python-yaml` for `pyyaml` (both strip to `yaml`).
            for rank in [self.rank(stem), d.stripped.get(stem).copied()]
                .into_iter()
                .flatten()
                .filter(|r| *r <= AFFIX_MAX_RANK)
            {
                best = Some(best.map_or(rank, |b| b.min(rank)));
            }
        }
        // `dateutil` for `python-dateutil`.
        if name.len() >= MIN_AFFIX_LENGTH
            && let Some(rank) = d.stripped.get(name)
        {
            best = Some(best.map_or(*rank, |b| b.min(*rank)));
        }
        let target = self.name_at(best?)?;
        (target != name).then_some(Typosquat {
            target,
            rank: best?,
            resemblance: Resemblance::Affix,
        })
    }

    fn one_edit(&self, name: &str, d: &Derived) -> Option<Typosquat> {
        let bytes = name.as_bytes();
        let mut ranks: Vec<u32> = Vec::new();
        // The candidate is a popular name with one character deleted.
        if bytes.len() + 1 >= MIN_EDIT_LENGTH
            && let Some(r) = d.deletions.get(&hash_bytes(bytes))
        {
            ranks.push(*r);
        }
        let mut scratch = Vec::with_capacity(bytes.len());
        for skip in 0..bytes.len() {
            // The candidate is a popular name with one character inserted.
            scratch.clear();
            scratch.extend(
                bytes
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != skip)
                    .map(|(_, b)| *b),
            );
            if let Some(r) = std::str::from_utf8(&scratch)
                .ok()
                .and_then(|s| self.rank(s))
                .filter(|r| *r <= EDIT_MAX_RANK)
            {
                ranks.push(r);
            }
            // The candidate is a popular name with one character substituted.
            if let Some(r) = d
                .deletions
                .get(&positioned(hash_skipping(bytes, skip), skip))
            {
                ranks.push(*r);
            }
        }
        // Two neighbours swapped.
        for i in 1..bytes.len() {
            if bytes[i] != bytes[i - 1] {
                scratch.clear();
                scratch.extend_from_slice(bytes);
                scratch.swap(i - 1, i);
                if let Some(r) = std::str::from_utf8(&scratch)
                    .ok()
                    .and_then(|s| self.rank(s))
                    .filter(|r| *r <= EDIT_MAX_RANK)
                {
                    ranks.push(r);
                }
            }
        }
        ranks.sort_unstable();
        ranks.dedup();
        ranks.into_iter().find_map(|rank| {
            let target = self.name_at(rank)?;
            (target.len() >= MIN_EDIT_LENGTH && is_suspicious_edit(name, target)).then_some(
                Typosquat {
                    target,
                    rank,
                    resemblance: Resemblance::OneEdit,
                },
            )
        })
    }
}

fn rank_of(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

/// The name without separators.
fn joined(name: &str) -> String {
    name.chars().filter(|c| *c != '-').collect()
}

/// The name with look-alike digits read as the letters they imitate.
fn skeleton(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '0' => 'o',
            '1' => 'l',
            c => c,
        })
        .collect()
}

/// The `-`-separated words sorted, for names of two words or more.
fn sorted_words(name: &str) -> Option<String> {
    let mut words: Vec<&str> = name.split('-').filter(|w| !w.is_empty()).collect();
    if words.len() < 2 || name.len() < MIN_AFFIX_LENGTH * 2 {
        return None;
    }
    words.sort_unstable();
    Some(words.join("-"))
}

/// The name without a `py`/`python` prefix or `-py`/`-python` suffix, each way it has one.
fn strip_affixes(name: &str) -> impl Iterator<Item = &str> {
    const PREFIXES: [&str; 4] = ["python-", "py-", "python", "py"];
    const SUFFIXES: [&str; 2] = ["-python", "-py"];
    let prefixed = PREFIXES
        .into_iter()
        .find_map(|p| name.strip_prefix(p).filter(|s| !s.is_empty()));
    let suffixed = SUFFIXES
        .into_iter()
        .find_map(|s| name.strip_suffix(s).filter(|s| !s.is_empty()));
    prefixed
        .into_iter()
        .chain(suffixed)
        .map(|s| s.trim_matches('-'))
}

/// Whether a one-edit difference between `name` and `target` looks like a typo rather than a
/// sibling project: an edit that only changes, adds or removes a digit is not counted.
fn is_suspicious_edit(name: &str, target: &str) -> bool {
    let (a, b) = (name.as_bytes(), target.as_bytes());
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let differing_a = &a[prefix..a.len() - suffix];
    let differing_b = &b[prefix..b.len() - suffix];
    let all_digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    !(all_digits(differing_a) && all_digits(differing_b))
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

fn hash_bytes(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(FNV_PRIME)
    })
}

fn hash_skipping(bytes: &[u8], skip: usize) -> u64 {
    bytes
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != skip)
        .fold(FNV_OFFSET, |h, (_, b)| {
            (h ^ u64::from(*b)).wrapping_mul(FNV_PRIME)
        })
}

fn positioned(hash: u64, position: usize) -> u64 {
    let position = u64::try_from(position).unwrap_or(u64::MAX);
    (hash ^ position.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15)).rotate_left(17)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn squat(name: &str) -> Option<(&'static str, Resemblance)> {
        popular()
            .typosquat_of(name)
            .map(|t| (t.target, t.resemblance))
    }

    #[test]
    fn the_list_is_embedded_and_ranked() {
        let p = popular();
        assert!(p.len() > 14_000);
        assert_eq!(p.rank("boto3"), Some(1));
        assert!(p.contains("requests"));
        assert!(!p.contains("reqeusts"));
    }

    #[test]
    fn each_heuristic_finds_its_kind() {
        assert_eq!(squat("reqeusts"), Some(("requests", Resemblance::OneEdit)));
        assert_eq!(squat("requets"), Some(("requests", Resemblance::OneEdit)));
        assert_eq!(squat("requestss"), Some(("requests", Resemblance::OneEdit)));
        assert_eq!(squat("requezts"), Some(("requests", Resemblance::OneEdit)));
        assert_eq!(
            squat("pythondateutil"),
            Some(("python-dateutil", Resemblance::Separators))
        );
        assert_eq!(squat("b0to3"), Some(("boto3", Resemblance::Homoglyph)));
        assert_eq!(squat("ur11ib3"), Some(("urllib3", Resemblance::Homoglyph)));
        assert_eq!(
            squat("hub-huggingface"),
            Some(("huggingface-hub", Resemblance::Reordered))
        );
        assert_eq!(
            squat("requests-python"),
            Some(("requests", Resemblance::Affix))
        );
        assert_eq!(squat("python-numpy"), Some(("numpy", Resemblance::Affix)));
        assert_eq!(
            squat("dateutil"),
            Some(("python-dateutil", Resemblance::Affix))
        );
    }

    #[test]
    fn popular_names_and_digit_only_edits_are_never_reported() {
        for name in popular().names().iter().take(15_000) {
            assert_eq!(popular().typosquat_of(name), None, "{name}");
        }
        // A digit changed, added or removed: version-like siblings.
        assert!(!is_suspicious_edit("foo-bar3", "foo-bar2"));
        assert!(!is_suspicious_edit("protobuf4", "protobuf"));
        assert!(is_suspicious_edit("reqeusts", "requests"));
        // Names unlike any popular one.
        assert_eq!(squat("acme-internal-training-utils"), None);
        assert_eq!(squat("zzqx"), None);
    }
}
