//! The scanner the per-reader fuzz targets share, built once with small limits.

use std::sync::OnceLock;

/// One scanner for every run: building its rules for globals costs more than most inputs.
pub fn scanner() -> Option<&'static aigate_scan::Scanner> {
    static SCANNER: OnceLock<Option<aigate_scan::Scanner>> = OnceLock::new();
    SCANNER
        .get_or_init(|| {
            let limits = aigate_scan::ScanLimits {
                max_decoded_bytes: 16 << 20,
                max_in_memory: 16 << 20,
                max_decoded_bytes_per_file: 64 << 20,
                min_decoded_bytes_per_file: 64 << 20,
                ..aigate_scan::ScanLimits::default()
            };
            aigate_scan::Scanner::new(&[], &[], limits).ok()
        })
        .as_ref()
}
