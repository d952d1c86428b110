//! The protobuf readers (ONNX ModelProto, TensorFlow SavedModel and Keras metadata) and the
//! TFLite flatbuffer reader on arbitrary bytes, under the names that select them.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = aigate_scan::ScanLimits {
        max_decoded_bytes: 16 << 20,
        max_in_memory: 16 << 20,
        max_decoded_bytes_per_file: 64 << 20,
        min_decoded_bytes_per_file: 64 << 20,
        ..aigate_scan::ScanLimits::default()
    };
    let Ok(scanner) = aigate_scan::Scanner::new(&[], &[], limits) else { return };
    for name in ["model.onnx", "saved_model.pb", "keras_metadata.pb", "model.tflite"] {
        let _ = scanner.scan_bytes(data, name);
    }
});
