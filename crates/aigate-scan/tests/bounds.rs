//! Every container bound is a finding, never a hang, a panic or an allocation the input chose.

use std::io::Write;

use aigate_scan::{FileScan, ScanLimits, Scanner};

fn scan(data: &[u8], name: &str, limits: ScanLimits) -> FileScan {
    Scanner::new(&[], &[], limits)
        .unwrap_or_else(|e| panic!("{e}"))
        .scan_bytes(data, name)
}

fn rules(scan: &FileScan) -> Vec<&str> {
    scan.findings.iter().map(|f| f.rule.as_str()).collect()
}

/// A stored zip with one member, written by hand.
fn zip(name: &str, data: &[u8]) -> Vec<u8> {
    let crc = crc32(data);
    let mut out = Vec::new();
    let local = |out: &mut Vec<u8>| {
        out.extend(0x0403_4b50u32.to_le_bytes());
        out.extend([20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
        out.extend(crc.to_le_bytes());
        out.extend((data.len() as u32).to_le_bytes());
        out.extend((data.len() as u32).to_le_bytes());
        out.extend((name.len() as u16).to_le_bytes());
        out.extend([0, 0]);
        out.extend(name.as_bytes());
    };
    local(&mut out);
    out.extend(data);
    let cd = out.len() as u32;
    out.extend(0x0201_4b50u32.to_le_bytes());
    out.extend([20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
    out.extend(crc.to_le_bytes());
    out.extend((data.len() as u32).to_le_bytes());
    out.extend((data.len() as u32).to_le_bytes());
    out.extend((name.len() as u16).to_le_bytes());
    out.extend([0u8; 12]);
    out.extend(0u32.to_le_bytes());
    out.extend(name.as_bytes());
    let cd_len = out.len() as u32 - cd;
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0, 0, 0, 0, 1, 0, 1, 0]);
    out.extend(cd_len.to_le_bytes());
    out.extend(cd.to_le_bytes());
    out.extend([0, 0]);
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn huge_lzma_dictionary_is_refused_not_allocated() {
    let mut data = vec![0x5d];
    data.extend((1u32 << 30).to_le_bytes());
    data.extend((-1i64).to_le_bytes());
    data.extend([0u8; 64]);
    let got = scan(&data, "model.lzma", ScanLimits::default());
    assert_eq!(rules(&got), ["compression-corrupt"]);
}

#[test]
fn decompression_bombs_stop_at_the_decoded_limit() {
    let mut enc = flate2_like_gzip(&vec![b'N'; 4 << 20]);
    enc.truncate(enc.len());
    let limits = ScanLimits {
        max_decoded_bytes: 1 << 20,
        ..ScanLimits::default()
    };
    let got = scan(&enc, "model.pkl.gz", limits);
    assert!(
        rules(&got).contains(&"container-budget-exceeded"),
        "{:?}",
        got.findings
    );
}

fn flate2_like_gzip(data: &[u8]) -> Vec<u8> {
    // gzip via the system-independent path: a stored deflate block stream is enough here.
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    for (i, chunk) in data.chunks(65535).enumerate() {
        let last = (i + 1) * 65535 >= data.len();
        out.push(u8::from(last));
        out.extend((chunk.len() as u16).to_le_bytes());
        out.extend((!(chunk.len() as u16)).to_le_bytes());
        out.write_all(chunk).ok();
    }
    out.extend(crc32(data).to_le_bytes());
    out.extend((data.len() as u32).to_le_bytes());
    out
}

#[test]
fn nesting_deeper_than_the_limit_is_a_finding() {
    let mut data = b"cos\nsystem\n(S'x'\ntR.".to_vec();
    for depth in 0..12 {
        data = zip(&format!("level{depth}.zip"), &data);
    }
    let got = scan(&data, "nested.zip", ScanLimits::default());
    assert!(
        rules(&got).contains(&"container-budget-exceeded"),
        "{:?}",
        got.findings
    );
}

#[test]
fn nesting_within_the_limit_is_analysed() {
    let mut data = b"cos\nsystem\n(S'x'\ntR.".to_vec();
    for depth in 0..5 {
        data = zip(&format!("level{depth}.zip"), &data);
    }
    let got = scan(&data, "nested.zip", ScanLimits::default());
    assert_eq!(rules(&got), ["pickle-unsafe-global"]);
}

#[test]
fn member_count_is_bounded() {
    let limits = ScanLimits {
        max_members: 0,
        ..ScanLimits::default()
    };
    let got = scan(&zip("a.pkl", b"N."), "many.zip", limits);
    assert_eq!(rules(&got), ["container-budget-exceeded"]);
}

#[test]
fn truncated_zip_is_malformed_not_a_pass() {
    let data = zip("data.pkl", b"cos\nsystem\n(S'x'\ntR.");
    let got = scan(&data[..data.len() - 30], "model.pt", ScanLimits::default());
    assert!(rules(&got).contains(&"zip-malformed"), "{:?}", got.findings);
}

/// A ustar header for a regular member of `size` bytes.
fn tar_header(name: &str, size: u64) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

#[test]
fn tar_member_claiming_more_than_follows_is_malformed_not_allocated() {
    let mut tar = tar_header("model.pkl", 900 << 20);
    tar.extend(b"cos\nsystem\n");
    let got = scan(
        &flate2_like_gzip(&tar),
        "bundle.tar.gz",
        ScanLimits::default(),
    );
    assert!(rules(&got).contains(&"tar-malformed"), "{:?}", got.findings);
}
