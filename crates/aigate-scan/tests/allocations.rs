//! Inputs that claim sizes the scanner must not allocate: a counting allocator in this test
//! binary sees what each test's thread allocates, so "not allocated" is measured, not assumed.

// Test setup fails loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(unsafe_code)] // a global allocator is an unsafe trait; it only counts and delegates

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use aigate_scan::ScanLimits;
use common::{gzip, rules, scan, tar_header};

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn add(n: isize) {
    // `try_with`: the allocator also runs while thread-locals are torn down.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + n;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is forwarded unchanged to the system allocator; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as isize);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-(layout.size() as isize));
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as isize);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size as isize - layout.size() as isize);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The most this thread had allocated at once while `work` ran, above what it held before.
fn peak_of<T>(work: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let out = work();
    let peak = PEAK.with(Cell::get) - base;
    (out, usize::try_from(peak).unwrap_or(0))
}

const MIB: usize = 1 << 20;

#[test]
fn huge_lzma_dictionary_is_refused_not_allocated() {
    let mut data = vec![0x5d];
    data.extend((1u32 << 30).to_le_bytes());
    data.extend((-1i64).to_le_bytes());
    data.extend([0u8; 64]);
    let (got, peak) = peak_of(|| scan(&data, "model.lzma", ScanLimits::default()));
    assert_eq!(rules(&got), ["compression-corrupt"]);
    assert!(peak < 8 * MIB, "peak {peak} bytes");
}

#[test]
fn tar_member_claiming_more_than_follows_is_not_allocated() {
    let mut tar = tar_header("model.pkl", 900 << 20);
    tar.extend(b"cos\nsystem\n");
    let data = gzip(&tar);
    let (got, peak) = peak_of(|| scan(&data, "bundle.tar.gz", ScanLimits::default()));
    assert!(rules(&got).contains(&"tar-malformed"), "{:?}", got.findings);
    assert!(peak < 8 * MIB, "peak {peak} bytes");
}

#[test]
fn central_directory_claiming_more_than_the_file_is_not_allocated() {
    // An end record whose central directory is 500 MiB, in a file of 22 bytes.
    let mut data = 0x0605_4b50u32.to_le_bytes().to_vec();
    data.extend([0, 0, 0, 0, 1, 0, 1, 0]);
    data.extend((500u32 << 20).to_le_bytes());
    data.extend(0u32.to_le_bytes());
    data.extend([0, 0]);
    let (got, peak) = peak_of(|| scan(&data, "model.pt", ScanLimits::default()));
    assert_eq!(rules(&got), ["zip-malformed"]);
    assert!(peak < MIB, "peak {peak} bytes");
}

#[test]
fn embedded_raw_pickles_are_held_once() {
    let payload_len = 32 * MIB;
    // Inner: PROTO 4, BINBYTES8 of zeros, STOP. Outer: PROTO 4, BINBYTES8 of the inner, STOP.
    let mut inner = vec![0x80, 4, 0x8e];
    inner.extend((payload_len as u64).to_le_bytes());
    inner.resize(inner.len() + payload_len, 0);
    inner.extend(b".");
    let mut outer = vec![0x80, 4, 0x8e];
    outer.extend((inner.len() as u64).to_le_bytes());
    outer.extend(&inner);
    outer.extend(b".");
    drop(inner);
    let (got, peak) = peak_of(|| scan(&outer, "model.pkl", ScanLimits::default()));
    assert_eq!(
        rules(&got),
        ["pickle-embedded-pickle"],
        "{:?}",
        got.findings
    );
    assert!(
        peak < payload_len + payload_len / 2,
        "peak {peak} bytes for a {payload_len} byte payload"
    );
}
