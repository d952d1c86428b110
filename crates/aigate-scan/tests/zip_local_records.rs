//! Zip members by their physical local records: a record the central directory does not list
//! is a member streaming readers see and directory readers do not. The zips are built here
//! byte by byte (no writer makes them); nothing is ever loaded.

// Test setup fails loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aigate_report::Step;
use aigate_scan::ScanLimits;
use common::{rules, scan};

const EVIL: &[u8] = b"cos\nsystem\n(S'echo aigate-fixture'\ntR.";
const PLAIN: &[u8] = b"\x80\x02}q\x00X\x01\x00\x00\x00aK\x01s.";

/// A stored local record (flags 0, or 8 with a signed data descriptor after the data).
fn local(name: &str, data: &[u8], descriptor: bool) -> Vec<u8> {
    let crc = crc32fast::hash(data);
    let len = data.len() as u32;
    let mut out = b"PK\x03\x04".to_vec();
    out.extend_from_slice(&20u16.to_le_bytes());
    out.extend_from_slice(&(if descriptor { 8u16 } else { 0 }).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // stored
    out.extend_from_slice(&[0; 4]); // time, date
    let (c, s, z) = if descriptor {
        (0, 0, 0)
    } else {
        (crc, len, len)
    };
    out.extend_from_slice(&c.to_le_bytes());
    out.extend_from_slice(&s.to_le_bytes());
    out.extend_from_slice(&z.to_le_bytes());
    out.extend_from_slice(&(name.len() as u16).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(data);
    if descriptor {
        out.extend_from_slice(b"PK\x07\x08");
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
    }
    out
}

/// A central directory entry for a stored member at `offset`.
fn central(name: &str, data: &[u8], offset: u32, flags: u16) -> Vec<u8> {
    let len = data.len() as u32;
    let mut out = b"PK\x01\x02".to_vec();
    out.extend_from_slice(&20u16.to_le_bytes());
    out.extend_from_slice(&20u16.to_le_bytes());
    out.extend_from_slice(&flags.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(name.len() as u16).to_le_bytes());
    out.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attributes
    out.extend_from_slice(&[0; 4]); // external attributes
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    out
}

fn end(count: u16, cd: &[u8], cd_offset: u32) -> Vec<u8> {
    let mut out = b"PK\x05\x06\0\0\0\0".to_vec();
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&(cd.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[test]
fn a_local_record_the_central_directory_hides_is_found_and_analysed() {
    let first = local("model/data.pkl", PLAIN, false);
    let hidden = local("model/hidden.pkl", EVIL, false);
    let mut zip = first.clone();
    zip.extend_from_slice(&hidden);
    let cd = central("model/data.pkl", PLAIN, 0, 0);
    let cd_at = zip.len() as u32;
    zip.extend_from_slice(&cd);
    zip.extend_from_slice(&end(1, &cd, cd_at));
    let got = scan(&zip, "model.pt", ScanLimits::default());
    let rules = rules(&got);
    assert!(
        rules.contains(&"zip-unreferenced-local-record"),
        "{rules:?}"
    );
    let hit = got
        .findings
        .iter()
        .find(|f| f.rule == "pickle-unsafe-global")
        .unwrap_or_else(|| panic!("{:?}", got.findings));
    assert_eq!(
        hit.location.steps.first(),
        Some(&Step::Member("model/hidden.pkl".into()))
    );
}

#[test]
fn records_the_directory_lists_raise_nothing_even_with_data_descriptors() {
    let a = local("a.pkl", PLAIN, true);
    let b = local("b.pkl", PLAIN, true);
    let mut zip = a.clone();
    zip.extend_from_slice(&b);
    let mut cd = central("a.pkl", PLAIN, 0, 8);
    cd.extend_from_slice(&central("b.pkl", PLAIN, a.len() as u32, 8));
    let cd_at = zip.len() as u32;
    zip.extend_from_slice(&cd);
    zip.extend_from_slice(&end(2, &cd, cd_at));
    let got = scan(&zip, "x.zip", ScanLimits::default());
    assert!(got.findings.is_empty(), "{:?}", got.findings);
}

#[test]
fn a_hidden_record_after_a_data_descriptor_is_found() {
    let a = local("a.pkl", PLAIN, true);
    let hidden = local("b.pkl", EVIL, false);
    let mut zip = a.clone();
    zip.extend_from_slice(&hidden);
    let cd = central("a.pkl", PLAIN, 0, 8);
    let cd_at = zip.len() as u32;
    zip.extend_from_slice(&cd);
    zip.extend_from_slice(&end(1, &cd, cd_at));
    let got = scan(&zip, "x.zip", ScanLimits::default());
    let rules = rules(&got);
    assert!(
        rules.contains(&"zip-unreferenced-local-record"),
        "{rules:?}"
    );
    assert!(rules.contains(&"pickle-unsafe-global"), "{rules:?}");
}

#[test]
fn a_hidden_record_whose_length_comes_after_its_data_is_reported_not_passed() {
    let a = local("a.pkl", PLAIN, false);
    let hidden = local("b.pkl", EVIL, true);
    let mut zip = a.clone();
    zip.extend_from_slice(&hidden);
    let cd = central("a.pkl", PLAIN, 0, 0);
    let cd_at = zip.len() as u32;
    zip.extend_from_slice(&cd);
    zip.extend_from_slice(&end(1, &cd, cd_at));
    let got = scan(&zip, "x.zip", ScanLimits::default());
    let unreferenced: Vec<_> = got
        .findings
        .iter()
        .filter(|f| f.rule == "zip-unreferenced-local-record")
        .collect();
    assert_eq!(unreferenced.len(), 1, "{:?}", got.findings);
    assert!(unreferenced[0].message.contains("not analysed"));
}
