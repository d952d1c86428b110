//! TorchScript archives (`torch.jit.save`): a PyTorch zip whose records include `constants.pkl`,
//! which is how `torch.load` tells them apart and hands them to `torch.jit.load`. Their pickles
//! (`data.pkl`, `constants.pkl`, `code/**.debug_pkl`) are read by PyTorch's C++ unpickler, which
//! resolves only TorchScript's own types (`__torch__.*` compiled classes, the list and tensor
//! builders of `torch.jit._pickle`, tensor rebuilds, storages) and cannot import a Python
//! callable; so those globals are not findings there. Any other global keeps the judgement it
//! gets in any pickle: a file that is harmless to one loader and not to another is unsafe.
//!
//! The compiled sources in `code/` are TorchScript, not Python that an interpreter runs; they are
//! read for custom operators (`torch.ops.NS` outside PyTorch's own namespaces) and custom classes
//! (`torch.classes.NS`), which need native libraries loaded by the loading process.

use std::io;

use aigate_report::{Finding, Rule};

use crate::dispatch::Cx;
use crate::formats::{FormatScanner, Input, NameHint, Sniff};
use crate::rules::{TORCHSCRIPT_CUSTOM_OP, ZIP_MALFORMED};

/// Largest source member read.
const MAX_SOURCE: u64 = 64 << 20;

/// Operator namespaces PyTorch itself registers.
const BUILTIN_OP_NAMESPACES: &[&str] = &[
    "aten",
    "prim",
    "quantized",
    "_quantized",
    "quantized_decomposed",
    "profiler",
    "_caffe2",
    "cuda",
    "mkldnn",
    "mkl",
    "_nnapi",
    "xnnpack",
    "prepacked",
    "sparse",
    "fbgemm",
    "torchvision",
    "torchaudio",
];

/// Whether PyTorch's C++ unpickler resolves `module.name` itself (without Python).
pub(crate) fn resolves(module: &str, name: &str) -> bool {
    match module {
        "torch.jit._pickle" => name.starts_with("build_") || name == "restore_type_tag",
        "torch._utils" => matches!(
            name,
            "_rebuild_tensor"
                | "_rebuild_tensor_v2"
                | "_rebuild_qtensor"
                | "_rebuild_sparse_tensor"
        ),
        "torch" => name.ends_with("Storage") || name == "device",
        "collections" => name == "OrderedDict",
        "builtins" => name == "set",
        "__main__" => matches!(
            name,
            "TensorID" | "IntList" | "TensorList" | "DoubleList" | "BoolList"
        ),
        _ => module == "__torch__" || module.starts_with("__torch__."),
    }
}

/// The compiled TorchScript sources of an archive's `code/` folder.
pub(crate) struct TorchScriptCode;

impl FormatScanner for TorchScriptCode {
    fn name(&self) -> &'static str {
        "torchscript-code"
    }

    fn sniff(&self, input: &Sniff<'_>) -> bool {
        input.hint == NameHint::TorchScriptCode
    }

    fn malformed_rule(&self) -> &'static Rule {
        &ZIP_MALFORMED
    }

    fn scan(&self, cx: &mut Cx<'_>, input: &Input<'_>) -> io::Result<()> {
        let bytes = input.blob.materialize(MAX_SOURCE)?;
        cx.scanned(input.loc, self.name(), self.version(), bytes.len() as u64);
        let text = String::from_utf8_lossy(&bytes);
        let mut seen = Vec::new();
        for (kind, namespace) in custom_namespaces(&text) {
            if seen.contains(&(kind, namespace)) {
                continue;
            }
            seen.push((kind, namespace));
            cx.finding(
                Finding::new(
                    &TORCHSCRIPT_CUSTOM_OP,
                    format!(
                        "the compiled code calls torch.{kind}.{namespace}, which only a native library the loading process loads can provide"
                    ),
                    input.loc.clone(),
                )
                .with_detail("namespace", namespace.to_owned()),
            );
        }
        Ok(())
    }
}

/// `(ops|classes, namespace)` of every custom operator or class the sources use.
fn custom_namespaces(text: &str) -> Vec<(&'static str, &str)> {
    let mut out = Vec::new();
    for (kind, prefix) in [("ops", "torch.ops."), ("classes", "torch.classes.")] {
        let mut rest = text;
        while let Some(at) = rest.find(prefix) {
            let after = &rest[at + prefix.len()..];
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            let namespace = &after[..end];
            if !namespace.is_empty()
                && (kind == "classes" || !BUILTIN_OP_NAMESPACES.contains(&namespace))
            {
                out.push((kind, namespace));
            }
            rest = &after[end..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_torchscript_types_resolve() {
        assert!(resolves("torch.jit._pickle", "build_intlist"));
        assert!(resolves("__torch__.silero.Model", "VADRNNJIT"));
        assert!(resolves("torch._utils", "_rebuild_tensor_v2"));
        assert!(!resolves("os", "system"));
        assert!(!resolves("torch.jit._pickle", "eval"));
        assert!(!resolves("__torch_evil__", "x"));
    }

    #[test]
    fn custom_operators_are_found_and_builtin_ones_are_not() {
        let code = "def forward(self, x):\n  y = torch.ops.aten.relu(x)\n  z = torch.ops.my_ext.fused(y)\n  return torch.classes.acme.Thing\n";
        assert_eq!(
            custom_namespaces(code),
            vec![("ops", "my_ext"), ("classes", "acme")]
        );
    }
}
