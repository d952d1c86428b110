//! The compact binary index: every PyPI advisory grouped by normalised package name, so that an
//! audit reads one file and decodes only the packages it asks about.
//!
//! Layout (integers little-endian; `str` is a `u32` length then UTF-8 bytes):
//!
//! ```text
//! magic  "AIGATE-OSV-IDX\0\0" (16 bytes)   version u32
//! fingerprint str                           (of the records the index was built from)
//! meta str                                  (JSON: source, sha256, updated, counts)
//! packages u32, then per package: name str, offset u32, length u32   (sorted by name)
//! blob area: per package, advisories u32, then per advisory:
//!   id str, aliases u32 × str, summary str, flags u8 (1: malicious), severity u8 (255: none),
//!   score f64 bits u64 (NaN: none), rating source str,
//!   entries u32, per entry: versions u32 × str, skipped ranges u32,
//!     ranges u32, per range: events u32, per event: kind u8, version str
//! ```
//!
//! The file lives in the user's cache and is rebuilt from the records when it does not decode,
//! so it is read as untrusted bytes: every count is checked against the bytes left before
//! anything is allocated.

use std::collections::BTreeMap;

use aigate_report::Severity;

use crate::osv::{Advisory, Affected, Event, Range, Rating};

const MAGIC: &[u8; 16] = b"AIGATE-OSV-IDX\0\0";
/// The layout's version; bumped when it changes (an index of another version is rebuilt).
pub const VERSION: u32 = 1;

/// Why an index does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

fn err<T>(what: &str) -> Result<T, DecodeError> {
    Err(DecodeError(what.to_owned()))
}

/// Encodes advisories; `fingerprint` and `meta` are stored in the header.
pub fn encode(advisories: &[Advisory], fingerprint: &str, meta: &str) -> Vec<u8> {
    let mut by_name: BTreeMap<&str, Vec<(&Advisory, Vec<&Affected>)>> = BTreeMap::new();
    for a in advisories {
        let mut names: Vec<&str> = a.affected.iter().map(|e| e.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            let entries = a.affected.iter().filter(|e| e.name == name).collect();
            by_name.entry(name).or_default().push((a, entries));
        }
    }
    let mut blobs = Vec::new();
    let mut directory = Vec::new();
    for (name, list) in &by_name {
        let start = blobs.len();
        put_u32(&mut blobs, list.len());
        for (a, entries) in list {
            put_str(&mut blobs, &a.id);
            put_u32(&mut blobs, a.aliases.len());
            for alias in &a.aliases {
                put_str(&mut blobs, alias);
            }
            put_str(&mut blobs, &a.summary);
            blobs.push(u8::from(a.malicious));
            match &a.rating {
                Some(r) => {
                    blobs.push(severity_code(r.severity));
                    blobs.extend(r.score.unwrap_or(f64::NAN).to_bits().to_le_bytes());
                    put_str(&mut blobs, &r.source);
                }
                None => {
                    blobs.push(255);
                    blobs.extend(f64::NAN.to_bits().to_le_bytes());
                    put_str(&mut blobs, "");
                }
            }
            put_u32(&mut blobs, entries.len());
            for e in entries {
                put_u32(&mut blobs, e.versions.len());
                for v in &e.versions {
                    put_str(&mut blobs, v);
                }
                put_u32(&mut blobs, e.skipped_ranges as usize);
                put_u32(&mut blobs, e.ranges.len());
                for r in &e.ranges {
                    put_u32(&mut blobs, r.events.len());
                    for ev in &r.events {
                        blobs.push(match ev {
                            Event::Introduced(_) => 0,
                            Event::Fixed(_) => 1,
                            Event::LastAffected(_) => 2,
                            Event::Limit(_) => 3,
                        });
                        put_str(&mut blobs, ev.version());
                    }
                }
            }
        }
        directory.push((*name, start, blobs.len() - start));
    }
    let mut out = Vec::with_capacity(blobs.len() + directory.len() * 24 + 256);
    out.extend_from_slice(MAGIC);
    put_u32(&mut out, VERSION as usize);
    put_str(&mut out, fingerprint);
    put_str(&mut out, meta);
    put_u32(&mut out, directory.len());
    for (name, start, len) in directory {
        put_str(&mut out, name);
        put_u32(&mut out, start);
        put_u32(&mut out, len);
    }
    out.extend(blobs);
    out
}

fn severity_code(s: Severity) -> u8 {
    Severity::ALL.iter().position(|x| *x == s).unwrap_or(0) as u8
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    // Sizes over 4 GiB cannot occur: the records are bounded far below.
    out.extend(u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u32(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.bytes.len());
        let Some(end) = end else {
            return err("truncated");
        };
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<usize, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// A count of items each at least `min` bytes long, checked against what is left.
    fn count(&mut self, min: usize) -> Result<usize, DecodeError> {
        let n = self.u32()?;
        if n.saturating_mul(min) > self.bytes.len() - self.pos {
            return err("a count is larger than the bytes left");
        }
        Ok(n)
    }

    fn str(&mut self) -> Result<&'a str, DecodeError> {
        let n = self.u32()?;
        std::str::from_utf8(self.take(n)?).map_err(|_| DecodeError("a string is not UTF-8".into()))
    }
}

/// A decoded header: what the index was built from, and where each package's advisories are.
#[derive(Debug, Clone)]
pub struct Index<'a> {
    /// The fingerprint of the records.
    pub fingerprint: &'a str,
    /// The metadata JSON.
    pub meta: &'a str,
    packages: Vec<(&'a str, usize, usize)>,
    blobs: &'a [u8],
}

impl<'a> Index<'a> {
    /// Decodes the header and directory of `bytes`.
    pub fn decode(bytes: &'a [u8]) -> Result<Index<'a>, DecodeError> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(16)? != MAGIC {
            return err("not an aigate advisory index");
        }
        let version = r.u32()?;
        if version != VERSION as usize {
            return Err(DecodeError(format!(
                "index version {version}, this aigate reads {VERSION}"
            )));
        }
        let fingerprint = r.str()?;
        let meta = r.str()?;
        let n = r.count(12)?;
        let mut packages = Vec::with_capacity(n);
        for _ in 0..n {
            packages.push((r.str()?, r.u32()?, r.u32()?));
        }
        let blobs = &bytes[r.pos..];
        let mut previous: Option<&str> = None;
        for (name, start, len) in &packages {
            if start.checked_add(*len).is_none_or(|e| e > blobs.len()) {
                return err("a package's advisories lie outside the file");
            }
            if previous.is_some_and(|p| p >= *name) {
                return err("the package directory is not sorted");
            }
            previous = Some(name);
        }
        Ok(Index {
            fingerprint,
            meta,
            packages,
            blobs,
        })
    }

    /// How many packages have advisories.
    pub fn len(&self) -> usize {
        self.packages.len()
    }

    /// Whether no package has an advisory.
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
    }

    /// The package names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.packages.iter().map(|p| p.0)
    }

    /// The advisories about the package `name` (PEP 503-normalised).
    pub fn advisories(&self, name: &str) -> Result<Vec<Advisory>, DecodeError> {
        let Ok(i) = self.packages.binary_search_by(|p| p.0.cmp(name)) else {
            return Ok(Vec::new());
        };
        let (_, start, len) = self.packages[i];
        let mut r = Reader {
            bytes: &self.blobs[start..start + len],
            pos: 0,
        };
        let n = r.count(30)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let id = r.str()?.to_owned();
            let aliases = (0..r.count(4)?)
                .map(|_| r.str().map(str::to_owned))
                .collect::<Result<Vec<_>, _>>()?;
            let summary = r.str()?.to_owned();
            let malicious = r.u8()? & 1 == 1;
            let severity = r.u8()?;
            let score = f64::from_bits(r.u64()?);
            let source = r.str()?.to_owned();
            let rating = match severity {
                255 => None,
                s => Some(Rating {
                    severity: *Severity::ALL
                        .get(s as usize)
                        .ok_or_else(|| DecodeError("an unknown severity".into()))?,
                    score: (!score.is_nan()).then_some(score),
                    source,
                }),
            };
            let mut affected = Vec::new();
            for _ in 0..r.count(12)? {
                let versions = (0..r.count(4)?)
                    .map(|_| r.str().map(str::to_owned))
                    .collect::<Result<Vec<_>, _>>()?;
                let skipped_ranges = r.u32()? as u32;
                let mut ranges = Vec::new();
                for _ in 0..r.count(4)? {
                    let mut events = Vec::new();
                    for _ in 0..r.count(5)? {
                        let kind = r.u8()?;
                        let v = r.str()?.to_owned();
                        events.push(match kind {
                            0 => Event::Introduced(v),
                            1 => Event::Fixed(v),
                            2 => Event::LastAffected(v),
                            3 => Event::Limit(v),
                            _ => return err("an unknown event kind"),
                        });
                    }
                    ranges.push(Range { events });
                }
                affected.push(Affected {
                    name: name.to_owned(),
                    versions,
                    ranges,
                    skipped_ranges,
                });
            }
            out.push(Advisory {
                id,
                aliases,
                summary,
                rating,
                malicious,
                affected,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn advisory(id: &str, names: &[&str]) -> Advisory {
        Advisory {
            id: id.into(),
            aliases: vec!["CVE-1".into()],
            summary: "s".into(),
            rating: Some(Rating {
                severity: Severity::High,
                score: Some(7.5),
                source: "CVSS:3.1/…".into(),
            }),
            malicious: id.starts_with("MAL"),
            affected: names
                .iter()
                .map(|n| Affected {
                    name: (*n).into(),
                    versions: vec!["1.0".into()],
                    ranges: vec![Range {
                        events: vec![Event::Introduced("0".into()), Event::Fixed("2".into())],
                    }],
                    skipped_ranges: 2,
                })
                .collect(),
        }
    }

    #[test]
    fn what_is_encoded_decodes_by_package() {
        let a = vec![advisory("A-1", &["b", "a"]), advisory("MAL-2", &["a"])];
        let bytes = encode(&a, "fp", "{}");
        let index = Index::decode(&bytes).unwrap();
        assert_eq!(index.fingerprint, "fp");
        assert_eq!(index.names().collect::<Vec<_>>(), ["a", "b"]);
        let got = index.advisories("a").unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].affected, vec![a[0].affected[1].clone()]);
        assert_eq!(got[1], a[1]);
        assert!(index.advisories("zzz").unwrap().is_empty());
    }

    #[test]
    fn every_truncation_and_corruption_is_an_error_not_a_panic() {
        let bytes = encode(&[advisory("A-1", &["a"])], "fp", "{}");
        for cut in 0..bytes.len() {
            if let Ok(index) = Index::decode(&bytes[..cut]) {
                let _ = index.advisories("a");
            }
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0xff;
            if let Ok(index) = Index::decode(&b) {
                let _ = index.advisories("a");
            }
        }
    }
}
