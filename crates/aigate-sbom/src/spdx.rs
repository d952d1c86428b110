//! The same bill of materials as an SPDX 3.0.1 document in its JSON-LD serialisation, with the
//! Core, Software, SimpleLicensing, AI, Dataset and (with vulnerabilities) Security profiles:
//! libraries as `software_Package`, models as `ai_AIPackage`, datasets as
//! `dataset_DatasetPackage`, every weight and data file as a `software_File` the package
//! `contains`, and `dependsOn`, `trainedOn`, `testedOn`, `ancestorOf`, `hasDeclaredLicense` and
//! `hasAssociatedVulnerability` relationships. Approvals are `review` annotations and aigate's
//! own facts (scan verdict, paths, digests) `other` annotations on the element they describe.
//!
//! Element ids are IRIs under a namespace derived from the content, so that the same project
//! gives the same document; the creation time is the caller's (`SOURCE_DATE_EPOCH`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::{
    Artifact, ArtifactKind, Library, Licence, Options, Project, artifact_ref, content_serial,
    huggingface_purl, licence,
};

/// The JSON-LD context of SPDX 3.0.1.
pub const CONTEXT: &str = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld";

const CREATION_INFO: &str = "_:creationinfo";

/// The SPDX hash algorithm of a pip/lock hash algorithm, if SPDX has it.
fn spdx_alg(alg: &str) -> Option<&'static str> {
    Some(match alg.to_ascii_lowercase().as_str() {
        "md5" => "md5",
        "sha1" => "sha1",
        "sha224" => "sha224",
        "sha256" => "sha256",
        "sha384" => "sha384",
        "sha512" => "sha512",
        "sha3_224" => "sha3_224",
        "sha3_256" => "sha3_256",
        "sha3_384" => "sha3_384",
        "sha3_512" => "sha3_512",
        "blake2b_256" => "blake2b256",
        "blake2b_384" => "blake2b384",
        "blake2b_512" => "blake2b512",
        "blake3" => "blake3",
        _ => return None,
    })
}

fn hash(alg: &str, hex: &str) -> Value {
    json!({"type": "Hash", "algorithm": alg, "hashValue": hex})
}

fn library_hashes(hashes: &[String]) -> Vec<Value> {
    crate::known_hashes(hashes, spdx_alg)
        .into_iter()
        .map(|(alg, hex)| hash(alg, &hex))
        .collect()
}

/// A `bom-ref`-like local name as an IRI fragment: unreserved characters and `:/@` kept, the
/// rest percent-encoded.
fn fragment(local: &str) -> String {
    let mut out = String::with_capacity(local.len());
    for b in local.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:/@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The download location of a source: the URL itself, or the Hub page of an `hf://` source.
fn download_location(source: &str) -> Option<String> {
    if source.starts_with("https://") || source.starts_with("http://") {
        return Some(source.to_owned());
    }
    let rest = source.strip_prefix("hf://")?;
    let repo = rest.split('@').next().unwrap_or(rest);
    let parts: Vec<&str> = repo.split('/').collect();
    let repo = match parts.as_slice() {
        ["datasets", org, name, ..] => format!("datasets/{org}/{name}"),
        [org, name, ..] => format!("{org}/{name}"),
        _ => return None,
    };
    Some(format!("https://huggingface.co/{repo}"))
}

/// The revision of an `hf://ORG/NAME@REVISION` source.
fn hub_revision(source: &str) -> Option<&str> {
    let rest = source.strip_prefix("hf://")?;
    let (_, revision) = rest.split_once('@')?;
    let revision = revision.split('/').next().unwrap_or(revision);
    (!revision.is_empty()).then_some(revision)
}

/// The application domain of a Hub pipeline task, as the Hub groups its tasks.
fn domain(task: &str) -> &str {
    const GROUPS: &[(&str, &[&str])] = &[
        (
            "natural language processing",
            &[
                "text-classification",
                "token-classification",
                "table-question-answering",
                "question-answering",
                "zero-shot-classification",
                "translation",
                "summarization",
                "feature-extraction",
                "text-generation",
                "text2text-generation",
                "fill-mask",
                "sentence-similarity",
                "text-ranking",
            ],
        ),
        (
            "computer vision",
            &[
                "depth-estimation",
                "image-classification",
                "object-detection",
                "image-segmentation",
                "text-to-image",
                "image-to-text",
                "image-to-image",
                "image-to-video",
                "unconditional-image-generation",
                "video-classification",
                "text-to-video",
                "zero-shot-image-classification",
                "mask-generation",
                "zero-shot-object-detection",
                "text-to-3d",
                "image-to-3d",
                "image-feature-extraction",
                "keypoint-detection",
            ],
        ),
        (
            "audio",
            &[
                "text-to-speech",
                "text-to-audio",
                "automatic-speech-recognition",
                "audio-to-audio",
                "audio-classification",
                "voice-activity-detection",
            ],
        ),
        (
            "tabular",
            &[
                "tabular-classification",
                "tabular-regression",
                "time-series-forecasting",
            ],
        ),
        (
            "reinforcement learning",
            &["reinforcement-learning", "robotics"],
        ),
        (
            "multimodal",
            &[
                "audio-text-to-text",
                "image-text-to-text",
                "visual-question-answering",
                "document-question-answering",
                "video-text-to-text",
                "visual-document-retrieval",
                "any-to-any",
            ],
        ),
    ];
    GROUPS
        .iter()
        .find(|(_, tasks)| tasks.contains(&task))
        .map_or(task, |(group, _)| group)
}

/// What a dataset's files hold, by their extensions, in SPDX's vocabulary.
fn dataset_types(a: &Artifact) -> Vec<&'static str> {
    let mut types: BTreeSet<&'static str> = BTreeSet::new();
    for f in &a.files {
        let ext = f
            .path
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        let kind = match ext.as_str() {
            "csv" | "tsv" | "parquet" | "arrow" | "feather" | "orc" | "avro" | "xlsx" | "xls"
            | "sqlite" | "db" => "structured",
            "txt" | "md" | "jsonl" | "json" | "xml" | "html" | "conll" => "text",
            "png" | "jpg" | "jpeg" | "gif" | "bmp" | "tif" | "tiff" | "webp" => "image",
            "wav" | "mp3" | "flac" | "ogg" | "m4a" | "opus" => "audio",
            "mp4" | "avi" | "mkv" | "mov" | "webm" => "video",
            "npy" | "npz" | "h5" | "hdf5" | "nc" => "numeric",
            _ => continue,
        };
        types.insert(kind);
    }
    if types.is_empty() {
        vec!["noAssertion"]
    } else {
        types.into_iter().collect()
    }
}

/// Builds the `@graph`, in the order elements are added.
struct Graph {
    namespace: String,
    elements: Vec<Value>,
    ids: BTreeSet<String>,
    relationships: BTreeMap<(String, &'static str), BTreeSet<String>>,
    annotations: Vec<(String, &'static str, String)>,
    licences: BTreeMap<String, String>,
    agents: BTreeMap<String, String>,
}

impl Graph {
    fn id(&self, local: &str) -> String {
        format!("{}#{}", self.namespace, fragment(local))
    }

    fn add(&mut self, mut element: Value, local: &str) -> String {
        let id = self.id(local);
        if self.ids.insert(id.clone()) {
            element["spdxId"] = json!(id);
            element["creationInfo"] = json!(CREATION_INFO);
            self.elements.push(element);
        }
        id
    }

    fn relate(&mut self, from: &str, kind: &'static str, to: &str) {
        self.relationships
            .entry((from.to_owned(), kind))
            .or_default()
            .insert(to.to_owned());
    }

    fn annotate(&mut self, subject: &str, kind: &'static str, statement: String) {
        self.annotations.push((subject.to_owned(), kind, statement));
    }

    /// The licence element of `l`, made once per expression.
    fn licence(&mut self, l: &Licence) -> String {
        let (expression, name) = match l {
            Licence::Expression(e) => (e.clone(), None),
            Licence::Name(n) => (licence::licence_ref(n), Some(n.clone())),
        };
        if let Some(id) = self.licences.get(&expression) {
            return id.clone();
        }
        let mut element = json!({
            "type": "simplelicensing_LicenseExpression",
            "simplelicensing_licenseExpression": expression,
        });
        if let Some(n) = name {
            element["name"] = json!(n);
        }
        let id = self.add(element, &format!("licence:{expression}"));
        self.licences.insert(expression, id.clone());
        id
    }

    /// The organisation element of an owner, made once per name.
    fn agent(&mut self, name: &str) -> String {
        if let Some(id) = self.agents.get(name) {
            return id.clone();
        }
        let id = self.add(
            json!({"type": "Organization", "name": name}),
            &format!("agent:{name}"),
        );
        self.agents.insert(name.to_owned(), id.clone());
        id
    }
}

fn library(g: &mut Graph, lib: &Library) -> String {
    let mut p = json!({
        "type": "software_Package",
        "name": lib.name,
        "software_primaryPurpose": "library",
        "software_packageUrl": lib.purl,
        "externalIdentifier": [{
            "type": "ExternalIdentifier",
            "externalIdentifierType": "packageUrl",
            "identifier": lib.purl,
        }],
    });
    if let Some(v) = &lib.version {
        p["software_packageVersion"] = json!(v);
    }
    let hashes = library_hashes(&lib.hashes);
    if !hashes.is_empty() {
        p["verifiedUsing"] = json!(hashes);
    }
    if let Some(location) = lib.source.as_deref().and_then(download_location) {
        p["software_downloadLocation"] = json!(location);
    }
    let id = g.add(p, &lib.purl);
    if let Some(l) = &lib.licence {
        let l = g.licence(l);
        g.relate(&id, "hasDeclaredLicense", &l);
    }
    if let Some(source) = &lib.source {
        g.annotate(&id, "other", format!("aigate:source={source}"));
    }
    id
}

/// A dataset or model named only by a Hub id (a model card's `datasets`, `base_model`).
fn hub_reference(g: &mut Graph, kind: ArtifactKind, hub_id: &str) -> String {
    let (type_, local, location, purl) = match kind {
        ArtifactKind::Model => (
            "ai_AIPackage",
            format!("hub-model:{hub_id}"),
            format!("https://huggingface.co/{hub_id}"),
            huggingface_purl(&format!("hf://{hub_id}")),
        ),
        ArtifactKind::Dataset => (
            "dataset_DatasetPackage",
            format!("hub-dataset:{hub_id}"),
            format!("https://huggingface.co/datasets/{hub_id}"),
            None,
        ),
    };
    let mut p = json!({
        "type": type_,
        "name": hub_id,
        "software_downloadLocation": location,
    });
    match kind {
        ArtifactKind::Model => p["software_primaryPurpose"] = json!("model"),
        ArtifactKind::Dataset => {
            p["software_primaryPurpose"] = json!("data");
            p["dataset_datasetType"] = json!(["noAssertion"]);
        }
    }
    if let Some(purl) = purl {
        p["software_packageUrl"] = json!(purl);
    }
    g.add(p, &local)
}

fn artifact(g: &mut Graph, a: &Artifact) -> String {
    let local = artifact_ref(a.kind, &a.name);
    let mut p = match a.kind {
        ArtifactKind::Model => json!({
            "type": "ai_AIPackage",
            "software_primaryPurpose": "model",
        }),
        ArtifactKind::Dataset => json!({
            "type": "dataset_DatasetPackage",
            "software_primaryPurpose": "data",
            "dataset_datasetType": dataset_types(a),
        }),
    };
    p["name"] = json!(a.name);
    if let Some(d) = &a.description {
        p["description"] = json!(d);
    }
    if let Some(source) = &a.source {
        if let Some(location) = download_location(source) {
            p["software_downloadLocation"] = json!(location);
        }
        if let Some(purl) = huggingface_purl(source) {
            p["software_packageUrl"] = json!(purl);
        }
        if let Some(revision) = hub_revision(source) {
            p["software_packageVersion"] = json!(revision);
        }
    }
    let mut files: Vec<_> = a.files.iter().collect();
    files.sort_by(|x, y| x.path.cmp(&y.path));
    let single = matches!(files.as_slice(), [one] if one.path == a.path);
    if single {
        p["verifiedUsing"] = json!([hash("sha256", &files[0].sha256)]);
    }
    match a.kind {
        ArtifactKind::Model => {
            let card = &a.card;
            let types: Vec<&String> = card
                .model_type
                .iter()
                .chain(card.architecture.iter())
                .collect();
            if !types.is_empty() {
                p["ai_typeOfModel"] = json!(types);
            }
            if let Some(task) = &card.task {
                p["ai_domain"] = json!([domain(task)]);
            }
            if let Some(use_) = &a.intended_use {
                p["ai_informationAboutApplication"] = json!(use_);
            }
            if let Some(limits) = a.all_limitations() {
                p["ai_limitation"] = json!(limits);
            }
            let metrics: Vec<Value> = a
                .all_metrics()
                .into_iter()
                .map(|(name, value, dataset)| {
                    let key = match dataset {
                        Some(d) => format!("{name} ({d})"),
                        None => name,
                    };
                    json!({"type": "DictionaryEntry", "key": key, "value": value})
                })
                .collect();
            if !metrics.is_empty() {
                p["ai_metric"] = json!(metrics);
            }
        }
        ArtifactKind::Dataset => {
            if let Some(use_) = &a.intended_use {
                p["dataset_intendedUse"] = json!(use_);
            }
        }
    }
    if let Some(owner) = &a.owner {
        p["suppliedBy"] = json!(g.agent(owner));
    }
    let id = g.add(p, &local);
    if !single {
        for f in files {
            let file = g.add(
                json!({
                    "type": "software_File",
                    "name": f.path,
                    "software_fileKind": "file",
                    "verifiedUsing": [hash("sha256", &f.sha256)],
                }),
                &format!("{local}/{}", f.path),
            );
            g.relate(&id, "contains", &file);
        }
    }
    if let Some(l) = a.licence() {
        let l = g.licence(&l);
        g.relate(&id, "hasDeclaredLicense", &l);
    }
    if let Some(approval) = &a.approval {
        let mut statement = String::from("approved");
        if let Some(by) = &approval.by {
            statement.push_str(&format!(" by {by}"));
        }
        if let Some(at) = &approval.at {
            statement.push_str(&format!(" at {at}"));
        }
        if let Some(forced) = &approval.forced {
            statement.push_str(&format!(", overriding findings: {forced}"));
        }
        g.annotate(&id, "review", statement);
    }
    if !a.custodians.is_empty() {
        g.annotate(
            &id,
            "other",
            format!("aigate:custodians={}", a.custodians.join(", ")),
        );
    }
    let mut facts = vec![format!("aigate:path={}", a.path)];
    if let Some(d) = &a.digest {
        facts.push(format!("aigate:content-digest=sha256:{d}"));
    }
    if let Some(source) = &a.source {
        facts.push(format!("aigate:source={source}"));
    }
    for (name, value) in &a.properties {
        facts.push(format!("aigate:{name}={value}"));
    }
    g.annotate(&id, "other", facts.join("\n"));
    id
}

/// The CVSS v3 assessment of a CycloneDX rating that carries one.
fn cvss_v3(rating: &Value) -> Option<(f64, String, String)> {
    let method = rating.get("method")?.as_str()?;
    if method != "CVSSv3" && method != "CVSSv31" {
        return None;
    }
    let score = rating.get("score")?.as_f64()?;
    let vector = rating.get("vector")?.as_str()?.to_owned();
    let severity = match rating.get("severity").and_then(Value::as_str) {
        Some(s @ ("critical" | "high" | "medium" | "low" | "none")) => s.to_owned(),
        _ => return None,
    };
    Some((score, vector, severity))
}

/// The audit's CycloneDX vulnerabilities as `security_Vulnerability` elements, each
/// associated with the packages it affects, with its CVSS v3 assessment where it has one.
fn vulnerabilities(g: &mut Graph, vulns: &[Value], by_purl: &BTreeMap<String, String>) {
    for v in vulns {
        let Some(id) = v.get("id").and_then(Value::as_str) else {
            continue;
        };
        let identifier_type = if id.to_ascii_uppercase().starts_with("CVE-") {
            "cve"
        } else {
            "securityOther"
        };
        let mut element = json!({
            "type": "security_Vulnerability",
            "name": id,
            "externalIdentifier": [{
                "type": "ExternalIdentifier",
                "externalIdentifierType": identifier_type,
                "identifier": id,
            }],
        });
        if let Some(d) = v.get("description").and_then(Value::as_str) {
            element["description"] = json!(d);
        }
        let fixed = v
            .get("properties")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|p| p.get("name").and_then(Value::as_str) == Some("aigate:fixed-version"))
            .and_then(|p| p.get("value").and_then(Value::as_str));
        if let Some(fixed) = fixed {
            element["comment"] = json!(format!("fixed in {fixed}"));
        }
        let vuln = g.add(element, &format!("vulnerability:{id}"));
        let affected: Vec<String> = v
            .get("affects")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| a.get("ref").and_then(Value::as_str))
            .filter_map(|r| by_purl.get(r).cloned())
            .collect();
        let cvss = v
            .get("ratings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find_map(cvss_v3);
        for package in affected {
            g.relate(&package, "hasAssociatedVulnerability", &vuln);
            if let Some((score, vector, severity)) = &cvss {
                let local = format!("cvss:{id}/{package}");
                g.add(
                    json!({
                        "type": "security_CvssV3VulnAssessmentRelationship",
                        "relationshipType": "hasAssessmentFor",
                        "from": vuln,
                        "to": [package],
                        "security_score": score,
                        "security_vectorString": vector,
                        "security_severity": severity,
                    }),
                    &local,
                );
            }
        }
    }
}

fn graph(
    namespace: String,
    project: &Project,
    libraries: &[Library],
    artifacts: &[Artifact],
    options: &Options,
) -> (Vec<Value>, String) {
    let mut g = Graph {
        namespace,
        elements: Vec::new(),
        ids: BTreeSet::new(),
        relationships: BTreeMap::new(),
        annotations: Vec::new(),
        licences: BTreeMap::new(),
        agents: BTreeMap::new(),
    };
    let agent = g.add(
        json!({"type": "SoftwareAgent", "name": options.tool.0}),
        &format!("tool-agent:{}", options.tool.0),
    );
    let tool = g.add(
        json!({"type": "Tool", "name": format!("{} {}", options.tool.0, options.tool.1)}),
        &format!("tool:{}", options.tool.0),
    );
    let mut root = json!({
        "type": "software_Package",
        "name": project.name,
        "software_primaryPurpose": "application",
    });
    if let Some(v) = &project.version {
        root["software_packageVersion"] = json!(v);
    }
    let root = g.add(root, "project");
    let mut libs: Vec<&Library> = libraries.iter().collect();
    libs.sort_by(|a, b| a.purl.cmp(&b.purl));
    libs.dedup_by(|a, b| a.purl == b.purl);
    let mut by_name: BTreeMap<&str, String> = BTreeMap::new();
    let mut by_purl: BTreeMap<String, String> = BTreeMap::new();
    for lib in &libs {
        let id = library(&mut g, lib);
        by_name.insert(lib.name.as_str(), id.clone());
        by_purl.insert(lib.purl.clone(), id.clone());
        if lib.direct {
            g.relate(&root, "dependsOn", &id);
        }
    }
    for lib in &libs {
        let Some(from) = by_purl.get(&lib.purl).cloned() else {
            continue;
        };
        for on in &lib.depends_on {
            if let Some(to) = by_name.get(on.as_str()).cloned()
                && to != from
            {
                g.relate(&from, "dependsOn", &to);
            }
        }
    }
    let mut artifact_ids: BTreeMap<String, String> = BTreeMap::new();
    for a in artifacts {
        let id = artifact(&mut g, a);
        g.relate(&root, "dependsOn", &id);
        artifact_ids.insert(artifact_ref(a.kind, &a.name), id);
    }
    for a in artifacts.iter().filter(|a| a.kind == ArtifactKind::Model) {
        let Some(id) = artifact_ids.get(&artifact_ref(a.kind, &a.name)).cloned() else {
            continue;
        };
        for (kind, linked, card_ids) in [
            ("trainedOn", a.trained_on(artifacts), &a.card.datasets),
            ("testedOn", a.tested_on(artifacts), &a.card.evaluated_on),
        ] {
            for d in &linked {
                if let Some(to) = artifact_ids.get(&artifact_ref(d.kind, &d.name)).cloned() {
                    g.relate(&id, kind, &to);
                }
            }
            for hub_id in card_ids {
                if crate::declared_dataset(hub_id, artifacts).is_none() {
                    let to = hub_reference(&mut g, ArtifactKind::Dataset, hub_id);
                    g.relate(&id, kind, &to);
                }
            }
        }
        for base in &a.card.base_models {
            let from = hub_reference(&mut g, ArtifactKind::Model, base);
            g.relate(&from, "ancestorOf", &id);
        }
    }
    vulnerabilities(&mut g, &options.vulnerabilities, &by_purl);
    if let Some(sig) = &options.lock_signature {
        g.annotate(&root, "other", sig.statement());
    }
    let relationships = std::mem::take(&mut g.relationships);
    for (n, ((from, kind), to)) in relationships.into_iter().enumerate() {
        g.add(
            json!({
                "type": "Relationship",
                "from": from,
                "relationshipType": kind,
                "to": to.into_iter().collect::<Vec<_>>(),
            }),
            &format!("relationship/{n}"),
        );
    }
    let annotations = std::mem::take(&mut g.annotations);
    for (n, (subject, kind, statement)) in annotations.into_iter().enumerate() {
        g.add(
            json!({
                "type": "Annotation",
                "annotationType": kind,
                "subject": subject,
                "statement": statement,
            }),
            &format!("annotation/{n}"),
        );
    }
    let data_licence = g.licence(&Licence::Expression("CC0-1.0".into()));
    let mut profiles = vec!["core", "software", "simpleLicensing", "ai", "dataset"];
    if !options.vulnerabilities.is_empty() {
        profiles.push("security");
    }
    let members: Vec<Value> = g
        .elements
        .iter()
        .filter_map(|e| e.get("spdxId").cloned())
        .collect();
    let document = json!({
        "type": "SpdxDocument",
        "spdxId": g.id("document"),
        "creationInfo": CREATION_INFO,
        "name": format!("{} AI bill of materials", project.name),
        "profileConformance": profiles,
        "dataLicense": data_licence,
        "rootElement": [root],
        "element": members,
    });
    let creation = json!({
        "type": "CreationInfo",
        "@id": CREATION_INFO,
        "specVersion": "3.0.1",
        "created": options.timestamp,
        "createdBy": [agent],
        "createdUsing": [tool],
    });
    let mut out = vec![creation, document];
    out.extend(g.elements);
    (out, root)
}

/// The SPDX 3.0.1 JSON-LD document of `project`. Its namespace is `options.serial` when given
/// (a `urn:uuid:` URN), else a URN derived from the content.
pub fn spdx(
    project: &Project,
    libraries: &[Library],
    artifacts: &[Artifact],
    options: &Options,
) -> Value {
    let namespace = options.serial.clone().unwrap_or_else(|| {
        let (draft, _) = graph(
            "urn:aigate:draft".into(),
            project,
            libraries,
            artifacts,
            options,
        );
        content_serial(Value::Array(draft).to_string().as_bytes())
    });
    let (elements, _) = graph(namespace, project, libraries, artifacts, options);
    json!({"@context": CONTEXT, "@graph": elements})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_keep_purls_readable_and_encode_the_rest() {
        assert_eq!(
            fragment("pkg:pypi/torch@2.5.1+cpu"),
            "pkg:pypi/torch@2.5.1%2Bcpu"
        );
        assert_eq!(fragment("model:m/a b.bin"), "model:m/a%20b.bin");
    }

    #[test]
    fn hub_sources_give_pages_and_revisions() {
        assert_eq!(
            download_location("hf://acme/bert@abc/model.safetensors").as_deref(),
            Some("https://huggingface.co/acme/bert")
        );
        assert_eq!(
            download_location("hf://datasets/acme/reviews@v1").as_deref(),
            Some("https://huggingface.co/datasets/acme/reviews")
        );
        assert_eq!(
            hub_revision("hf://acme/bert@abc/model.safetensors"),
            Some("abc")
        );
        assert_eq!(hub_revision("hf://acme/bert"), None);
        assert_eq!(domain("text-classification"), "natural language processing");
        assert_eq!(domain("something-new"), "something-new");
    }
}
