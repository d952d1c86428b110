//! ONNX models (`onnx.proto3`'s `ModelProto`, protobuf wire format), read as `onnx.load` and
//! ONNX Runtime read them for what reaches outside the model:
//! - tensors stored outside the file (`data_location = EXTERNAL`): an `external_data` location
//!   that is absolute, climbs out of the model's folder, or resolves through a link that leads
//!   out of it (CVE-2026-27489), and entries with keys the format does not define
//!   (CVE-2026-34445);
//! - operators from domains no ONNX runtime ships, which need a custom-op library (native code)
//!   registered by the loading process;
//!
//! in the main graph, in every subgraph (`If`, `Loop`, `Scan` bodies, any graph attribute) and in
//! model-local functions. Tensor bytes are skipped by their length, never read: a model costs its
//! structure. Lengths are checked against the bytes that remain before anything is read, and
//! nesting is bounded.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::Path;

use aigate_report::{Finding, Location, Rule};

use crate::dispatch::Cx;
use crate::formats::protobuf::{Bad, Wire, skip};
use crate::formats::{FormatScanner, Input, NameHint, Sniff};
use crate::rules::{ONNX_CUSTOM_OP, ONNX_EXTERNAL_DATA, ONNX_MALFORMED};
use crate::source::Blob;

/// Deepest nesting of graphs in graphs.
const MAX_GRAPH_DEPTH: u32 = 32;
/// Largest model read into memory when it comes out of a decoder (no random access).
const MAX_DECODED_MODEL: u64 = 256 << 20;
/// Operator domains ONNX and ONNX Runtime implement themselves.
const BUILTIN_DOMAINS: &[&str] = &[
    "",
    "ai.onnx",
    "ai.onnx.ml",
    "ai.onnx.training",
    "ai.onnx.preview.training",
    "com.microsoft",
    "com.microsoft.nchwc",
    "com.microsoft.experimental",
    "com.microsoft.mlfeaturizers",
    "org.pytorch.aten",
    "com.ms.internal.nhwc",
];
/// The keys `external_data` entries may have (onnx/external_data_helper.py).
const EXTERNAL_KEYS: &[&str] = &["location", "offset", "length", "checksum", "basepath"];

/// The ONNX reader.
pub(crate) struct Onnx;

impl FormatScanner for Onnx {
    fn name(&self) -> &'static str {
        "onnx"
    }

    fn sniff(&self, input: &Sniff<'_>) -> bool {
        // No magic number: named `.onnx`, and starting with a protobuf key (`ir_version` is
        // field 1, a varint, but any field may come first).
        input.hint == NameHint::Onnx
    }

    fn malformed_rule(&self) -> &'static Rule {
        &ONNX_MALFORMED
    }

    fn scan(&self, cx: &mut Cx<'_>, input: &Input<'_>) -> io::Result<()> {
        let owned;
        let (blob, len) = match input.blob.len() {
            Some(len) => (*input.blob, len),
            None => {
                owned = input.blob.materialize(MAX_DECODED_MODEL)?;
                (Blob::Memory(&owned), owned.len() as u64)
            }
        };
        let mut model = Model {
            r: Wire::new(blob),
            found: Vec::new(),
            domains: HashSet::new(),
        };
        let mut reported = Reported {
            loc: input.loc,
            seen: HashSet::new(),
        };
        match model.message(0, len, Kind::Model, 0) {
            Ok(()) => cx.scanned(input.loc, self.name(), self.version(), len),
            Err(Bad::Format(why)) => reported.finding(
                cx,
                &ONNX_MALFORMED,
                format!("not a valid ONNX model: {why}"),
            ),
            Err(Bad::Io(err)) => return Err(err),
        }
        let folder = model_folder(input.loc);
        // Many tensors share one data file: resolve each location once.
        let mut resolved: HashMap<String, Option<&'static str>> = HashMap::new();
        for found in model.found {
            match found {
                Found::Domain(domain) => reported.finding(
                    cx,
                    &ONNX_CUSTOM_OP,
                    format!(
                        "operators from the domain {domain:?}, which only a custom-op library registered by the loading process provides"
                    ),
                ),
                Found::External { keys, location } => {
                    if let Some(key) = keys.iter().find(|k| !EXTERNAL_KEYS.contains(&k.as_str())) {
                        reported.finding(
                            cx,
                            &ONNX_EXTERNAL_DATA,
                            format!(
                                "an external_data entry has the key {key:?}, which the format does not define (CVE-2026-34445)"
                            ),
                        );
                    }
                    match location {
                        None => reported.finding(
                            cx,
                            &ONNX_EXTERNAL_DATA,
                            "a tensor stored outside the model names no location".to_owned(),
                        ),
                        Some(location) => {
                            let why = *resolved
                                .entry(location.clone())
                                .or_insert_with(|| escapes(&location, folder.as_deref()));
                            if let Some(why) = why {
                                reported.finding(
                                    cx,
                                    &ONNX_EXTERNAL_DATA,
                                    format!(
                                        "a tensor's external data {location:?} {why}: loading reads a file outside the model's folder (CVE-2026-27489)"
                                    ),
                                );
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// Findings made once each: a graph shared by two branches, or tensors sharing one data file,
/// would say the same thing many times.
struct Reported<'l> {
    loc: &'l Location,
    seen: HashSet<(&'static str, String)>,
}

impl Reported<'_> {
    fn finding(&mut self, cx: &mut Cx<'_>, rule: &'static Rule, message: String) {
        if self.seen.insert((rule.id, message.clone())) {
            cx.finding(Finding::new(rule, message, self.loc.clone()));
        }
    }
}
/// The folder of a model file on disk (not of an archive member).
fn model_folder(loc: &Location) -> Option<std::path::PathBuf> {
    if !loc.steps.is_empty() {
        return None;
    }
    Path::new(&loc.path).parent().map(Path::to_path_buf)
}

/// Why `location` leads out of the model's folder, if it does.
fn escapes(location: &str, folder: Option<&Path>) -> Option<&'static str> {
    let path = Path::new(location);
    if path.is_absolute()
        || location.starts_with('/')
        || location.starts_with('\\')
        || location.get(1..2) == Some(":")
    {
        return Some("is an absolute path");
    }
    let mut depth: i64 = 0;
    for part in location.split(['/', '\\']) {
        match part {
            ".." => depth -= 1,
            "" | "." => {}
            _ => depth += 1,
        }
        if depth < 0 {
            return Some("climbs out of the model's folder");
        }
    }
    // On disk: a link on the way may lead elsewhere.
    let folder = folder?;
    let base = if folder.as_os_str().is_empty() {
        Path::new(".")
    } else {
        folder
    };
    let (Ok(root), Ok(target)) = (base.canonicalize(), base.join(path).canonicalize()) else {
        return None;
    };
    if !target.starts_with(&root) {
        return Some("resolves through a link to a place outside the model's folder");
    }
    None
}

/// The messages whose fields matter.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Model,
    Graph,
    Node,
    Attribute,
    Tensor,
    SparseTensor,
    Function,
}

enum Found {
    Domain(String),
    External {
        keys: Vec<String>,
        location: Option<String>,
    },
}

struct Model<'a> {
    r: Wire<'a>,
    found: Vec<Found>,
    /// The custom domains already found.
    domains: HashSet<String>,
}

impl Model<'_> {
    /// Reads the message of `kind` in `[start, end)`.
    fn message(&mut self, start: u64, end: u64, kind: Kind, depth: u32) -> Result<(), Bad> {
        if depth > MAX_GRAPH_DEPTH * 4 {
            return Err(Bad::Format(
                "messages nest deeper than any model's".to_owned(),
            ));
        }
        let mut pos = start;
        let mut domain = None;
        let mut external = false;
        let mut entries: Vec<(String, Option<String>)> = Vec::new();
        while pos < end {
            let key = self.r.varint(&mut pos, end)?;
            let field = key >> 3;
            match key & 7 {
                0 => {
                    let value = self.r.varint(&mut pos, end)?;
                    if kind == Kind::Tensor && field == 14 {
                        external = value == 1;
                    }
                }
                1 => pos = skip(pos, 8, end)?,
                5 => pos = skip(pos, 4, end)?,
                2 => {
                    let len = self.r.varint(&mut pos, end)?;
                    let body_end = skip(pos, len, end)?;
                    let child = match (kind, field) {
                        (Kind::Model, 7) => Some(Kind::Graph),
                        (Kind::Model, 25) => Some(Kind::Function),
                        (Kind::Graph, 1) | (Kind::Function, 7) => Some(Kind::Node),
                        (Kind::Graph, 5) => Some(Kind::Tensor),
                        (Kind::Graph, 15) => Some(Kind::SparseTensor),
                        (Kind::Node, 5) => Some(Kind::Attribute),
                        (Kind::Attribute, 5 | 10) => Some(Kind::Tensor),
                        (Kind::Attribute, 6 | 11) => Some(Kind::Graph),
                        (Kind::Attribute, 22 | 23) => Some(Kind::SparseTensor),
                        (Kind::SparseTensor, 1 | 2) => Some(Kind::Tensor),
                        _ => None,
                    };
                    match (kind, field, child) {
                        (Kind::Node, 7, _) => domain = Some(self.r.text(pos, body_end)?),
                        (Kind::Tensor, 13, _) => entries.push(self.entry(pos, body_end)?),
                        (_, _, Some(child)) => {
                            let deeper = if child == Kind::Graph {
                                depth + 4
                            } else {
                                depth + 1
                            };
                            self.message(pos, body_end, child, deeper)?;
                        }
                        _ => {}
                    }
                    pos = body_end;
                }
                3 | 4 => {
                    return Err(Bad::Format(format!(
                        "a deprecated protobuf group at byte {pos}, which ONNX never writes"
                    )));
                }
                other => {
                    return Err(Bad::Format(format!(
                        "an invalid protobuf wire type {other} at byte {pos}"
                    )));
                }
            }
        }
        if pos != end {
            return Err(Bad::Format(format!(
                "a field runs past its message at byte {end}"
            )));
        }
        if let Some(domain) = domain
            && !BUILTIN_DOMAINS.contains(&domain.as_str())
            && self.domains.insert(domain.clone())
        {
            self.found.push(Found::Domain(domain));
        }
        if external || !entries.is_empty() {
            let location = entries
                .iter()
                .find(|(k, _)| k == "location")
                .and_then(|(_, v)| v.clone());
            self.found.push(Found::External {
                keys: entries.into_iter().map(|(k, _)| k).collect(),
                location,
            });
        }
        Ok(())
    }

    /// A `StringStringEntryProto`'s key and value.
    fn entry(&mut self, start: u64, end: u64) -> Result<(String, Option<String>), Bad> {
        let mut pos = start;
        let (mut key, mut value) = (String::new(), None);
        while pos < end {
            let tag = self.r.varint(&mut pos, end)?;
            match tag & 7 {
                2 => {
                    let len = self.r.varint(&mut pos, end)?;
                    let body_end = skip(pos, len, end)?;
                    match tag >> 3 {
                        1 => key = self.r.text(pos, body_end)?,
                        2 => value = Some(self.r.text(pos, body_end)?),
                        _ => {}
                    }
                    pos = body_end;
                }
                0 => {
                    self.r.varint(&mut pos, end)?;
                }
                _ => {
                    return Err(Bad::Format(
                        "an external_data entry is not key/value strings".to_owned(),
                    ));
                }
            }
        }
        Ok((key, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_that_leave_the_folder_are_caught() {
        assert!(escapes("/etc/passwd", None).is_some());
        assert!(escapes("C:\\secrets", None).is_some());
        assert!(escapes("../../x", None).is_some());
        assert!(escapes("a/../../x", None).is_some());
        assert!(escapes("weights/model.bin", None).is_none());
        assert!(escapes("a/../b.bin", None).is_none());
    }
}
