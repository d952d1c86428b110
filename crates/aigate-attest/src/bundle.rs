//! Sigstore bundles v0.3 in their JSON form, as model-signing writes and reads them: the
//! verification material (a public key hint, an X.509 certificate chain, or a keyless Fulcio
//! certificate) and a DSSE envelope. Bundles are untrusted input: the size is bounded before
//! anything is read, and every field is checked for its type.
//! <https://github.com/sigstore/protobuf-specs/blob/main/protos/sigstore_bundle.proto>

use std::fs::{self, File};
use std::io::Read as _;
use std::path::Path;

use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::AttestError;

/// The media type model-signing writes and requires.
pub const MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The same version in the older spelling Sigstore clients also accept.
const MEDIA_TYPE_ALT: &str = "application/vnd.dev.sigstore.bundle+json;version=0.3";
/// The largest bundle aigate reads: a manifest of a million files fits; a bundle larger than
/// this is refused by its size, before it is read.
pub const MAX_BUNDLE_BYTES: u64 = 16 << 20;

/// What identifies the signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Material {
    /// model-signing's `key` method: a public key, named by its hint (the hex SHA-256 of its
    /// PEM); bundles before model-signing 1.1 carried the key bytes instead, and no hint.
    PublicKey {
        /// The hint, when the bundle has one.
        hint: Option<String>,
    },
    /// model-signing's `certificate` method: the signing certificate first, then CAs (DER).
    CertificateChain(Vec<Vec<u8>>),
    /// Sigstore keyless signing: one short-lived Fulcio certificate (DER).
    Keyless(Vec<u8>),
}

/// One DSSE signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeSignature {
    /// The signature bytes (ASN.1 DER ECDSA for model-signing).
    pub sig: Vec<u8>,
    /// The key id, which model-signing leaves empty and never uses.
    pub keyid: Option<String>,
}

/// A DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The signed payload (an in-toto statement, JSON).
    pub payload: Vec<u8>,
    /// Its type.
    pub payload_type: String,
    /// The signatures.
    pub signatures: Vec<EnvelopeSignature>,
}

/// A Sigstore bundle holding a DSSE envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    /// The bundle's media type.
    pub media_type: String,
    /// Who signed.
    pub material: Material,
    /// Transparency log entries, kept as they were (model-signing writes none for keys and
    /// certificates).
    pub tlog_entries: Vec<Value>,
    /// RFC 3161 timestamps, kept as they were.
    pub timestamp_verification_data: Option<Value>,
    /// The envelope.
    pub envelope: Envelope,
}

fn malformed(msg: impl Into<String>) -> AttestError {
    AttestError::Malformed(msg.into())
}

/// Base64 as protobuf's JSON mapping accepts it: standard or URL-safe alphabet, padded or not.
pub(crate) fn decode_b64(field: &str, text: &str) -> Result<Vec<u8>, AttestError> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    let config =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    GeneralPurpose::new(&base64::alphabet::STANDARD, config)
        .decode(text)
        .or_else(|_| GeneralPurpose::new(&base64::alphabet::URL_SAFE, config).decode(text))
        .map_err(|e| malformed(format!("`{field}` is not base64: {e}")))
}

pub(crate) fn encode_b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn object<'a>(value: &'a Value, field: &str) -> Result<&'a Map<String, Value>, AttestError> {
    value
        .as_object()
        .ok_or_else(|| malformed(format!("`{field}` is not a JSON object")))
}

fn string<'a>(obj: &'a Map<String, Value>, key: &str, field: &str) -> Result<&'a str, AttestError> {
    match obj.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(malformed(format!("`{field}.{key}` is not a string"))),
        None => Err(malformed(format!("`{field}` has no `{key}`"))),
    }
}

impl Bundle {
    /// Reads the bundle at `path`: a regular file of at most [`MAX_BUNDLE_BYTES`], refused by
    /// its size before a byte is read.
    pub fn read(path: &Path) -> Result<Bundle, AttestError> {
        let shown = path.display().to_string();
        let meta = fs::metadata(path).map_err(|e| AttestError::io(&shown, e))?;
        if !meta.is_file() {
            return Err(malformed(format!("{shown} is not a regular file")));
        }
        if meta.len() > MAX_BUNDLE_BYTES {
            return Err(AttestError::TooLarge {
                size: meta.len(),
                max: MAX_BUNDLE_BYTES,
            });
        }
        let file = File::open(path).map_err(|e| AttestError::io(&shown, e))?;
        let mut bytes = Vec::new();
        file.take(MAX_BUNDLE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| AttestError::io(&shown, e))?;
        Bundle::parse(&bytes)
    }

    /// Parses a bundle's JSON. Only the structure is checked here; [`crate::verify_bundle`]
    /// checks the media type, the signature and the statement.
    pub fn parse(bytes: &[u8]) -> Result<Bundle, AttestError> {
        if bytes.len() as u64 > MAX_BUNDLE_BYTES {
            return Err(AttestError::TooLarge {
                size: bytes.len() as u64,
                max: MAX_BUNDLE_BYTES,
            });
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            if e.is_eof() {
                malformed(format!("the JSON ends early (truncated?): {e}"))
            } else {
                malformed(format!("not JSON: {e}"))
            }
        })?;
        let root = object(&value, "bundle")?;
        let media_type = string(root, "mediaType", "bundle")?.to_owned();
        let vm = root
            .get("verificationMaterial")
            .ok_or_else(|| malformed("the bundle has no `verificationMaterial`"))?;
        let vm = object(vm, "verificationMaterial")?;
        let material = parse_material(vm)?;
        let tlog_entries = match vm.get("tlogEntries") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(entries)) => entries.clone(),
            Some(_) => {
                return Err(malformed(
                    "`verificationMaterial.tlogEntries` is not a list",
                ));
            }
        };
        if matches!(material, Material::Keyless(_)) && tlog_entries.is_empty() {
            return Err(malformed(
                "a keyless bundle (a single `certificate`) must carry transparency log entries",
            ));
        }
        let timestamp_verification_data = vm.get("timestampVerificationData").cloned();
        let envelope = match root.get("dsseEnvelope") {
            Some(env) => parse_envelope(env)?,
            None if root.contains_key("messageSignature") => {
                return Err(AttestError::Unsupported(
                    "the bundle signs a message digest, not a DSSE envelope; model-signing signs DSSE envelopes".into(),
                ));
            }
            None => return Err(malformed("the bundle has no `dsseEnvelope`")),
        };
        Ok(Bundle {
            media_type,
            material,
            tlog_entries,
            timestamp_verification_data,
            envelope,
        })
    }

    /// Whether the media type is the Sigstore bundle v0.3 one.
    pub fn has_supported_media_type(&self) -> bool {
        self.media_type == MEDIA_TYPE || self.media_type == MEDIA_TYPE_ALT
    }

    /// The bundle as compact JSON, fields in the order model-signing writes them.
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Out<'a> {
            media_type: &'a str,
            verification_material: Map<String, Value>,
            dsse_envelope: Env,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Env {
            payload: String,
            payload_type: String,
            signatures: Vec<Sig>,
        }
        #[derive(Serialize)]
        struct Sig {
            sig: String,
            keyid: String,
        }
        let mut vm = Map::new();
        match &self.material {
            Material::PublicKey { hint } => {
                let mut pk = Map::new();
                if let Some(hint) = hint {
                    pk.insert("hint".into(), Value::String(hint.clone()));
                }
                vm.insert("publicKey".into(), Value::Object(pk));
            }
            Material::CertificateChain(certs) => {
                let certs: Vec<Value> = certs
                    .iter()
                    .map(|der| serde_json::json!({ "rawBytes": encode_b64(der) }))
                    .collect();
                vm.insert(
                    "x509CertificateChain".into(),
                    serde_json::json!({ "certificates": certs }),
                );
            }
            Material::Keyless(der) => {
                vm.insert(
                    "certificate".into(),
                    serde_json::json!({ "rawBytes": encode_b64(der) }),
                );
            }
        }
        vm.insert(
            "tlogEntries".into(),
            Value::Array(self.tlog_entries.clone()),
        );
        if let Some(ts) = &self.timestamp_verification_data {
            vm.insert("timestampVerificationData".into(), ts.clone());
        }
        let out = Out {
            media_type: &self.media_type,
            verification_material: vm,
            dsse_envelope: Env {
                payload: encode_b64(&self.envelope.payload),
                payload_type: self.envelope.payload_type.clone(),
                signatures: self
                    .envelope
                    .signatures
                    .iter()
                    .map(|s| Sig {
                        sig: encode_b64(&s.sig),
                        keyid: s.keyid.clone().unwrap_or_default(),
                    })
                    .collect(),
            },
        };
        serde_json::to_string(&out).unwrap_or_default()
    }
}

fn parse_material(vm: &Map<String, Value>) -> Result<Material, AttestError> {
    let present: Vec<&str> = ["publicKey", "x509CertificateChain", "certificate"]
        .into_iter()
        .filter(|k| vm.get(*k).is_some_and(|v| !v.is_null()))
        .collect();
    match present.as_slice() {
        [] => Err(malformed(
            "`verificationMaterial` has no `publicKey`, `x509CertificateChain` or `certificate`",
        )),
        ["publicKey"] => {
            let pk = object(&vm["publicKey"], "verificationMaterial.publicKey")?;
            let hint = match pk.get("hint") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.is_empty() => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err(malformed("`publicKey.hint` is not a string")),
            };
            Ok(Material::PublicKey { hint })
        }
        ["x509CertificateChain"] => {
            let chain = object(&vm["x509CertificateChain"], "x509CertificateChain")?;
            let Some(Value::Array(certs)) = chain.get("certificates") else {
                return Err(malformed(
                    "`x509CertificateChain` has no `certificates` list",
                ));
            };
            if certs.is_empty() {
                return Err(malformed("`x509CertificateChain.certificates` is empty"));
            }
            let ders = certs
                .iter()
                .map(|c| {
                    let c = object(c, "x509CertificateChain.certificates[]")?;
                    let raw = string(c, "rawBytes", "x509CertificateChain.certificates[]")?;
                    decode_b64("rawBytes", raw)
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Material::CertificateChain(ders))
        }
        ["certificate"] => {
            let c = object(&vm["certificate"], "verificationMaterial.certificate")?;
            let raw = string(c, "rawBytes", "verificationMaterial.certificate")?;
            Ok(Material::Keyless(decode_b64("rawBytes", raw)?))
        }
        several => Err(malformed(format!(
            "`verificationMaterial` holds several kinds of material ({})",
            several.join(", ")
        ))),
    }
}

fn parse_envelope(env: &Value) -> Result<Envelope, AttestError> {
    let env = object(env, "dsseEnvelope")?;
    let payload = decode_b64("payload", string(env, "payload", "dsseEnvelope")?)?;
    let payload_type = string(env, "payloadType", "dsseEnvelope")?.to_owned();
    let Some(Value::Array(sigs)) = env.get("signatures") else {
        return Err(malformed("`dsseEnvelope` has no `signatures` list"));
    };
    let signatures = sigs
        .iter()
        .map(|s| {
            let s = object(s, "dsseEnvelope.signatures[]")?;
            let sig = decode_b64("sig", string(s, "sig", "dsseEnvelope.signatures[]")?)?;
            let keyid = match s.get("keyid") {
                None | Some(Value::Null) => None,
                Some(Value::String(k)) => Some(k.clone()),
                Some(_) => return Err(malformed("`signatures[].keyid` is not a string")),
            };
            Ok(EnvelopeSignature { sig, keyid })
        })
        .collect::<Result<Vec<_>, AttestError>>()?;
    Ok(Envelope {
        payload,
        payload_type,
        signatures,
    })
}
