//! The in-toto Statement v1 model-signing signs: one subject (the model's name and a SHA-256
//! over every resource digest), the predicate `https://model_signing/signature/v1.0` with the
//! manifest (`resources`) and how it was made (`serialization`); and model-signing 0.2's
//! predicate `https://model_signing/Digests/v0.1`, with one subject per file, which its
//! verifiers still accept.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value};
use sha2::Digest as _;

use aigate_integrity::hash::{Algorithm, hex};

use crate::AttestError;

/// in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// model-signing's predicate since 0.3 (OpenSSF Model Signing v1.0).
pub const PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";
/// model-signing 0.2's predicate.
pub const PREDICATE_TYPE_V0_2: &str = "https://model_signing/Digests/v0.1";
/// The most resources a signed manifest may list.
pub const MAX_RESOURCES: usize = 1 << 20;
/// The longest resource name (a path and, for shards, its range).
const MAX_NAME: usize = 4096;
/// The default shard size of model-signing and the OMS spec: 1,000,000,000 bytes.
pub const DEFAULT_SHARD_SIZE: u64 = 1_000_000_000;

/// How the model was turned into a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serialization {
    /// One resource per file: its digest (`method: files`).
    Files {
        /// The file hash.
        hash: Algorithm,
    },
    /// One resource per `shard_size` bytes of each file (`method: shards`); empty files have
    /// none.
    Shards {
        /// The shard hash.
        hash: Algorithm,
        /// Bytes per shard (the last of a file may be shorter).
        shard_size: u64,
    },
}

impl Serialization {
    /// The hash.
    pub fn hash(self) -> Algorithm {
        match self {
            Serialization::Files { hash } | Serialization::Shards { hash, .. } => hash,
        }
    }

    /// `files` or `shards`.
    pub fn method(self) -> &'static str {
        match self {
            Serialization::Files { .. } => "files",
            Serialization::Shards { .. } => "shards",
        }
    }
}

/// The serialization parameters as signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    /// Method, hash and shard size.
    pub serialization: Serialization,
    /// Whether symbolic links were followed.
    pub allow_symlinks: bool,
    /// Paths left out, relative to the model root.
    pub ignore_paths: Vec<String>,
}

/// One resource of the manifest: a file, or a byte range of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// The file's path relative to the model root (`.` for a single-file model in
    /// model-signing's form).
    pub file: String,
    /// The byte range `start..end`, for shards.
    pub range: Option<(u64, u64)>,
    /// The digest.
    pub digest: Vec<u8>,
}

impl Resource {
    /// The resource's name in the manifest: the path, and for a shard `path:start:end`.
    pub fn name(&self) -> String {
        match self.range {
            None => self.file.clone(),
            Some((start, end)) => format!("{}:{start}:{end}", self.file),
        }
    }
}

/// A parsed model-signing statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The subject's name: the model's folder or file name (informational).
    pub subject_name: String,
    /// The predicate type.
    pub predicate_type: String,
    /// How the manifest was made (model-signing 0.2's fixed: files, sha256).
    pub params: Params,
    /// The manifest.
    pub resources: Vec<Resource>,
}

fn bad(msg: impl Into<String>) -> AttestError {
    AttestError::Statement(msg.into())
}

fn get<'a>(obj: &'a Map<String, Value>, key: &str, field: &str) -> Result<&'a Value, AttestError> {
    obj.get(key)
        .filter(|v| !v.is_null())
        .ok_or_else(|| bad(format!("`{field}` has no `{key}`")))
}

fn get_str<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<&'a str, AttestError> {
    get(obj, key, field)?
        .as_str()
        .ok_or_else(|| bad(format!("`{field}.{key}` is not a string")))
}

fn get_obj<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<&'a Map<String, Value>, AttestError> {
    get(obj, key, field)?
        .as_object()
        .ok_or_else(|| bad(format!("`{field}.{key}` is not an object")))
}

fn get_array<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<&'a [Value], AttestError> {
    get(obj, key, field)?
        .as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| bad(format!("`{field}.{key}` is not a list")))
}

fn decode_hex(text: &str, what: &str) -> Result<Vec<u8>, AttestError> {
    let nibble = |b: u8| (b as char).to_digit(16);
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return Err(bad(format!("{what} `{text}` is not hex")));
    }
    bytes
        .chunks_exact(2)
        .map(|pair| match (nibble(pair[0]), nibble(pair[1])) {
            (Some(hi), Some(lo)) => u8::try_from(hi << 4 | lo).map_err(|_| bad("hex")),
            _ => Err(bad(format!("{what} `{text}` is not hex"))),
        })
        .collect()
}

fn algorithm(name: &str) -> Result<Algorithm, AttestError> {
    match name {
        "sha256" => Ok(Algorithm::Sha256),
        "blake3" => Ok(Algorithm::Blake3),
        other => Err(AttestError::Unsupported(format!(
            "the model was hashed with `{other}`; aigate verifies sha256 and blake3"
        ))),
    }
}

/// Whether `path` is a canonical relative POSIX path: no leading `/`, no empty, `.` or `..`
/// component, no NUL. `.` alone is model-signing's name for a single-file model.
pub(crate) fn check_path(path: &str) -> Result<(), AttestError> {
    if path == "." {
        return Ok(());
    }
    if path.is_empty() || path.len() > MAX_NAME {
        return Err(bad(format!(
            "a resource name of {} bytes is not a file path",
            path.len()
        )));
    }
    if path.starts_with('/') {
        return Err(bad(format!("`{path}` is an absolute path")));
    }
    if path.contains('\0') {
        return Err(bad("a resource name holds a NUL byte"));
    }
    for segment in path.split('/') {
        match segment {
            ".." => return Err(bad(format!("`{path}` leaves the model folder (`..`)"))),
            "" | "." => return Err(bad(format!("`{path}` is not a canonical relative path"))),
            _ => {}
        }
    }
    Ok(())
}

/// Parses a shard name `path:start:end` from its last two colons, as the OMS spec says (a
/// path may hold colons).
fn parse_shard(name: &str) -> Result<(String, u64, u64), AttestError> {
    let mut parts = name.rsplitn(3, ':');
    let (Some(end), Some(start), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad(format!("shard `{name}` is not `path:start:end`")));
    };
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
            .ok_or_else(|| bad(format!("shard `{name}` has no decimal byte range")))
    };
    let (start, end) = (number(start)?, number(end)?);
    if end <= start {
        return Err(bad(format!(
            "shard `{name}` has an empty or reversed range"
        )));
    }
    Ok((path.to_owned(), start, end))
}

/// `shard_size` as model-signing 1.1.1 writes it (`1024.0`, a float, through protobuf's
/// `Struct`) or as the OMS spec does (an integer).
fn shard_size(value: &Value) -> Result<u64, AttestError> {
    let size = value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 1.0 && *f <= 9_007_199_254_740_992.0)
            .map(|f| f as u64)
    });
    match size {
        Some(n) if n > 0 => Ok(n),
        _ => Err(bad(format!(
            "`shard_size` {value} is not a positive whole number of bytes"
        ))),
    }
}

fn ignore_paths(ser: &Map<String, Value>) -> Result<Vec<String>, AttestError> {
    match ser.get("ignore_paths") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => {
            if items.len() > MAX_RESOURCES {
                return Err(bad("too many `ignore_paths`"));
            }
            items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| bad("an entry of `ignore_paths` is not a string"))
                })
                .collect()
        }
        Some(_) => Err(bad("`serialization.ignore_paths` is not a list")),
    }
}

fn parse_params(ser: &Map<String, Value>) -> Result<Params, AttestError> {
    let field = "predicate.serialization";
    let method = get_str(ser, "method", field)?;
    let hash = algorithm(get_str(ser, "hash_type", field)?)?;
    let allow_symlinks = match get(ser, "allow_symlinks", field)? {
        Value::Bool(b) => *b,
        _ => return Err(bad("`serialization.allow_symlinks` is not true or false")),
    };
    let serialization = match method {
        "files" => Serialization::Files { hash },
        "shards" => Serialization::Shards {
            hash,
            shard_size: shard_size(get(ser, "shard_size", field)?)?,
        },
        other => {
            return Err(AttestError::Unsupported(format!(
                "the serialization method `{other}` (aigate verifies `files` and `shards`)"
            )));
        }
    };
    Ok(Params {
        serialization,
        allow_symlinks,
        ignore_paths: ignore_paths(ser)?,
    })
}

/// Parses the DSSE payload of a model-signing bundle. Call only on a payload whose signature
/// verified.
pub fn parse_statement(payload: &[u8]) -> Result<Statement, AttestError> {
    let value: Value = serde_json::from_slice(payload)
        .map_err(|e| bad(format!("the payload is not JSON: {e}")))?;
    let root = value
        .as_object()
        .ok_or_else(|| bad("the payload is not a JSON object"))?;
    let ty = get_str(root, "_type", "statement")?;
    if ty != STATEMENT_TYPE {
        return Err(bad(format!(
            "the statement type is `{ty}`, not `{STATEMENT_TYPE}`"
        )));
    }
    let predicate_type = get_str(root, "predicateType", "statement")?;
    match predicate_type {
        PREDICATE_TYPE => parse_v1(root),
        PREDICATE_TYPE_V0_2 => parse_v0_2(root),
        other => Err(bad(format!(
            "the predicate type is `{other}`, not model-signing's `{PREDICATE_TYPE}`"
        ))),
    }
}

fn parse_v1(root: &Map<String, Value>) -> Result<Statement, AttestError> {
    let subjects = get_array(root, "subject", "statement")?;
    let [subject] = subjects else {
        return Err(bad(format!(
            "the statement has {} subjects; model-signing writes exactly one",
            subjects.len()
        )));
    };
    let subject = subject
        .as_object()
        .ok_or_else(|| bad("the subject is not an object"))?;
    let subject_name = get_str(subject, "name", "subject")?.to_owned();
    let root_digest = decode_hex(
        get_str(
            get_obj(subject, "digest", "subject")?,
            "sha256",
            "subject.digest",
        )?,
        "the subject digest",
    )?;
    let predicate = get_obj(root, "predicate", "statement")?;
    let params = parse_params(get_obj(predicate, "serialization", "predicate")?)?;
    let items = get_array(predicate, "resources", "predicate")?;
    if items.len() > MAX_RESOURCES {
        return Err(bad(format!(
            "the manifest lists {} resources; aigate reads at most {MAX_RESOURCES}",
            items.len()
        )));
    }
    let hash_name = params.serialization.hash().as_str();
    let sharded_name = match params.serialization {
        Serialization::Shards { shard_size, .. } => {
            Some(format!("{hash_name}-sharded-{shard_size}"))
        }
        Serialization::Files { .. } => None,
    };
    let mut resources = Vec::with_capacity(items.len());
    let mut seen = BTreeSet::new();
    let mut root_hasher = sha2::Sha256::new();
    for item in items {
        let item = item
            .as_object()
            .ok_or_else(|| bad("a resource is not an object"))?;
        let name = get_str(item, "name", "resource")?;
        let alg = get_str(item, "algorithm", "resource")?;
        if alg != hash_name && sharded_name.as_deref() != Some(alg) {
            return Err(bad(format!(
                "resource `{name}` is hashed with `{alg}`, but the serialization says `{}`",
                sharded_name.as_deref().unwrap_or(hash_name)
            )));
        }
        let digest = decode_hex(get_str(item, "digest", "resource")?, "a resource digest")?;
        if digest.len() != 32 {
            return Err(bad(format!(
                "resource `{name}` has a {}-byte digest; {hash_name} digests have 32",
                digest.len()
            )));
        }
        root_hasher.update(&digest);
        let resource = match params.serialization {
            Serialization::Files { .. } => {
                check_path(name)?;
                Resource {
                    file: name.to_owned(),
                    range: None,
                    digest,
                }
            }
            Serialization::Shards { shard_size, .. } => {
                let (file, start, end) = parse_shard(name)?;
                check_path(&file)?;
                if end - start > shard_size {
                    return Err(bad(format!(
                        "shard `{name}` is longer than the shard size {shard_size}"
                    )));
                }
                Resource {
                    file,
                    range: Some((start, end)),
                    digest,
                }
            }
        };
        if !seen.insert(resource.name()) {
            return Err(bad(format!("resource `{name}` is listed twice")));
        }
        resources.push(resource);
    }
    if root_hasher.finalize().as_slice() != root_digest.as_slice() {
        return Err(bad(
            "the subject digest is not the SHA-256 of the resource digests: the manifest is inconsistent",
        ));
    }
    Ok(Statement {
        subject_name,
        predicate_type: PREDICATE_TYPE.to_owned(),
        params,
        resources,
    })
}

fn parse_v0_2(root: &Map<String, Value>) -> Result<Statement, AttestError> {
    let subjects = get_array(root, "subject", "statement")?;
    if subjects.len() > MAX_RESOURCES {
        return Err(bad("too many subjects"));
    }
    let mut seen = BTreeSet::new();
    let resources = subjects
        .iter()
        .map(|s| {
            let s = s
                .as_object()
                .ok_or_else(|| bad("a subject is not an object"))?;
            let name = get_str(s, "name", "subject")?;
            check_path(name)?;
            let digest = decode_hex(
                get_str(get_obj(s, "digest", "subject")?, "sha256", "subject.digest")?,
                "a subject digest",
            )?;
            if digest.len() != 32 || !seen.insert(name.to_owned()) {
                return Err(bad(format!("subject `{name}` is malformed or repeated")));
            }
            Ok(Resource {
                file: name.to_owned(),
                range: None,
                digest,
            })
        })
        .collect::<Result<Vec<_>, AttestError>>()?;
    Ok(Statement {
        subject_name: String::new(),
        predicate_type: PREDICATE_TYPE_V0_2.to_owned(),
        params: Params {
            serialization: Serialization::Files {
                hash: Algorithm::Sha256,
            },
            allow_symlinks: false,
            ignore_paths: Vec::new(),
        },
        resources,
    })
}

/// The statement's JSON, pretty-printed as model-signing writes it. `resources` are written
/// in the given order, which the subject digest covers.
pub(crate) fn render(
    subject_name: &str,
    params: &Params,
    resources: &[Resource],
) -> Result<Vec<u8>, AttestError> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Out<'a> {
        #[serde(rename = "_type")]
        ty: &'static str,
        subject: [Subject<'a>; 1],
        predicate_type: &'static str,
        predicate: Predicate<'a>,
    }
    #[derive(Serialize)]
    struct Subject<'a> {
        name: &'a str,
        digest: SubjectDigest,
    }
    #[derive(Serialize)]
    struct SubjectDigest {
        sha256: String,
    }
    #[derive(Serialize)]
    struct Predicate<'a> {
        resources: Vec<Res>,
        serialization: Ser<'a>,
    }
    #[derive(Serialize)]
    struct Res {
        name: String,
        algorithm: String,
        digest: String,
    }
    #[derive(Serialize)]
    struct Ser<'a> {
        method: &'static str,
        hash_type: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        shard_size: Option<u64>,
        allow_symlinks: bool,
        #[serde(skip_serializing_if = "<[String]>::is_empty")]
        ignore_paths: &'a [String],
    }
    let hash = params.serialization.hash().as_str();
    let (algorithm, shard_size) = match params.serialization {
        Serialization::Files { .. } => (hash.to_owned(), None),
        // model-signing 1.1.1 names shard digests `sha256-sharded-N` and rejects a manifest
        // whose shards say `sha256`; the integer shard size is the OMS spec's, which 1.1.1
        // verifies (its own float `1024.0` it cannot re-read).
        Serialization::Shards { shard_size, .. } => {
            (format!("{hash}-sharded-{shard_size}"), Some(shard_size))
        }
    };
    let mut root = sha2::Sha256::new();
    for r in resources {
        root.update(&r.digest);
    }
    let out = Out {
        ty: STATEMENT_TYPE,
        subject: [Subject {
            name: subject_name,
            digest: SubjectDigest {
                sha256: hex(&root.finalize()),
            },
        }],
        predicate_type: PREDICATE_TYPE,
        predicate: Predicate {
            resources: resources
                .iter()
                .map(|r| Res {
                    name: r.name(),
                    algorithm: algorithm.clone(),
                    digest: hex(&r.digest),
                })
                .collect(),
            serialization: Ser {
                method: params.serialization.method(),
                hash_type: hash,
                shard_size,
                allow_symlinks: params.allow_symlinks,
                ignore_paths: &params.ignore_paths,
            },
        },
    };
    serde_json::to_vec_pretty(&out).map_err(|e| bad(format!("cannot write the statement: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_names_split_on_the_last_two_colons() {
        assert_eq!(
            parse_shard("a:b.bin:0:1024").ok(),
            Some(("a:b.bin".to_owned(), 0, 1024))
        );
        assert!(parse_shard("a.bin:5:5").is_err());
        assert!(parse_shard("a.bin:-1:5").is_err());
        assert!(parse_shard("a.bin:1024").is_err());
    }

    #[test]
    fn shard_sizes_may_be_floats_or_integers() {
        assert_eq!(shard_size(&serde_json::json!(1024.0)).ok(), Some(1024));
        assert_eq!(shard_size(&serde_json::json!(1024)).ok(), Some(1024));
        assert!(shard_size(&serde_json::json!(1024.5)).is_err());
        assert!(shard_size(&serde_json::json!(0)).is_err());
        assert!(shard_size(&serde_json::json!("1024")).is_err());
    }

    #[test]
    fn paths_must_stay_inside_and_be_canonical() {
        for ok in [".", "a", "a/b.bin", "a b/c:d"] {
            assert!(check_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "./a",
            "a/",
            "a\0b",
        ] {
            assert!(check_path(bad).is_err(), "{bad:?}");
        }
    }
}
