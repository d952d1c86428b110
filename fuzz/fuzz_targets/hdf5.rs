//! The HDF5 reader (superblock, root object header, attribute messages, global heap) on
//! arbitrary bytes: directly, and through a scan under the names that select it (`.h5` also
//! where the signature is missing or follows a user block), so that the Keras checks of
//! whatever `model_config` it finds run too. Whatever the reader returns, a full read must
//! agree with itself: the same bytes read twice give the same attributes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let first = aigate_scan::hdf5_root_attributes(data);
    assert_eq!(first, aigate_scan::hdf5_root_attributes(data));
    let limits = aigate_scan::ScanLimits {
        max_decoded_bytes: 16 << 20,
        max_in_memory: 16 << 20,
        ..aigate_scan::ScanLimits::default()
    };
    let Ok(scanner) = aigate_scan::Scanner::new(&[], &[], limits) else { return };
    for name in ["model.h5", "data.mat", "weights.bin"] {
        let _ = scanner.scan_bytes(data, name);
    }
});
