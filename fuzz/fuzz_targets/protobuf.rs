//! The protobuf readers (ONNX ModelProto, TensorFlow SavedModel and Keras metadata) and the
//! TFLite flatbuffer reader on arbitrary bytes, under the names that select them.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "shared/scanner.rs"]
mod shared;
use shared::scanner;

fuzz_target!(|data: &[u8]| {
    let Some(scanner) = scanner() else { return };
    for name in ["model.onnx", "saved_model.pb", "keras_metadata.pb", "model.tflite"] {
        let _ = scanner.scan_bytes(data, name);
    }
});
