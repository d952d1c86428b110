//! Tar archives, and inside them PyTorch's oldest checkpoint format: a tar of `sys_info`,
//! `pickle`, `storages` and `tensors`, where `storages` and `tensors` are records of a pickle
//! followed by raw data. torch.load unpickles every record's pickle, so every one is analysed:
//! the walker skips the raw data by the sizes the records give.

use std::io::{self, Read};

use aigate_report::{Finding, Location, Severity};

use crate::Cx;
use crate::formats::Hint;
use crate::rules::*;
use crate::source::Blob;

fn finding(cx: &mut Cx<'_>, rule: &str, loc: &Location, message: String) {
    cx.finding(Finding::new(rule, Severity::Medium, message, loc.clone()));
}

pub(crate) fn scan(cx: &mut Cx<'_>, blob: &Blob<'_>, loc: &Location, depth: u32) -> io::Result<()> {
    cx.scanned(loc, "tar", blob.len().unwrap_or(0));
    let mut archive = tar::Archive::new(blob.open()?);
    let entries = match archive.entries() {
        Ok(entries) => entries,
        Err(err) => {
            finding(cx, TAR_MALFORMED, loc, format!("cannot be read: {err}"));
            return Ok(());
        }
    };
    let mut count = 0u64;
    for entry in entries {
        let mut entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                finding(
                    cx,
                    TAR_MALFORMED,
                    loc,
                    format!(
                        "a member header cannot be read: {}",
                        err.to_string().to_lowercase()
                    ),
                );
                break;
            }
        };
        count += 1;
        if count > cx.limits().max_members {
            finding(
                cx,
                CONTAINER_BUDGET_EXCEEDED,
                loc,
                format!(
                    "more than {} members; the rest were not analysed",
                    cx.limits().max_members
                ),
            );
            break;
        }
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let inner = loc.join(name.clone());
        let size = entry.size();
        let legacy = matches!(name.as_str(), "storages" | "tensors");
        let member_data;
        let member = match blob.slice(entry.raw_file_position(), size) {
            Some(member) => member,
            None if size <= cx.limits().max_in_memory => {
                let mut data = Vec::new();
                if let Err(err) = entry.read_to_end(&mut data) {
                    cx.container_error(&inner, TAR_MALFORMED, &err);
                    break;
                }
                member_data = data;
                Blob::Memory(&member_data)
            }
            None => {
                finding(
                    cx,
                    CONTAINER_BUDGET_EXCEEDED,
                    &inner,
                    format!(
                        "a {size} byte member of a compressed tar exceeds the in-memory limit; it was not analysed"
                    ),
                );
                continue;
            }
        };
        let result = if legacy && member.head(2)?.first() == Some(&0x80) {
            legacy_records(cx, &member, &inner, name == "tensors")
        } else {
            cx.scan(&member, &inner, Hint::from_name(&name), depth + 1)
        };
        if let Err(err) = result {
            cx.container_error(&inner, TAR_MALFORMED, &err);
        }
    }
    Ok(())
}

/// Bytes per element of a legacy storage type, by class name.
fn element_size(storage: &str) -> Option<u64> {
    Some(match storage.strip_suffix("Storage")? {
        "Double" | "Long" | "ComplexFloat" => 8,
        "Float" | "Int" | "QInt32" => 4,
        "Half" | "BFloat16" | "Short" => 2,
        "Char" | "Byte" | "Bool" | "QInt8" | "QUInt8" | "QUInt4x2" | "QUInt2x4" => 1,
        "ComplexDouble" => 16,
        _ => return None,
    })
}

/// Walks a `storages` or `tensors` member: a count pickle, then records of a pickle and raw
/// data, then (for storages) a views pickle.
fn legacy_records(
    cx: &mut Cx<'_>,
    blob: &Blob<'_>,
    loc: &Location,
    tensors: bool,
) -> io::Result<()> {
    let len = blob.len().unwrap_or(0);
    let limits = aigate_pickle::Limits {
        max_pickles: Some(1),
        ..cx.limits().pickle
    };
    cx.scanned(loc, "pytorch-legacy-records", len);
    let mut pos = 0u64;
    while pos < len {
        let Some(rest) = blob.slice(pos, len - pos) else {
            break;
        };
        let analysis = aigate_pickle::analyze(rest.open()?, &limits);
        let record = loc.join(format!("record @ {pos}"));
        cx.pickle_analysis(&analysis, &record, false)?;
        if analysis.pickles == 0 {
            return Ok(());
        }
        pos += analysis.bytes;
        let type_name = analysis.globals.iter().map(|g| g.name.as_str()).find(|n| {
            if tensors {
                n.ends_with("Tensor")
            } else {
                n.ends_with("Storage")
            }
        });
        let Some(type_name) = type_name else { continue };
        let skip = if tensors {
            let raw = blob.exact_at(pos, 4)?;
            let ndim = i32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
            u64::try_from(ndim).ok().map(|n| 8 + 16 * n + 8)
        } else {
            let raw = blob.exact_at(pos, 8)?;
            let numel = u64::from_le_bytes([
                raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7],
            ]);
            element_size(type_name)
                .and_then(|e| numel.checked_mul(e))
                .and_then(|n| n.checked_add(8))
        };
        match skip
            .and_then(|s| pos.checked_add(s))
            .filter(|end| *end <= len)
        {
            Some(end) => pos = end,
            None => {
                finding(
                    cx,
                    TORCH_LEGACY_MALFORMED,
                    &record,
                    format!(
                        "the raw data after the record of {type_name} does not fit the member; the rest was not analysed"
                    ),
                );
                return Ok(());
            }
        }
    }
    Ok(())
}
