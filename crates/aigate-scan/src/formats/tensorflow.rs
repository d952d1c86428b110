//! TensorFlow SavedModels: `saved_model.pb` (a `SavedModel` protobuf: meta graphs, each a
//! `GraphDef` with nodes and a library of functions) and `keras_metadata.pb` (the Keras layer
//! configurations of a model saved by Keras 2). Loading a SavedModel runs its graphs, so the
//! ops in every graph and function are read for those that reach Python (`PyFunc`,
//! `EagerPyFunc`), the file system (`ReadFile`, `WriteFile`, `MatchingFiles`, `PrintV2` into a
//! file, summary writers, file datasets) or the network (`RpcCall`); the Keras metadata is
//! judged as a `.keras` configuration is. The checkpoint ops every SavedModel has (`SaveV2`,
//! `RestoreV2`, …) are its own variables' and are not findings.

use std::io;

use aigate_report::{Finding, Location, Rule, Step};

use crate::dispatch::Cx;
use crate::formats::protobuf::{Bad, Field, Wire};
use crate::formats::{FormatScanner, Input, NameHint, Sniff};
use crate::rules::{TF_FILE_OP, TF_MALFORMED, TF_PYTHON_OP};
use crate::source::Blob;

/// Largest protobuf read when it comes out of a decoder.
const MAX_DECODED: u64 = 256 << 20;
/// Deepest nesting of messages followed.
const MAX_DEPTH: u32 = 64;

/// Ops that call a Python function registered by the loading process.
pub(crate) const PYTHON_OPS: &[&str] = &["PyFunc", "PyFuncStateless", "EagerPyFunc"];
/// Ops that read or write files or reach the network.
pub(crate) const FILE_OPS: &[&str] = &[
    "ReadFile",
    "WriteFile",
    "MatchingFiles",
    "ImmutableConst",
    "CreateSummaryFileWriter",
    "WriteSummary",
    "WriteScalarSummary",
    "WriteAudioSummary",
    "WriteImageSummary",
    "WriteHistogramSummary",
    "WriteRawProtoSummary",
    "WriteGraphSummary",
    "DebugIdentityV2",
    "DebugIdentityV3",
    "TextLineDataset",
    "TextLineDatasetV2",
    "TFRecordDataset",
    "TFRecordDatasetV2",
    "FixedLengthRecordDataset",
    "FixedLengthRecordDatasetV2",
    "LoadDataset",
    "SaveDataset",
    "SaveDatasetV2",
    "RpcCall",
    "RpcClient",
    "RpcServer",
];

/// Which protobuf a file holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    SavedModel,
    MetaGraph,
    Graph,
    Library,
    Function,
    Node,
    KerasMetadata,
    KerasObject,
}

/// The reader of `saved_model.pb` and `keras_metadata.pb`.
pub(crate) struct SavedModel;

impl FormatScanner for SavedModel {
    fn name(&self) -> &'static str {
        "tensorflow-savedmodel"
    }

    fn sniff(&self, input: &Sniff<'_>) -> bool {
        matches!(input.hint, NameHint::SavedModel | NameHint::KerasMetadata)
    }

    fn malformed_rule(&self) -> &'static Rule {
        &TF_MALFORMED
    }

    fn scan(&self, cx: &mut Cx<'_>, input: &Input<'_>) -> io::Result<()> {
        let owned;
        let (blob, len) = match input.blob.len() {
            Some(len) => (*input.blob, len),
            None => {
                owned = input.blob.materialize(MAX_DECODED)?;
                (Blob::Memory(&owned), owned.len() as u64)
            }
        };
        let kind = if input.hint == NameHint::KerasMetadata {
            Kind::KerasMetadata
        } else {
            Kind::SavedModel
        };
        let mut reader = Reader {
            wire: Wire::new(blob),
            ops: Vec::new(),
            keras: Vec::new(),
        };
        match reader.message(0, len, kind, 0) {
            Ok(()) => cx.scanned(input.loc, self.name(), self.version(), len),
            Err(Bad::Format(why)) => {
                cx.finding(Finding::new(
                    &TF_MALFORMED,
                    format!("not a valid TensorFlow protobuf: {why}"),
                    input.loc.clone(),
                ));
            }
            Err(Bad::Io(err)) => return Err(err),
        }
        report_ops(cx, input.loc, &reader.ops);
        for (i, metadata) in reader.keras.iter().enumerate() {
            if let Ok(json) = serde_json::from_str::<serde_json::Value>(metadata) {
                crate::formats::keras::walk(cx, input.loc, &json, &format!("nodes[{i}]"));
            }
        }
        Ok(())
    }
}

fn report_ops(cx: &mut Cx<'_>, loc: &Location, ops: &[(String, String)]) {
    let mut seen: Vec<&str> = Vec::new();
    for (op, node) in ops {
        if seen.contains(&op.as_str()) {
            continue;
        }
        let (rule, what) = if PYTHON_OPS.contains(&op.as_str()) {
            (
                &TF_PYTHON_OP,
                "calls a Python function of the loading process",
            )
        } else if FILE_OPS.contains(&op.as_str()) {
            (&TF_FILE_OP, "reads or writes files, or reaches the network")
        } else if op == "PrintV2:file" {
            (&TF_FILE_OP, "prints into a file")
        } else {
            continue;
        };
        seen.push(op);
        let count = ops.iter().filter(|(o, _)| o == op).count();
        cx.finding(
            Finding::new(
                rule,
                format!(
                    "the graph's {} op {what} (node {node:?}{})",
                    op.trim_end_matches(":file"),
                    if count > 1 {
                        format!(", and {} more", count - 1)
                    } else {
                        String::new()
                    }
                ),
                loc.step(Step::Field(node.clone())),
            )
            .with_detail("op", op.trim_end_matches(":file").to_owned()),
        );
    }
}

struct Reader<'a> {
    wire: Wire<'a>,
    /// (op, node name) of every node.
    ops: Vec<(String, String)>,
    /// The JSON metadata of every Keras object.
    keras: Vec<String>,
}

impl Reader<'_> {
    fn message(&mut self, start: u64, end: u64, kind: Kind, depth: u32) -> Result<(), Bad> {
        if depth > MAX_DEPTH {
            return Err(Bad::Format(
                "messages nest deeper than any graph's".to_owned(),
            ));
        }
        let mut name = String::new();
        let mut op = String::new();
        let mut children: Vec<(Kind, u64, u64)> = Vec::new();
        let mut attrs: Vec<(u64, u64)> = Vec::new();
        let wire = &mut self.wire;
        let keras = &mut self.keras;
        wire.fields(start, end, &mut |w, field, value| {
            let Field::Bytes(s, e) = value else {
                return Ok(());
            };
            match (kind, field) {
                (Kind::SavedModel, 2) => children.push((Kind::MetaGraph, s, e)),
                (Kind::MetaGraph, 2) => children.push((Kind::Graph, s, e)),
                (Kind::Graph, 1) | (Kind::Function, 3) => children.push((Kind::Node, s, e)),
                (Kind::Graph, 2) => children.push((Kind::Library, s, e)),
                (Kind::Library, 1) => children.push((Kind::Function, s, e)),
                (Kind::Node, 1) => name = w.text(s, e)?,
                (Kind::Node, 2) => op = w.text(s, e)?,
                (Kind::Node, 5) => attrs.push((s, e)),
                (Kind::KerasMetadata, 1) => children.push((Kind::KerasObject, s, e)),
                (Kind::KerasObject, 4) => {
                    let len = usize::try_from(e - s).unwrap_or(usize::MAX).min(64 << 20);
                    let bytes = w.blob.exact_at(s, len)?;
                    keras.push(String::from_utf8_lossy(&bytes).into_owned());
                }
                _ => {}
            }
            Ok(())
        })?;
        if kind == Kind::Node {
            if op == "PrintV2" && self.prints_to_file(&attrs)? {
                op = "PrintV2:file".to_owned();
            }
            self.ops.push((op, name));
        }
        for (child, s, e) in children {
            self.message(s, e, child, depth + 1)?;
        }
        Ok(())
    }

    /// Whether a `PrintV2` node's `output_stream` attribute names a file.
    fn prints_to_file(&mut self, attrs: &[(u64, u64)]) -> Result<bool, Bad> {
        for &(s, e) in attrs {
            // map<string, AttrValue> entry: key = 1, value = 2 (AttrValue.s = 2).
            let mut key = String::new();
            let mut value = (0, 0);
            self.wire.fields(s, e, &mut |w, field, v| {
                if let Field::Bytes(a, b) = v {
                    match field {
                        1 => key = w.text(a, b)?,
                        2 => value = (a, b),
                        _ => {}
                    }
                }
                Ok(())
            })?;
            if key != "output_stream" {
                continue;
            }
            let mut stream = String::new();
            self.wire.fields(value.0, value.1, &mut |w, field, v| {
                if let (2, Field::Bytes(a, b)) = (field, v) {
                    stream = w.text(a, b)?;
                }
                Ok(())
            })?;
            return Ok(stream.starts_with("file://"));
        }
        Ok(false)
    }
}
