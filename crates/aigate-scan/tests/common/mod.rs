//! Samples built byte by byte for the scanner's tests: zips (stored or deflated, with entries
//! that may share their data), tar headers, gzip streams. Nothing here is ever loaded.

#![allow(dead_code, unreachable_pub)]

use std::io::Write;

use aigate_scan::{FileScan, ScanLimits, Scanner};

/// Scans `data` as a file named `name`.
pub fn scan(data: &[u8], name: &str, limits: ScanLimits) -> FileScan {
    Scanner::new(&[], &[], limits)
        .unwrap()
        .scan_bytes(data, name)
}

/// The rule ids found, in order.
pub fn rules(scan: &FileScan) -> Vec<&str> {
    scan.findings.iter().map(|f| f.rule.as_str()).collect()
}

/// A zip member: name, content, and whether to deflate it.
pub struct Member<'a> {
    pub name: &'a str,
    pub data: &'a [u8],
    pub deflate: bool,
}

/// A zip archive of `members`; `extra_entries` more central directory entries point at the
/// first member's local record (the overlapping-entries bomb).
pub fn zip_with(members: &[Member<'_>], extra_entries: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    let mut count = 0u16;
    let mut first: Option<(u32, Vec<u8>)> = None;
    for m in members {
        let crc = crc32fast::hash(m.data);
        let (method, body) = if m.deflate {
            let mut enc =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(m.data).unwrap();
            (8u16, enc.finish().unwrap())
        } else {
            (0u16, m.data.to_vec())
        };
        let offset = out.len() as u32;
        let fixed = |out: &mut Vec<u8>, sig: u32| {
            out.extend(sig.to_le_bytes());
            if sig == 0x0201_4b50 {
                out.extend([20, 0]);
            }
            out.extend([20, 0, 0, 0]);
            out.extend(method.to_le_bytes());
            out.extend([0, 0, 0x21, 0]);
            out.extend(crc.to_le_bytes());
            out.extend((body.len() as u32).to_le_bytes());
            out.extend((m.data.len() as u32).to_le_bytes());
            out.extend((m.name.len() as u16).to_le_bytes());
            out.extend([0, 0]);
        };
        fixed(&mut out, 0x0403_4b50);
        out.extend(m.name.as_bytes());
        out.extend(&body);
        let mut entry = Vec::new();
        fixed(&mut entry, 0x0201_4b50);
        // Comment length, disk, internal and external attributes.
        entry.extend([0u8; 10]);
        entry.extend(offset.to_le_bytes());
        entry.extend(m.name.as_bytes());
        central.extend(&entry);
        count += 1;
        if first.is_none() {
            first = Some((offset, entry));
        }
    }
    if let Some((_, entry)) = &first {
        for _ in 0..extra_entries {
            central.extend(entry);
            count += 1;
        }
    }
    let cd = out.len() as u32;
    out.extend(&central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0, 0, 0, 0]);
    out.extend(count.to_le_bytes());
    out.extend(count.to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(cd.to_le_bytes());
    out.extend([0, 0]);
    out
}

/// A zip with one stored member.
pub fn zip(name: &str, data: &[u8]) -> Vec<u8> {
    zip_with(
        &[Member {
            name,
            data,
            deflate: false,
        }],
        0,
    )
}

/// A ustar header for a regular member of `size` bytes.
pub fn tar_header(name: &str, size: u64) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    set_tar_checksum(&mut h);
    h
}

/// Recomputes a tar header's checksum after an edit.
pub fn set_tar_checksum(h: &mut [u8]) {
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
}

/// A tar of one member holding `data`.
pub fn tar(name: &str, data: &[u8]) -> Vec<u8> {
    let mut out = tar_header(name, data.len() as u64);
    out.extend(data);
    out.resize(out.len().div_ceil(512) * 512 + 1024, 0);
    out
}

/// `data` gzip-compressed.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}
