//! `aigate sbom --check`: does an SBOM (aigate's or another tool's) record the project's models
//! and datasets with the hashes they have? Reads CycloneDX JSON (every `hashes` entry, nested
//! components included), SPDX 2.x JSON (`checksums` of packages and files) and SPDX 3 JSON-LD
//! (`verifiedUsing` hashes of every element).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use aigate_report::{Finding, Location};

use crate::{Artifact, artifact_ref};

aigate_report::rules! {
    /// Every rule of `aigate sbom --check`.
    RULES;
    SBOM_ARTIFACT_MISSING = "sbom-artifact-missing", Medium,
        "a model or dataset the project pins is not in the SBOM: no component has its name or any of its files' SHA-256",
        "regenerate the SBOM (`aigate sbom`), or add the artifact to the tool that writes it";
    SBOM_ARTIFACT_HASH_DIFFERS = "sbom-artifact-hash-differs", High,
        "the SBOM lists the model or dataset by name but with none of the SHA-256 digests its files have now: the SBOM describes other bytes",
        "find out which bytes are right: if the files changed on purpose, re-lock and regenerate the SBOM; if not, the files were replaced";
    SBOM_ARTIFACT_UNHASHED = "sbom-artifact-unhashed", Medium,
        "the SBOM lists the model or dataset by name but with no SHA-256 digest of it or its files, so it does not say which bytes it describes",
        "write the SBOM with a tool that records the weights' hashes (`aigate sbom`), or add the SHA-256 of every file";
    SBOM_ARTIFACT_FILES_MISSING = "sbom-artifact-files-missing", Medium,
        "the SBOM records some of the artifact's files but not all: the files it misses are not covered by its hashes",
        "regenerate the SBOM so that every weight file is listed with its hash";
    SBOM_UNREADABLE = "sbom-unreadable", High,
        "the file is not an SBOM aigate can read (CycloneDX JSON, SPDX 2.x JSON or SPDX 3 JSON-LD), so nothing could be checked",
        "check that the file is the JSON SBOM; XML and tag-value documents are not read";
}

/// What an SBOM records: the SHA-256 digests it lists and the names of its components.
#[derive(Debug, Default)]
pub struct Recorded {
    /// The kind of document: `CycloneDX 1.6`, `SPDX-2.3`, `SPDX 3`.
    pub format: String,
    /// Lower-case hex SHA-256 digests.
    pub sha256: BTreeSet<String>,
    /// Names of components, packages and elements.
    pub names: BTreeSet<String>,
    /// The names among `names` whose entry carries a SHA-256: on itself, on a component nested
    /// in it, or on a file it contains (SPDX `hasFiles` and `contains` relationships).
    pub hashed_names: BTreeSet<String>,
}

fn note_sha256(value: &str, into: &mut BTreeSet<String>) {
    let v = value.trim().to_ascii_lowercase();
    if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        into.insert(v);
    }
}

/// The SHA-256 digests of one object's own hash list (`hashes`, `checksums`, `verifiedUsing`).
fn own_sha256(map: &serde_json::Map<String, Value>, into: &mut BTreeSet<String>) {
    for key in ["hashes", "checksums", "verifiedUsing"] {
        for h in map.get(key).and_then(Value::as_array).into_iter().flatten() {
            let alg = ["alg", "algorithm"]
                .iter()
                .find_map(|k| h.get(*k).and_then(Value::as_str))
                .unwrap_or("")
                .to_ascii_lowercase()
                .replace(['-', '_'], "");
            let content = ["content", "checksumValue", "hashValue"]
                .iter()
                .find_map(|k| h.get(*k).and_then(Value::as_str));
            if alg == "sha256"
                && let Some(c) = content
            {
                note_sha256(c, into);
            }
        }
    }
}

/// The identifier of an element, in whichever vocabulary the document uses.
fn element_id(map: &serde_json::Map<String, Value>) -> Option<&str> {
    ["spdxId", "SPDXID", "@id", "bom-ref"]
        .iter()
        .find_map(|k| map.get(*k).and_then(Value::as_str))
}

/// The string or strings of a relationship end.
fn ids_of(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Walks every object of the document (iteratively: no recursion on untrusted depth), in
/// linear time: objects are listed parents first, then whether a subtree carries a SHA-256 is
/// carried from children to parents.
fn walk(root: &Value, recorded: &mut Recorded) {
    let mut objects: Vec<(&serde_json::Map<String, Value>, Option<usize>)> = Vec::new();
    let mut stack: Vec<(&Value, Option<usize>)> = vec![(root, None)];
    while let Some((value, parent)) = stack.pop() {
        match value {
            Value::Array(items) => stack.extend(items.iter().map(|v| (v, parent))),
            Value::Object(map) => {
                let index = objects.len();
                objects.push((map, parent));
                stack.extend(map.values().map(|v| (v, Some(index))));
            }
            _ => {}
        }
    }
    let mut hashed = vec![false; objects.len()];
    for (i, (map, _)) in objects.iter().enumerate() {
        let mut own = BTreeSet::new();
        own_sha256(map, &mut own);
        hashed[i] = !own.is_empty();
        recorded.sha256.append(&mut own);
    }
    for i in (0..objects.len()).rev() {
        if hashed[i]
            && let Some(parent) = objects[i].1
        {
            hashed[parent] = true;
        }
    }
    // Ids of elements that carry a SHA-256, and what each id contains.
    let mut hashed_ids: BTreeSet<&str> = BTreeSet::new();
    let mut contains: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (i, (map, _)) in objects.iter().enumerate() {
        if let Some(id) = element_id(map) {
            if hashed[i] {
                hashed_ids.insert(id);
            }
            contains
                .entry(id)
                .or_default()
                .extend(ids_of(map.get("hasFiles")));
        }
        let is_contains = map
            .get("relationshipType")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("contains"));
        if is_contains {
            let to = ids_of(map.get("to").or_else(|| map.get("relatedSpdxElement")));
            for from in ids_of(map.get("from").or_else(|| map.get("spdxElementId"))) {
                contains.entry(from).or_default().extend(to.iter().copied());
            }
        }
    }
    for (i, (map, _)) in objects.iter().enumerate() {
        let Some(name) = map.get("name").and_then(Value::as_str) else {
            continue;
        };
        recorded.names.insert(name.to_owned());
        let contained = element_id(map)
            .and_then(|id| contains.get(id))
            .is_some_and(|ids| ids.iter().any(|c| hashed_ids.contains(c)));
        if hashed[i] || contained {
            recorded.hashed_names.insert(name.to_owned());
        }
    }
}

/// Reads an SBOM document. `Err` says why it is none aigate reads.
pub fn read(bytes: &[u8]) -> Result<Recorded, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let format = if value.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        format!(
            "CycloneDX {}",
            value
                .get("specVersion")
                .and_then(Value::as_str)
                .unwrap_or("?")
        )
    } else if let Some(v) = value.get("spdxVersion").and_then(Value::as_str) {
        v.to_owned()
    } else if value.get("@graph").is_some()
        && value
            .get("@context")
            .and_then(Value::as_str)
            .is_some_and(|c| c.contains("spdx.org/rdf/3"))
    {
        "SPDX 3".to_owned()
    } else {
        return Err(
            "neither CycloneDX (bomFormat) nor SPDX (spdxVersion, or an SPDX 3 @context)".into(),
        );
    };
    let mut recorded = Recorded {
        format,
        ..Recorded::default()
    };
    walk(&value, &mut recorded);
    Ok(recorded)
}

/// The findings of checking `artifacts` against what `recorded` holds; `at` is the SBOM's path.
pub fn check(recorded: &Recorded, artifacts: &[Artifact], at: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    for a in artifacts {
        let location = Location::file(at).with_subject(artifact_ref(a.kind, &a.name));
        let missing: Vec<&str> = a
            .files
            .iter()
            .filter(|f| !recorded.sha256.contains(&f.sha256))
            .map(|f| f.path.as_str())
            .collect();
        let kind = match a.kind {
            crate::ArtifactKind::Model => "model",
            crate::ArtifactKind::Dataset => "dataset",
        };
        if missing.is_empty() {
            continue;
        }
        let finding = if missing.len() < a.files.len() {
            Finding::new(
                &SBOM_ARTIFACT_FILES_MISSING,
                format!(
                    "{kind} `{}`: {} of its {} files are not in the SBOM: {}",
                    a.name,
                    missing.len(),
                    a.files.len(),
                    missing.join(", ")
                ),
                location,
            )
        } else if recorded.names.contains(&a.name) && !recorded.hashed_names.contains(&a.name) {
            Finding::new(
                &SBOM_ARTIFACT_UNHASHED,
                format!(
                    "{kind} `{}` is in the SBOM, but without the SHA-256 of it or of its files",
                    a.name
                ),
                location,
            )
        } else if recorded.names.contains(&a.name) {
            Finding::new(
                &SBOM_ARTIFACT_HASH_DIFFERS,
                format!(
                    "{kind} `{}` is in the SBOM, but with none of the SHA-256 digests of its files",
                    a.name
                ),
                location,
            )
        } else {
            Finding::new(
                &SBOM_ARTIFACT_MISSING,
                format!("{kind} `{}` is not in the SBOM", a.name),
                location,
            )
        };
        let digests: BTreeMap<&str, &str> = a
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.sha256.as_str()))
            .collect();
        let detail = missing
            .iter()
            .filter_map(|p| digests.get(p).map(|d| format!("{p} sha256:{d}")))
            .collect::<Vec<_>>()
            .join("; ");
        out.push(
            finding
                .with_detail("sbom-format", recorded.format.clone())
                .with_detail("missing", detail),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ArtifactFile, ArtifactKind};

    fn model(name: &str, files: &[(&str, &str)]) -> Artifact {
        Artifact {
            kind: ArtifactKind::Model,
            name: name.into(),
            path: name.into(),
            source: None,
            owner: None,
            intended_use: None,
            description: None,
            licence: None,
            files: files
                .iter()
                .map(|(p, d)| ArtifactFile {
                    path: (*p).into(),
                    size: 1,
                    sha256: (*d).into(),
                })
                .collect(),
            digest: None,
            properties: Vec::new(),
            custodians: Vec::new(),
            trained_on: Vec::new(),
            tested_on: Vec::new(),
            metrics: Vec::new(),
            limitations: None,
            approval: None,
            card: crate::card::CardFacts::default(),
        }
    }

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn spdx2_checksums_and_names_are_read() {
        let doc = format!(
            r#"{{"spdxVersion": "SPDX-2.3", "packages": [{{"name": "bert", "checksums": [{{"algorithm": "SHA256", "checksumValue": "{}"}}]}}]}}"#,
            A.to_uppercase()
        );
        let r = read(doc.as_bytes()).unwrap_or_default();
        assert_eq!(r.format, "SPDX-2.3");
        assert!(r.sha256.contains(A));
        let found = check(&r, &[model("bert", &[("w.bin", A)])], "sbom.json");
        assert!(found.is_empty(), "{found:?}");
        let found = check(&r, &[model("bert", &[("w.bin", B)])], "sbom.json");
        assert_eq!(found[0].rule, "sbom-artifact-hash-differs");
        let found = check(&r, &[model("gpt", &[("w.bin", B)])], "sbom.json");
        assert_eq!(found[0].rule, "sbom-artifact-missing");
        let found = check(
            &r,
            &[model("bert", &[("w.bin", A), ("x.bin", B)])],
            "sbom.json",
        );
        assert_eq!(found[0].rule, "sbom-artifact-files-missing");
    }

    #[test]
    fn spdx3_verified_using_is_read() {
        let doc = format!(
            r#"{{"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": [{{"type": "ai_AIPackage", "name": "m", "verifiedUsing": [{{"type": "Hash", "algorithm": "sha256", "hashValue": "{A}"}}]}}]}}"#
        );
        let r = read(doc.as_bytes()).unwrap_or_default();
        assert_eq!(r.format, "SPDX 3");
        assert!(r.sha256.contains(A));
    }

    /// An entry without any hash, as cdxgen writes for a model folder, is not a substitution.
    #[test]
    fn a_named_entry_without_hashes_is_unhashed_not_different() {
        let doc = r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "machine-learning-model", "name": "bert"}, {"type": "library", "name": "numpy", "hashes": [{"alg": "SHA-256", "content": "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"}]}]}"#;
        let r = read(doc.as_bytes()).unwrap_or_default();
        let found = check(&r, &[model("bert", &[("w.bin", A)])], "sbom.json");
        assert_eq!(found[0].rule, "sbom-artifact-unhashed");
    }

    /// A folder's hashes sit on its files: nested CycloneDX components, SPDX 2 `hasFiles`, SPDX 3
    /// `contains` relationships. Other hashes there are a difference, not an absence.
    #[test]
    fn hashes_of_contained_files_count_for_the_folder() {
        let cyclonedx = format!(
            r#"{{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{{"type": "machine-learning-model", "name": "bert", "components": [{{"type": "file", "name": "w.bin", "hashes": [{{"alg": "SHA-256", "content": "{B}"}}]}}]}}]}}"#
        );
        let spdx2 = format!(
            r#"{{"spdxVersion": "SPDX-2.3", "packages": [{{"SPDXID": "SPDXRef-bert", "name": "bert", "hasFiles": ["SPDXRef-w"]}}], "files": [{{"SPDXID": "SPDXRef-w", "fileName": "w.bin", "checksums": [{{"algorithm": "SHA256", "checksumValue": "{B}"}}]}}]}}"#
        );
        let spdx3 = format!(
            r#"{{"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": [{{"type": "ai_AIPackage", "spdxId": "urn:m", "name": "bert"}}, {{"type": "software_File", "spdxId": "urn:f", "name": "w.bin", "verifiedUsing": [{{"type": "Hash", "algorithm": "sha256", "hashValue": "{B}"}}]}}, {{"type": "Relationship", "spdxId": "urn:r", "from": "urn:m", "relationshipType": "contains", "to": ["urn:f"]}}]}}"#
        );
        for doc in [cyclonedx, spdx2, spdx3] {
            let r = read(doc.as_bytes()).unwrap_or_default();
            let found = check(&r, &[model("bert", &[("w.bin", A)])], "sbom.json");
            assert_eq!(found[0].rule, "sbom-artifact-hash-differs", "{doc}");
        }
    }

    #[test]
    fn other_json_is_refused() {
        assert!(read(b"{\"hello\": 1}").is_err());
        assert!(read(b"<bom/>").is_err());
    }
}
