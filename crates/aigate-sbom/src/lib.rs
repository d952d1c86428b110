//! The AI bill of materials: a CycloneDX 1.6 or 1.7 JSON document (the ML-BOM profile of
//! ECMA-424) listing a project's Python libraries, its models (`machine-learning-model`) and its
//! datasets (`data`), each with the SHA-256 of every file, its provenance and its approval.
//!
//! The document is reproducible: components, hashes and dependencies are sorted, `bom-ref`s are
//! derived from names (`pkg:pypi/…` purls for libraries, `model:NAME` and `dataset:NAME` for
//! artifacts), the serial number is derived from the content unless a random one is asked for,
//! and the caller supplies the timestamp (`SOURCE_DATE_EPOCH` at the command line).

#![forbid(unsafe_code)]

pub mod card;
pub mod check;
pub mod completeness;
pub mod hub_refs;
pub mod licence;
pub mod spdx;

pub use check::RULES;
pub use completeness::RULES as COMPLETENESS_RULES;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The CycloneDX specification version written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spec {
    /// CycloneDX 1.6.
    V1_6,
    /// CycloneDX 1.7.
    V1_7,
}

impl Spec {
    /// `1.6` or `1.7`.
    pub fn as_str(self) -> &'static str {
        match self {
            Spec::V1_6 => "1.6",
            Spec::V1_7 => "1.7",
        }
    }
}

/// A Python library the project depends on.
#[derive(Debug, Clone, Default)]
pub struct Library {
    /// The PEP 503-normalised name.
    pub name: String,
    /// The exact version, when known.
    pub version: Option<String>,
    /// Its package URL (`pkg:pypi/NAME@VERSION`), also its `bom-ref`.
    pub purl: String,
    /// Artifact hashes as `algorithm:hex` (`sha256:…`).
    pub hashes: Vec<String>,
    /// Its licence.
    pub licence: Option<Licence>,
    /// The index, URL or path it resolves from.
    pub source: Option<String>,
    /// Whether the project asks for it itself.
    pub direct: bool,
    /// Normalised names of the libraries it depends on, where the input has a graph.
    pub depends_on: Vec<String>,
}

/// A licence as the metadata gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Licence {
    /// A valid SPDX licence expression (`MIT`, `Apache-2.0 OR MIT`).
    Expression(String),
    /// Free text that is no SPDX expression, written as a licence name.
    Name(String),
}

impl Licence {
    fn to_cyclonedx(&self) -> Value {
        match self {
            Licence::Expression(e) => json!([{"expression": e}]),
            Licence::Name(n) => json!([{"license": {"name": n}}]),
        }
    }
}

/// What a declared artifact is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtifactKind {
    /// A model: a `machine-learning-model` component.
    Model,
    /// A dataset: a `data` component.
    Dataset,
}

/// One file of an artifact.
#[derive(Debug, Clone)]
pub struct ArtifactFile {
    /// Relative to the project root, `/`-separated.
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// Lower-case hex SHA-256.
    pub sha256: String,
}

/// A model or dataset as `aigate.toml` declares it and `aigate.lock` pins it.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// Model or dataset.
    pub kind: ArtifactKind,
    /// Its name in `aigate.toml`.
    pub name: String,
    /// Its path in the project.
    pub path: String,
    /// Where it is fetched from (a URL, `hf://ORG/NAME@REVISION`), when declared.
    pub source: Option<String>,
    /// Who owns it.
    pub owner: Option<String>,
    /// What it is meant for.
    pub intended_use: Option<String>,
    /// A description.
    pub description: Option<String>,
    /// Its licence.
    pub licence: Option<Licence>,
    /// Every file, with its digest.
    pub files: Vec<ArtifactFile>,
    /// The content digest of the whole artifact (lower-case hex), when locked.
    pub digest: Option<String>,
    /// Properties recorded as `aigate:…` (approval, scan verdict), in order.
    pub properties: Vec<(String, String)>,
    /// Its custodians (datasets).
    pub custodians: Vec<String>,
    /// Names of the declared datasets it was trained on (models).
    pub trained_on: Vec<String>,
    /// Names of the declared datasets it was evaluated on (models).
    pub tested_on: Vec<String>,
    /// Metrics as the team states them, by name.
    pub metrics: Vec<(String, String)>,
    /// Known limitations as the team states them.
    pub limitations: Option<String>,
    /// The approval: who approved it and when, if it is approved.
    pub approval: Option<Approval>,
    /// What the model's folder says about it (`config.json`, the model card).
    pub card: card::CardFacts,
}

/// Who approved an artifact, and when.
#[derive(Debug, Clone, Default)]
pub struct Approval {
    /// Who.
    pub by: Option<String>,
    /// When (RFC 3339).
    pub at: Option<String>,
    /// The reason given when the approval overrode findings.
    pub forced: Option<String>,
}

impl Artifact {
    /// Its licence: the declared one, else the model card's.
    pub fn licence(&self) -> Option<Licence> {
        self.licence
            .clone()
            .or_else(|| self.card.licence.as_deref().and_then(licence::hub_licence))
    }

    /// The declared datasets it was trained on: those `trained-on` names and those the model
    /// card's `datasets` names.
    pub fn trained_on<'a>(&self, artifacts: &'a [Artifact]) -> Vec<&'a Artifact> {
        linked_datasets(&self.trained_on, &self.card.datasets, artifacts)
    }

    /// The declared datasets it was evaluated on: `tested-on`, and the model card's
    /// `model-index` datasets.
    pub fn tested_on<'a>(&self, artifacts: &'a [Artifact]) -> Vec<&'a Artifact> {
        linked_datasets(&self.tested_on, &self.card.evaluated_on, artifacts)
    }

    /// Every metric: the team's, then the model card's results.
    pub fn all_metrics(&self) -> Vec<(String, String, Option<String>)> {
        self.metrics
            .iter()
            .map(|(k, v)| (k.clone(), v.clone(), None))
            .chain(
                self.card
                    .results
                    .iter()
                    .map(|m| (m.name.clone(), m.value.clone(), m.dataset.clone())),
            )
            .collect()
    }

    /// The limitations: the team's, else the model card's.
    pub fn all_limitations(&self) -> Option<&str> {
        self.limitations
            .as_deref()
            .or(self.card.limitations.as_deref())
    }
}

/// The declared datasets `names` name, then those Hub ids `card_ids` match, each once.
fn linked_datasets<'a>(
    names: &[String],
    card_ids: &[String],
    artifacts: &'a [Artifact],
) -> Vec<&'a Artifact> {
    let by_name = names.iter().filter_map(|n| {
        artifacts
            .iter()
            .find(|d| d.kind == ArtifactKind::Dataset && d.name == *n)
    });
    let by_card = card_ids
        .iter()
        .filter_map(|id| declared_dataset(id, artifacts));
    let mut out: Vec<&Artifact> = Vec::new();
    for d in by_name.chain(by_card) {
        if !out.iter().any(|o| o.name == d.name) {
            out.push(d);
        }
    }
    out
}

/// The project the document describes.
#[derive(Debug, Clone)]
pub struct Project {
    /// Its name.
    pub name: String,
    /// Its version, when known.
    pub version: Option<String>,
}

/// How the document is stamped.
#[derive(Debug, Clone)]
pub struct Options {
    /// The specification version.
    pub spec: Spec,
    /// RFC 3339 time written as `metadata.timestamp`.
    pub timestamp: String,
    /// A serial number to use instead of the one derived from the content (`urn:uuid:…`).
    pub serial: Option<String>,
    /// The tool's name and version.
    pub tool: (String, String),
    /// CycloneDX `vulnerabilities` to embed (audit results), sorted by the caller.
    pub vulnerabilities: Vec<Value>,
    /// Whether the libraries were audited for known vulnerabilities (`vulnerabilities` then
    /// holds every one found, maybe none).
    pub vulnerabilities_checked: bool,
    /// The lock the artifacts come from, and its signature.
    pub lock_signature: Option<LockSignature>,
}

/// `aigate.lock` and its signature, as the document records them.
#[derive(Debug, Clone)]
pub struct LockSignature {
    /// The lock's SHA-256 (lower-case hex).
    pub lock_sha256: String,
    /// The signature bundle's project-relative path and SHA-256, when the lock is signed.
    pub signature: Option<(String, String)>,
    /// Whether the signature verified with a `[trust]` key: `None` when no key is configured.
    pub verified: Option<bool>,
}

impl LockSignature {
    /// `name=value` facts, as CycloneDX properties or SPDX annotation lines.
    pub fn facts(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![("aigate:lock-sha256", self.lock_sha256.clone())];
        match &self.signature {
            Some((path, sha256)) => {
                out.push(("aigate:lock-signature", path.clone()));
                out.push(("aigate:lock-signature-sha256", sha256.clone()));
                out.push((
                    "aigate:lock-signature-verified",
                    match self.verified {
                        Some(true) => "true",
                        Some(false) => "false",
                        None => "not-checked",
                    }
                    .to_owned(),
                ));
            }
            None => out.push(("aigate:lock-signature", "none".to_owned())),
        }
        out
    }

    /// The facts as one statement, a line each.
    pub fn statement(&self) -> String {
        self.facts()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A version-5-shaped UUID URN from the SHA-256 of `content`, so that the same content gives
/// the same serial number.
pub fn content_serial(content: &[u8]) -> String {
    let digest = Sha256::digest(content);
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The CycloneDX hash algorithm name of a pip/lock hash algorithm, if CycloneDX has it.
fn cyclonedx_alg(alg: &str) -> Option<&'static str> {
    Some(match alg.to_ascii_lowercase().as_str() {
        "md5" => "MD5",
        "sha1" => "SHA-1",
        "sha256" => "SHA-256",
        "sha384" => "SHA-384",
        "sha512" => "SHA-512",
        "sha3_256" => "SHA3-256",
        "sha3_384" => "SHA3-384",
        "sha3_512" => "SHA3-512",
        "blake2b_256" => "BLAKE2b-256",
        "blake2b_384" => "BLAKE2b-384",
        "blake2b_512" => "BLAKE2b-512",
        "blake3" => "BLAKE3",
        _ => return None,
    })
}

/// `algorithm:hex` hashes as (the format's algorithm name, lower-case hex), sorted and each
/// once; those the format has no name for, or whose value is not hex, left out.
fn known_hashes(
    hashes: &[String],
    name_of: fn(&str) -> Option<&'static str>,
) -> BTreeSet<(&'static str, String)> {
    let mut out = BTreeSet::new();
    for h in hashes {
        let Some((alg, hex)) = h.split_once(':') else {
            continue;
        };
        let hex = hex.trim().to_ascii_lowercase();
        if let Some(alg) = name_of(alg)
            && !hex.is_empty()
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
        {
            out.insert((alg, hex));
        }
    }
    out
}

fn hashes_of(hashes: &[String]) -> Vec<Value> {
    known_hashes(hashes, cyclonedx_alg)
        .into_iter()
        .map(|(alg, content)| json!({"alg": alg, "content": content}))
        .collect()
}

fn property(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value})
}

fn library(lib: &Library) -> Value {
    let mut c = json!({
        "type": "library",
        "bom-ref": lib.purl,
        "name": lib.name,
        "purl": lib.purl,
    });
    if let Some(v) = &lib.version {
        c["version"] = json!(v);
    }
    let hashes = hashes_of(&lib.hashes);
    if !hashes.is_empty() {
        c["hashes"] = json!(hashes);
    }
    if let Some(l) = &lib.licence {
        c["licenses"] = l.to_cyclonedx();
    }
    let mut properties = vec![property(
        "aigate:direct",
        if lib.direct { "true" } else { "false" },
    )];
    if let Some(source) = &lib.source {
        properties.push(property("aigate:source", source));
        if source.starts_with("https://") || source.starts_with("http://") {
            c["externalReferences"] = json!([{"type": "distribution", "url": source}]);
        }
    }
    c["properties"] = json!(properties);
    c
}

/// `pkg:huggingface/ORG/NAME@REVISION` for an `hf://ORG/NAME[@REVISION]` source.
fn huggingface_purl(source: &str) -> Option<String> {
    let rest = source.strip_prefix("hf://")?;
    let (repo, revision) = match rest.split_once('@') {
        Some((r, v)) => (r, Some(v)),
        None => (rest, None),
    };
    let mut parts = repo.split('/');
    let (org, name) = (parts.next()?, parts.next()?);
    if org.is_empty() || name.is_empty() {
        return None;
    }
    Some(match revision {
        Some(v) if !v.is_empty() => format!("pkg:huggingface/{org}/{name}@{v}"),
        _ => format!("pkg:huggingface/{org}/{name}"),
    })
}

/// The `bom-ref` of an artifact.
pub fn artifact_ref(kind: ArtifactKind, name: &str) -> String {
    match kind {
        ArtifactKind::Model => format!("model:{name}"),
        ArtifactKind::Dataset => format!("dataset:{name}"),
    }
}

/// The `bom-ref` of the declared dataset a model card's dataset id names, if one does: by name,
/// or by an `hf://datasets/ID` source.
fn declared_dataset<'a>(id: &str, artifacts: &'a [Artifact]) -> Option<&'a Artifact> {
    artifacts.iter().find(|d| {
        d.kind == ArtifactKind::Dataset
            && (d.name == id
                || d.source.as_deref().is_some_and(|s| {
                    let s = s.strip_prefix("hf://datasets/").unwrap_or("");
                    s.split('@').next() == Some(id)
                }))
    })
}

fn model_card(a: &Artifact, artifacts: &[Artifact]) -> Value {
    let mut card = json!({});
    let facts = &a.card;
    let mut parameters = json!({});
    if let Some(task) = &facts.task {
        parameters["task"] = json!(task);
    }
    if let Some(family) = &facts.model_type {
        parameters["architectureFamily"] = json!(family);
    }
    if let Some(arch) = &facts.architecture {
        parameters["modelArchitecture"] = json!(arch);
    }
    let mut datasets: Vec<Value> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for d in a
        .trained_on(artifacts)
        .into_iter()
        .chain(a.tested_on(artifacts))
    {
        let r = artifact_ref(d.kind, &d.name);
        if seen.insert(r.clone()) {
            datasets.push(json!({"ref": r}));
        }
    }
    for id in facts.datasets.iter().chain(&facts.evaluated_on) {
        if declared_dataset(id, artifacts).is_none() && seen.insert(id.clone()) {
            datasets.push(json!({"type": "dataset", "name": id}));
        }
    }
    if !datasets.is_empty() {
        parameters["datasets"] = json!(datasets);
    }
    if parameters != json!({}) {
        card["modelParameters"] = parameters;
    }
    let metrics: Vec<Value> = a
        .all_metrics()
        .into_iter()
        .map(|(name, value, dataset)| {
            let mut m = json!({"type": name, "value": value});
            if let Some(d) = dataset {
                m["slice"] = json!(d);
            }
            m
        })
        .collect();
    if !metrics.is_empty() {
        card["quantitativeAnalysis"] = json!({"performanceMetrics": metrics});
    }
    let mut considerations = json!({});
    if let Some(use_) = &a.intended_use {
        considerations["useCases"] = json!([use_]);
    }
    if let Some(limits) = a.all_limitations() {
        considerations["technicalLimitations"] = json!([limits]);
    }
    if considerations != json!({}) {
        card["considerations"] = considerations;
    }
    card
}

fn artifact(a: &Artifact, artifacts: &[Artifact]) -> Value {
    let bom_ref = artifact_ref(a.kind, &a.name);
    let mut c = json!({
        "type": match a.kind {
            ArtifactKind::Model => "machine-learning-model",
            ArtifactKind::Dataset => "data",
        },
        "bom-ref": bom_ref,
        "name": a.name,
    });
    if let Some(desc) = &a.description {
        c["description"] = json!(desc);
    }
    let mut files: Vec<&ArtifactFile> = a.files.iter().collect();
    files.sort_by(|x, y| x.path.cmp(&y.path));
    match files.as_slice() {
        [one] if one.path == a.path => {
            c["hashes"] = json!([{"alg": "SHA-256", "content": one.sha256}]);
        }
        _ => {
            let subs: Vec<Value> = files
                .iter()
                .map(|f| {
                    json!({
                        "type": "file",
                        "bom-ref": format!("{bom_ref}/{}", f.path),
                        "name": f.path,
                        "hashes": [{"alg": "SHA-256", "content": f.sha256}],
                        "properties": [property("aigate:size", &f.size.to_string())],
                    })
                })
                .collect();
            if !subs.is_empty() {
                c["components"] = json!(subs);
            }
        }
    }
    if let Some(l) = a.licence() {
        c["licenses"] = l.to_cyclonedx();
    }
    if !a.card.base_models.is_empty() {
        let ancestors: Vec<Value> = a
            .card
            .base_models
            .iter()
            .map(|base| {
                let mut ancestor = json!({"type": "machine-learning-model", "name": base});
                if let Some(purl) = huggingface_purl(&format!("hf://{base}")) {
                    ancestor["purl"] = json!(purl);
                }
                ancestor
            })
            .collect();
        c["pedigree"] = json!({"ancestors": ancestors});
    }
    if let Some(source) = &a.source {
        if let Some(purl) = huggingface_purl(source) {
            c["purl"] = json!(purl);
        }
        if source.starts_with("https://") || source.starts_with("http://") {
            c["externalReferences"] = json!([{"type": "distribution", "url": source}]);
        }
    }
    if let Some(owner) = a.owner.as_ref().filter(|_| a.kind == ArtifactKind::Model) {
        c["supplier"] = json!({"name": owner});
    }
    if a.kind == ArtifactKind::Dataset && (a.owner.is_some() || !a.custodians.is_empty()) {
        let party = |name: &String| json!({"organization": {"name": name}});
        let mut governance = json!({});
        if let Some(owner) = &a.owner {
            governance["owners"] = json!([party(owner)]);
        }
        if !a.custodians.is_empty() {
            governance["custodians"] = json!(a.custodians.iter().map(party).collect::<Vec<_>>());
        }
        c["data"] = json!([{"type": "dataset", "name": a.name, "governance": governance}]);
    }
    if a.kind == ArtifactKind::Model {
        let card = model_card(a, artifacts);
        if card != json!({}) {
            c["modelCard"] = card;
        }
    }
    let mut properties = vec![property("aigate:path", &a.path)];
    if let Some(d) = &a.digest {
        properties.push(property("aigate:content-digest", &format!("sha256:{d}")));
    }
    if let Some(source) = &a.source {
        properties.push(property("aigate:source", source));
    }
    if a.kind == ArtifactKind::Dataset
        && let Some(use_) = &a.intended_use
    {
        properties.push(property("aigate:intended-use", use_));
    }
    for (name, value) in &a.properties {
        properties.push(property(&format!("aigate:{name}"), value));
    }
    for (name, values) in [
        ("card-metrics", &a.card.metrics),
        ("card-languages", &a.card.languages),
    ] {
        if !values.is_empty() {
            properties.push(property(&format!("aigate:{name}"), &values.join(", ")));
        }
    }
    if let Some(library) = &a.card.library {
        properties.push(property("aigate:card-library", library));
    }
    c["properties"] = json!(properties);
    c
}

/// The CycloneDX document of `project`.
pub fn cyclonedx(
    project: &Project,
    libraries: &[Library],
    artifacts: &[Artifact],
    options: &Options,
) -> Value {
    let mut components: BTreeMap<String, Value> = BTreeMap::new();
    for lib in libraries {
        components
            .entry(lib.purl.clone())
            .or_insert_with(|| library(lib));
    }
    let mut artifact_refs = Vec::new();
    for a in artifacts {
        let r = artifact_ref(a.kind, &a.name);
        artifact_refs.push(r.clone());
        components.insert(r, artifact(a, artifacts));
    }
    let by_name: BTreeMap<&str, &str> = libraries
        .iter()
        .map(|l| (l.name.as_str(), l.purl.as_str()))
        .collect();
    let root_ref = "project";
    let mut dependencies: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let root: BTreeSet<String> = libraries
        .iter()
        .filter(|l| l.direct)
        .map(|l| l.purl.clone())
        .chain(artifact_refs)
        .collect();
    dependencies.insert(root_ref.to_owned(), root);
    for lib in libraries {
        let on: BTreeSet<String> = lib
            .depends_on
            .iter()
            .filter_map(|n| by_name.get(n.as_str()).map(|p| (*p).to_owned()))
            .filter(|p| *p != lib.purl)
            .collect();
        dependencies.entry(lib.purl.clone()).or_default().extend(on);
    }
    let dependencies: Vec<Value> = dependencies
        .into_iter()
        .map(|(r, on)| {
            if on.is_empty() {
                json!({"ref": r})
            } else {
                json!({"ref": r, "dependsOn": on.into_iter().collect::<Vec<_>>()})
            }
        })
        .collect();
    let mut root_component = json!({
        "type": "application",
        "bom-ref": root_ref,
        "name": project.name,
    });
    if let Some(v) = &project.version {
        root_component["version"] = json!(v);
    }
    let body = json!({
        "components": components.into_values().collect::<Vec<_>>(),
        "dependencies": dependencies,
        "root": root_component,
        "vulnerabilities": options.vulnerabilities,
        "lock": options.lock_signature.as_ref().map(LockSignature::statement),
    });
    let serial = options
        .serial
        .clone()
        .unwrap_or_else(|| content_serial(body.to_string().as_bytes()));
    let mut document = json!({
        "$schema": format!("http://cyclonedx.org/schema/bom-{}.schema.json", options.spec.as_str()),
        "bomFormat": "CycloneDX",
        "specVersion": options.spec.as_str(),
        "serialNumber": serial,
        "version": 1,
        "metadata": {
            "timestamp": options.timestamp,
            "lifecycles": [{"phase": "build"}],
            "tools": {"components": [{
                "type": "application",
                "name": options.tool.0,
                "version": options.tool.1,
            }]},
            "component": body["root"],
        },
        "components": body["components"],
        "dependencies": body["dependencies"],
    });
    if let Some(sig) = &options.lock_signature {
        let properties: Vec<Value> = sig.facts().iter().map(|(k, v)| property(k, v)).collect();
        document["metadata"]["properties"] = json!(properties);
    }
    if !options.vulnerabilities.is_empty() {
        document["vulnerabilities"] = body["vulnerabilities"].clone();
    }
    document
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_numbers_are_uuid_urns_that_follow_the_content() {
        let a = content_serial(b"a");
        assert_ne!(a, content_serial(b"b"));
        assert_eq!(a, content_serial(b"a"));
        let uuid = a.strip_prefix("urn:uuid:").unwrap_or_default();
        assert_eq!(uuid.len(), 36);
        assert_eq!(uuid.as_bytes()[14], b'5');
        assert!(matches!(uuid.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
    }

    #[test]
    fn hub_sources_become_huggingface_purls() {
        assert_eq!(
            huggingface_purl("hf://acme/bert@0123abc").as_deref(),
            Some("pkg:huggingface/acme/bert@0123abc")
        );
        assert_eq!(
            huggingface_purl("hf://acme/bert").as_deref(),
            Some("pkg:huggingface/acme/bert")
        );
        assert_eq!(huggingface_purl("hf://acme"), None);
        assert_eq!(huggingface_purl("https://example.org/x.pt"), None);
    }

    #[test]
    fn hashes_keep_the_ones_cyclonedx_names_in_order() {
        let h = hashes_of(&[
            "sha256:BB".into(),
            "sha256:aa".into(),
            "crc32:00".into(),
            "sha256:not-hex".into(),
        ]);
        assert_eq!(
            h,
            [
                json!({"alg": "SHA-256", "content": "aa"}),
                json!({"alg": "SHA-256", "content": "bb"})
            ]
        );
    }

    #[test]
    fn dependencies_follow_the_graph_and_the_root_lists_direct_ones() {
        let lib = |name: &str, direct: bool, on: &[&str]| Library {
            name: name.into(),
            version: Some("1".into()),
            purl: format!("pkg:pypi/{name}@1"),
            direct,
            depends_on: on.iter().map(|s| (*s).to_owned()).collect(),
            ..Library::default()
        };
        let doc = cyclonedx(
            &Project {
                name: "p".into(),
                version: None,
            },
            &[lib("a", true, &["b", "missing"]), lib("b", false, &[])],
            &[],
            &Options {
                spec: Spec::V1_7,
                timestamp: "2027-01-01T00:00:00Z".into(),
                serial: None,
                tool: ("aigate".into(), "0".into()),
                vulnerabilities: Vec::new(),
                vulnerabilities_checked: false,
                lock_signature: None,
            },
        );
        assert_eq!(
            doc["dependencies"],
            json!([
                {"ref": "pkg:pypi/a@1", "dependsOn": ["pkg:pypi/b@1"]},
                {"ref": "pkg:pypi/b@1"},
                {"ref": "project", "dependsOn": ["pkg:pypi/a@1"]},
            ])
        );
    }
}
