//! What a file no reader claims is: ordinary data (text, JSON, images, tensors of formats
//! without code paths), a model format aigate does not analyse yet, an executable or shared
//! library, or a script. Only the first passes silently; the others are findings, so a walk
//! never drops a file that could run code.

/// What an unclaimed file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unclaimed {
    /// A model format that can carry code or reach files, which aigate does not read yet.
    NotAnalysed(&'static str),
    /// Native code: ELF, PE or Mach-O, a llamafile.
    Executable(&'static str),
    /// Source or bytecode that an interpreter runs.
    Script(&'static str),
    /// Nothing that runs.
    Data,
}

/// Model formats by extension (some have no magic number), with what they are.
const NOT_ANALYSED: &[(&str, &str)] = &[
    ("ort", "ONNX Runtime model"),
    ("keras", "Keras model"),
    ("tflite", "TensorFlow Lite model"),
    ("lite", "TensorFlow Lite model"),
    ("pb", "TensorFlow protobuf (SavedModel or frozen graph)"),
    ("engine", "TensorRT engine"),
    ("plan", "TensorRT engine"),
    ("trt", "TensorRT engine"),
    ("mlmodel", "Core ML model"),
    ("mlpackage", "Core ML package"),
    ("pdmodel", "PaddlePaddle model"),
    ("pdiparams", "PaddlePaddle parameters"),
    ("params", "MXNet parameters"),
    ("pte", "ExecuTorch program"),
    ("ptl", "PyTorch Lite (mobile) model"),
    ("mleap", "MLeap bundle"),
    ("pmml", "PMML model"),
    ("caffemodel", "Caffe model"),
    ("t7", "Torch7 model"),
    ("msgpack", "Flax msgpack checkpoint"),
    ("llamafile", "llamafile"),
];

/// Files that interpreters run.
const SCRIPTS: &[(&str, &str)] = &[
    ("py", "Python source"),
    ("pyc", "compiled Python bytecode"),
    ("pyo", "compiled Python bytecode"),
    ("pyw", "Python source"),
    ("ipynb", "Jupyter notebook"),
    ("sh", "shell script"),
    ("bash", "shell script"),
    ("zsh", "shell script"),
    ("ps1", "PowerShell script"),
    ("bat", "Windows batch file"),
    ("cmd", "Windows batch file"),
    ("vbs", "VBScript"),
    ("js", "JavaScript"),
    ("rb", "Ruby script"),
    ("pl", "Perl script"),
    ("lua", "Lua script"),
];

/// Native code by extension, where the content did not already say so.
const NATIVE: &[(&str, &str)] = &[
    ("so", "shared library"),
    ("dll", "Windows DLL"),
    ("dylib", "macOS dynamic library"),
    ("exe", "Windows executable"),
];

fn extension(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    // `libfoo.so.1`: a versioned shared library.
    if let Some((_, rest)) = base.split_once(".so.")
        && rest
            .split('.')
            .all(|p| p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Some("so".to_owned());
    }
    base.rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .filter(|ext| !ext.is_empty())
}

fn lookup(table: &[(&str, &'static str)], ext: &str) -> Option<&'static str> {
    table.iter().find(|(e, _)| *e == ext).map(|(_, what)| *what)
}

/// What the file `name` starting with `head` is, for a file no reader claimed.
pub(crate) fn classify(head: &[u8], name: &str) -> Unclaimed {
    if let Some(what) = native_magic(head) {
        return Unclaimed::Executable(what);
    }
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let ext = extension(name);
    if let Some(what) = ext.as_deref().and_then(|e| lookup(NATIVE, e)) {
        return Unclaimed::Executable(what);
    }
    if let Some(what) = ext.as_deref().and_then(|e| lookup(SCRIPTS, e)) {
        return Unclaimed::Script(what);
    }
    if head.starts_with(b"#!") {
        return Unclaimed::Script("script with a #! interpreter line");
    }
    // A SavedModel's fingerprint holds hashes of the other files, nothing that runs.
    if base == "fingerprint.pb" {
        return Unclaimed::Data;
    }
    if ext.as_deref() == Some("xml") && contains(head, b"<net ") {
        return Unclaimed::NotAnalysed("OpenVINO model");
    }
    if let Some(what) = ext.as_deref().and_then(|e| lookup(NOT_ANALYSED, e)) {
        return Unclaimed::NotAnalysed(what);
    }
    Unclaimed::Data
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Native code by its magic number: ELF, PE (an `MZ` header whose `e_lfanew` points at `PE\0\0`),
/// Mach-O (32 and 64 bit, both byte orders, and universal binaries), Actually Portable
/// Executables (llamafile).
fn native_magic(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"\x7fELF") {
        return Some("ELF executable or shared library");
    }
    if head.starts_with(b"MZqFpD") {
        return Some("Actually Portable Executable (a llamafile, say)");
    }
    if head.starts_with(b"MZ") {
        let lfanew = head
            .get(0x3c..0x40)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)?;
        if head.get(lfanew..lfanew + 4) == Some(b"PE\0\0") {
            return Some("Windows PE executable or DLL");
        }
        return None;
    }
    match head.get(..4)? {
        [0xfe, 0xed, 0xfa, 0xce | 0xcf] | [0xce | 0xcf, 0xfa, 0xed, 0xfe] => {
            Some("Mach-O executable or library")
        }
        // Universal binaries share their magic with Java class files; a count of architectures
        // below 20 is a universal binary (a class file's version is 45 or more).
        [0xca, 0xfe, 0xba, 0xbe]
            if head
                .get(4..8)
                .is_some_and(|n| n[0] == 0 && n[1] == 0 && n[2] == 0 && n[3] < 20) =>
        {
            Some("Mach-O universal binary")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_code_is_found_by_content_and_name() {
        assert!(matches!(
            classify(b"\x7fELF\x02\x01", "weights.bin"),
            Unclaimed::Executable(_)
        ));
        let mut pe = vec![0u8; 0x90];
        pe[..2].copy_from_slice(b"MZ");
        pe[0x3c] = 0x80;
        pe[0x80..0x84].copy_from_slice(b"PE\0\0");
        assert!(matches!(
            classify(&pe, "model.bin"),
            Unclaimed::Executable(_)
        ));
        assert_eq!(classify(b"MZ is a text", "notes.txt"), Unclaimed::Data);
        assert!(matches!(
            classify(b"\xcf\xfa\xed\xfe", "x"),
            Unclaimed::Executable(_)
        ));
        assert!(matches!(
            classify(b"", "libcustom_ops.so.2"),
            Unclaimed::Executable(_)
        ));
        assert!(matches!(
            classify(b"MZqFpD='\n", "model.llamafile"),
            Unclaimed::Executable(_)
        ));
    }

    #[test]
    fn scripts_models_and_data() {
        assert!(matches!(
            classify(b"import os", "modeling_x.py"),
            Unclaimed::Script(_)
        ));
        assert!(matches!(
            classify(b"#!/bin/sh\n", "run"),
            Unclaimed::Script(_)
        ));
        assert!(matches!(
            classify(b"\x08\x07", "model.ort"),
            Unclaimed::NotAnalysed(_)
        ));
        assert!(matches!(
            classify(b"<?xml?><net name=\"m\">", "m.xml"),
            Unclaimed::NotAnalysed(_)
        ));
        assert_eq!(classify(b"{\"a\": 1}", "config.json"), Unclaimed::Data);
        assert_eq!(classify(b"\x89PNG\r\n", "logo.png"), Unclaimed::Data);
        assert_eq!(classify(b"cat\ndog\n", "labels.txt"), Unclaimed::Data);
    }
}
