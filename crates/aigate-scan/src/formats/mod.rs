//! The format registry: every reader aigate has, in the order their sniffs are tried. Adding a
//! format is one module and one line in [`FORMATS`].
//!
//! A reader ([`FormatScanner`]) has a name and a version (recorded in the report and, through
//! the scan record, in the lock), a cheap sniff that sees the first bytes and the name (ONNX has
//! no magic number), the magic numbers it knows (for the fuzzers' dictionary), the rule for an
//! input it cannot read, and `scan`.

pub(crate) mod chat_template;
pub(crate) mod compressed;
pub(crate) mod data;
pub(crate) mod gguf;
pub(crate) mod hdf5;
pub(crate) mod hf;
pub(crate) mod hydra;
pub(crate) mod keras;
pub(crate) mod npy;
pub(crate) mod onnx;
pub(crate) mod other;
pub(crate) mod pickle;
pub(crate) mod protobuf;
pub(crate) mod safetensors;
pub(crate) mod serving;
pub(crate) mod sevenz;
pub(crate) mod tar;
pub(crate) mod tensorflow;
pub(crate) mod tflite;
pub(crate) mod torchscript;
pub(crate) mod zip;

use std::io;

use aigate_report::{Location, Rule};

use crate::dispatch::Cx;
use crate::findings::Reach;
use crate::source::Blob;

/// Bytes read from the start of every input to sniff it (a tar header needs 262).
pub(crate) const HEAD: usize = 512;

/// Every reader, in the order their sniffs are tried; the first that claims an input reads it.
/// Content decides: names only break ties for formats without a magic number.
pub(crate) static FORMATS: &[&dyn FormatScanner] = &[
    &zip::Zip,
    &sevenz::SevenZ,
    &npy::Npy,
    &gguf::Gguf,
    &tflite::Tflite,
    &hdf5::BY_CONTENT,
    &compressed::GZIP,
    &compressed::BZIP2,
    &compressed::XZ,
    &compressed::LZ4,
    &compressed::ZSTD,
    &compressed::JoblibZfile,
    &compressed::LZMA,
    &compressed::ZLIB,
    &pickle::TorchLegacy,
    &pickle::Pickle,
    &chat_template::ChatTemplate,
    &keras::KerasConfig,
    &hf::HfConfig,
    &hf::ModelCard,
    &onnx::Onnx,
    &hydra::HydraConfig,
    &tensorflow::SavedModel,
    &serving::Serving,
    &torchscript::TorchScriptCode,
    &tar::Tar,
    &data::DataFile,
    &safetensors::Safetensors,
    &hdf5::BY_NAME,
    &pickle::HeaderlessPickle,
];

/// What a reader sees to decide whether it applies.
pub(crate) struct Sniff<'a> {
    /// Up to [`HEAD`] bytes from the start.
    pub(crate) head: &'a [u8],
    /// What the name suggests.
    pub(crate) hint: NameHint,
}

/// One input handed to a reader.
pub(crate) struct Input<'a> {
    /// Its bytes.
    pub(crate) blob: &'a Blob<'a>,
    /// Where findings about it go.
    pub(crate) loc: &'a Location,
    /// Up to [`HEAD`] bytes from the start, already read.
    pub(crate) head: &'a [u8],
    /// What its name suggests.
    pub(crate) hint: NameHint,
    /// How many containers it is inside.
    pub(crate) depth: u32,
}

/// A format aigate reads.
pub(crate) trait FormatScanner: Sync {
    /// The format's name in reports and locks.
    fn name(&self) -> &'static str;

    /// The reader's version, bumped whenever what it reports for the same bytes may change.
    fn version(&self) -> u32 {
        1
    }

    /// The magic numbers this reader recognises, for the fuzzers' dictionary.
    fn magics(&self) -> &'static [&'static [u8]] {
        &[]
    }

    /// Whether this reader applies.
    fn sniff(&self, input: &Sniff<'_>) -> bool;

    /// The rule of a finding about an input this reader could not read to its end.
    fn malformed_rule(&self) -> &'static Rule;

    /// Analyses the input. An error is turned into a finding of [`Self::malformed_rule`] by the
    /// dispatcher; findings made before it stand.
    fn scan(&self, cx: &mut Cx<'_>, input: &Input<'_>) -> io::Result<()>;
}

/// What a name suggests, never decides: a strong pickle name makes unrecognised content a
/// finding; raw-data members are analysed only for recognised formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameHint {
    /// Named like a pickle, PyTorch, joblib or NumPy file.
    Pickle,
    /// Where loaders expect raw tensor bytes (a PyTorch zip's `data/` storages).
    RawData,
    /// A Hugging Face `tokenizer_config.json` or `chat_template.json`, which may carry chat
    /// templates.
    ChatTemplateJson,
    /// A Hugging Face `chat_template.jinja`.
    ChatTemplateText,
    /// The `config.json` of a Keras archive.
    KerasConfig,
    /// A Hugging Face `config.json` or other `*_config.json`, which may map classes to code.
    HfConfig,
    /// A `README.md`, which may be a Hugging Face model card.
    ModelCard,
    /// Named `.onnx`: ONNX has no magic number.
    Onnx,
    /// Named `.safetensors`: whatever it holds is read as safetensors.
    Safetensors,
    /// Named `.gguf`: whatever it holds is read as GGUF.
    Gguf,
    /// Named `.h5` or `.hdf5`: Keras loads such a file as HDF5, whose superblock may follow a
    /// user block.
    Hdf5,
    /// A YAML file, which may be a Hydra, OmegaConf or NeMo configuration.
    Yaml,
    /// A TensorFlow `saved_model.pb`.
    SavedModel,
    /// A Keras 2 SavedModel's `keras_metadata.pb`.
    KerasMetadata,
    /// A TorchServe archive's `MAR-INF/MANIFEST.json`.
    MarManifest,
    /// A TorchServe archive's `requirements.txt`.
    MarRequirements,
    /// An MLflow model's `MLmodel`.
    MlflowModel,
    /// A pickle of a TorchScript archive, which PyTorch's C++ unpickler reads.
    TorchScriptPickle,
    /// A compiled source of a TorchScript archive's `code/` folder.
    TorchScriptCode,
    /// Nothing to go by.
    None,
}

const PICKLE_EXTENSIONS: &[&str] = &[
    "pkl", "pickle", "pt", "pth", "ckpt", "joblib", "jbl", "npy", "npz", "sav", "p", "dill",
];
const COMPRESSED_EXTENSIONS: &[&str] = &["z", "gz", "bz2", "xz", "lzma", "lz4", "zlib"];

impl NameHint {
    /// What the last component of `name` suggests; compression suffixes are looked through.
    pub(crate) fn from_name(name: &str) -> NameHint {
        let base = name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(name)
            .to_ascii_lowercase();
        match base.as_str() {
            "tokenizer_config.json" | "chat_template.json" => return NameHint::ChatTemplateJson,
            "chat_template.jinja" => return NameHint::ChatTemplateText,
            "config.json" | "model_index.json" => return NameHint::HfConfig,
            name if name.eq_ignore_ascii_case("readme.md") => return NameHint::ModelCard,
            "saved_model.pb" => return NameHint::SavedModel,
            "keras_metadata.pb" => return NameHint::KerasMetadata,
            "mlmodel" if name.ends_with("MLmodel") => return NameHint::MlflowModel,
            name if name.ends_with("_config.json") => return NameHint::HfConfig,
            _ => {}
        }
        let mut parts = base.rsplit('.');
        let Some(ext) = parts.next().filter(|_| base.contains('.')) else {
            return NameHint::None;
        };
        let ext = if COMPRESSED_EXTENSIONS.contains(&ext) {
            match parts.next() {
                Some(inner) if base.matches('.').count() >= 2 => inner,
                _ => return NameHint::None,
            }
        } else {
            ext
        };
        match ext {
            "onnx" => return NameHint::Onnx,
            "safetensors" => return NameHint::Safetensors,
            "gguf" => return NameHint::Gguf,
            "h5" | "hdf5" => return NameHint::Hdf5,
            _ => {}
        }
        if ext == "yaml" || ext == "yml" {
            return NameHint::Yaml;
        }
        if PICKLE_EXTENSIONS.contains(&ext) {
            NameHint::Pickle
        } else {
            NameHint::None
        }
    }

    /// How a pickle found under this name is reached.
    pub(crate) fn reach(self) -> Reach {
        match self {
            NameHint::RawData => Reach::RawData,
            NameHint::TorchScriptPickle => Reach::TorchScript,
            _ => Reach::Loaded,
        }
    }
}

/// The name of the innermost archive member `loc` is in, else the file's path.
pub(crate) fn innermost_name(loc: &Location) -> &str {
    loc.steps
        .iter()
        .rev()
        .find_map(|s| match s {
            aigate_report::Step::Member(name) => Some(name.as_str()),
            _ => None,
        })
        .unwrap_or(&loc.path)
}

/// The reader whose sniff claims an input, if any.
pub(crate) fn sniff(head: &[u8], hint: NameHint) -> Option<&'static dyn FormatScanner> {
    let input = Sniff { head, hint };
    FORMATS.iter().copied().find(|f| f.sniff(&input))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name_of(head: &[u8]) -> Option<&'static str> {
        sniff(head, NameHint::None).map(|f| f.name())
    }

    #[test]
    fn names_only_hint() {
        assert_eq!(NameHint::from_name("model.pkl"), NameHint::Pickle);
        assert_eq!(NameHint::from_name("dir/model.joblib.xz"), NameHint::Pickle);
        assert_eq!(NameHint::from_name("weights.bin"), NameHint::None);
        assert_eq!(NameHint::from_name("archive.gz"), NameHint::None);
        assert_eq!(NameHint::from_name("README"), NameHint::None);
    }

    #[test]
    fn sniffs_by_content() {
        assert_eq!(name_of(b"PK\x03\x04rest"), Some("zip"));
        assert_eq!(name_of(b"\x78\x9cdata"), Some("zlib"));
        assert_eq!(name_of(b"xylophone"), None);
        assert_eq!(name_of(b"\x80\x04\x95\x00"), Some("pickle"));
        assert_eq!(name_of(b"cos\nsystem\n"), Some("pickle"));
        assert_eq!(name_of(b"\x93NUMPY\x01\x00"), Some("numpy"));
    }

    #[test]
    fn the_fuzz_dictionary_knows_every_magic_number() {
        let dict = include_str!("../../../../fuzz/dictionaries/formats.dict");
        for format in FORMATS {
            for magic in format.magics() {
                let escaped: String = magic.iter().map(|b| format!("\\x{b:02X}")).collect();
                assert!(
                    dict.contains(&format!("\"{escaped}\"")),
                    "fuzz/dictionaries/formats.dict lacks {} magic \"{escaped}\"",
                    format.name()
                );
            }
        }
    }
}
