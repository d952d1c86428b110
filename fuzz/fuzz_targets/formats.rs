//! The readers of model formats beside pickles (GGUF, ONNX, safetensors, Hugging Face
//! configurations and chat-template files, and the Jinja2 analysis behind them) on arbitrary
//! bytes, under the names that select them.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = aigate_scan::ScanLimits {
        max_decoded_bytes: 16 << 20,
        max_in_memory: 16 << 20,
        ..aigate_scan::ScanLimits::default()
    };
    let Ok(scanner) = aigate_scan::Scanner::new(&[], &[], limits) else { return };
    for name in [
        "model.gguf",
        "model.onnx",
        "model_config.yaml",
        "saved_model.pb",
        "keras_metadata.pb",
        "model.tflite",
        "config.json",
        "tokenizer_config.json",
        "chat_template.jinja",
    ] {
        let _ = scanner.scan_bytes(data, name);
    }
});
