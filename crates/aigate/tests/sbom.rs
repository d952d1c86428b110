//! `aigate sbom` as users run it: the demo project of `examples/` locked and written as a
//! CycloneDX ML-BOM, validated against the shipped CycloneDX 1.6 and 1.7 schemas, reproducible
//! byte for byte, with the weights' SHA-256 computed here and the graph of a real uv.lock.

// Test setup fails loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::cyclonedx;

use sha2::Digest;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn aigate(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aigate"))
        .current_dir(dir)
        .env_remove("VIRTUAL_ENV")
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env("AIGATE_CONFIG_DIR", dir.join(".config"))
        .env("SOURCE_DATE_EPOCH", "1798761600")
        .env("AIGATE_ACTOR", "ci")
        .args(args)
        .output()
        .unwrap()
}

use support::copy_dir as copy_tree;

/// The shipped example project as it was before `aigate lock`: without its lock and log.
fn unlocked_example(to: &Path) {
    copy_tree(&repo().join("examples"), to);
    let _ = std::fs::remove_file(to.join("aigate.lock"));
    let _ = std::fs::remove_dir_all(to.join(".aigate"));
}

/// The demo project, locked, with the uv fixture's lock beside its requirements.
fn demo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    demo_in(dir.path());
    dir
}

/// Writes the demo project into `dir` and locks it.
fn demo_in(dir: &Path) {
    unlocked_example(dir);
    std::fs::copy(
        repo().join("fixtures/python/uv/uv.lock"),
        dir.join("uv.lock"),
    )
    .unwrap();
    // A Hub model card, as `huggingface_hub` writes its metadata, naming the declared dataset.
    std::fs::write(
        dir.join("models/tiny-net/README.md"),
        "---\nlicense: apache-2.0\ndatasets:\n- embeddings\n- stanfordnlp/imdb\nbase_model: acme/tiny-base\npipeline_tag: text-classification\n---\n# tiny-net\n",
    )
    .unwrap();
    let locked = aigate(dir, &["lock"]);
    assert_eq!(
        locked.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&locked.stderr)
    );
}

fn sbom(dir: &Path, extra: &[&str]) -> (Vec<u8>, serde_json::Value) {
    let mut args = vec!["sbom", "--lock", "uv.lock", "-r", "requirements.txt"];
    args.extend_from_slice(extra);
    let out = aigate(dir, &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value = serde_json::from_slice(&out.stdout).unwrap();
    (out.stdout, value)
}

fn sha256_of(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn component<'a>(doc: &'a serde_json::Value, bom_ref: &str) -> &'a serde_json::Value {
    doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["bom-ref"] == bom_ref)
        .unwrap_or_else(|| panic!("no component {bom_ref}"))
}

#[test]
fn the_demo_project_is_a_schema_valid_reproducible_ml_bom() {
    let dir = demo();
    for spec in ["1.6", "1.7"] {
        let (first, doc) = sbom(dir.path(), &["--spec", spec]);
        let (again, _) = sbom(dir.path(), &["--spec", spec]);
        assert_eq!(
            first, again,
            "{spec}: the same project gives the same bytes"
        );
        assert_eq!(doc["specVersion"], spec);
        cyclonedx::assert_valid(spec, &doc);
    }
    let (_, doc) = sbom(dir.path(), &[]);

    let model = component(&doc, "model:churn-forest");
    assert_eq!(model["type"], "machine-learning-model");
    assert_eq!(
        model["hashes"][0]["content"],
        sha256_of(&dir.path().join("models/churn-forest.joblib"))
    );
    assert_eq!(
        model["modelCard"]["considerations"]["useCases"][0],
        "churn scoring"
    );
    // A folder model lists every file with its own digest.
    let folder = component(&doc, "model:tiny-net");
    let files = folder["components"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    for f in files {
        let path = f["name"].as_str().unwrap();
        assert_eq!(f["hashes"][0]["content"], sha256_of(&dir.path().join(path)));
    }
    let card = &folder["modelCard"]["modelParameters"];
    assert_eq!(card["task"], "text-classification");
    assert_eq!(card["modelArchitecture"], "TinyNet");
    assert_eq!(
        card["datasets"],
        serde_json::json!([{"ref": "dataset:embeddings"}, {"type": "dataset", "name": "stanfordnlp/imdb"}])
    );
    assert_eq!(
        folder["pedigree"]["ancestors"][0]["purl"],
        "pkg:huggingface/acme/tiny-base"
    );
    assert_eq!(folder["licenses"][0]["expression"], "Apache-2.0");
    let dataset = component(&doc, "dataset:embeddings");
    assert_eq!(dataset["type"], "data");
    assert_eq!(
        dataset["data"][0]["governance"]["owners"][0]["organization"]["name"],
        "data-eng"
    );

    // Libraries from both inputs, with the lock's hashes and graph.
    let requests = component(&doc, "pkg:pypi/requests@2.34.2");
    assert!(!requests["hashes"].as_array().unwrap().is_empty());
    let graph = doc["dependencies"].as_array().unwrap();
    let of_requests = graph
        .iter()
        .find(|d| d["ref"] == "pkg:pypi/requests@2.34.2")
        .unwrap();
    let on: Vec<&str> = of_requests["dependsOn"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        on.iter().any(|r| r.starts_with("pkg:pypi/urllib3@")),
        "{on:?}"
    );
    component(&doc, "pkg:pypi/torch@2.5.1");
    let root = graph.iter().find(|d| d["ref"] == "project").unwrap();
    assert!(
        root["dependsOn"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "model:tiny-net")
    );
}

#[test]
fn random_serials_differ_and_derived_ones_do_not() {
    let dir = demo();
    let (_, a) = sbom(dir.path(), &["--random-serial"]);
    let (_, b) = sbom(dir.path(), &["--random-serial"]);
    assert_ne!(a["serialNumber"], b["serialNumber"]);
    cyclonedx::assert_valid("1.7", &a);
}

#[test]
fn an_unlocked_artifact_is_an_error_that_says_to_lock() {
    let dir = tempfile::tempdir().unwrap();
    unlocked_example(dir.path());
    let out = aigate(dir.path(), &["sbom", "-r", "requirements.txt"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("aigate lock"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn help_snapshot() {
    let out = aigate(&repo(), &["sbom", "--help"]);
    insta::assert_snapshot!("sbom_help", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn check_finds_what_an_sbom_misses_or_records_with_other_hashes() {
    let dir = demo();
    let (bytes, doc) = sbom(dir.path(), &[]);
    std::fs::write(dir.path().join("ours.json"), &bytes).unwrap();
    let ours = aigate(
        dir.path(),
        &["sbom", "--check", "ours.json", "--format", "json"],
    );
    assert_eq!(
        ours.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ours.stdout)
    );

    // Another tool's SBOM: SPDX 2.3 with one model at its real hash, one at another, and one
    // folder model with only some files.
    let churn = component(&doc, "model:churn-forest")["hashes"][0]["content"].clone();
    let spdx = serde_json::json!({
        "spdxVersion": "SPDX-2.3",
        "packages": [
            {"name": "churn-forest", "checksums": [{"algorithm": "SHA256", "checksumValue": churn}]},
            {"name": "embeddings", "checksums": [{"algorithm": "SHA256", "checksumValue": "00".repeat(32)}]},
        ],
        "files": [{"fileName": "config.json", "checksums": [{"algorithm": "SHA256",
            "checksumValue": sha256_of(&dir.path().join("models/tiny-net/config.json"))}]}],
    });
    std::fs::write(dir.path().join("theirs.json"), spdx.to_string()).unwrap();
    let out = aigate(
        dir.path(),
        &["sbom", "--check", "theirs.json", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let by_subject: std::collections::BTreeMap<String, String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"].as_str().unwrap().starts_with("sbom-"))
        .map(|f| {
            (
                f["location"]["subject"].as_str().unwrap().to_owned(),
                f["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        by_subject,
        [
            ("dataset:embeddings", "sbom-artifact-hash-differs"),
            ("model:downloaded-checkpoint", "sbom-artifact-missing"),
            ("model:tiny-net", "sbom-artifact-files-missing"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .into_iter()
        .collect()
    );

    std::fs::write(dir.path().join("bom.xml"), "<bom/>").unwrap();
    let out = aigate(dir.path(), &["sbom", "--check", "bom.xml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("sbom-unreadable"));
}

#[test]
fn with_vulnerabilities_embeds_the_audit_against_the_components() {
    let dir = demo();
    std::fs::write(dir.path().join("old.txt"), "jinja2==2.10\nnumpy==2.1.3\n").unwrap();
    let db = repo().join("crates/aigate-advisory/tests/data/pypa");
    let db = db.to_str().unwrap();
    for spec in ["1.6", "1.7"] {
        let out = aigate(
            dir.path(),
            &[
                "sbom",
                "-r",
                "old.txt",
                "--with-vulnerabilities",
                "--db",
                db,
                "--spec",
                spec,
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        cyclonedx::assert_valid(spec, &doc);
        let vulns = doc["vulnerabilities"].as_array().unwrap();
        let ids: Vec<&str> = vulns.iter().map(|v| v["id"].as_str().unwrap()).collect();
        assert!(ids.contains(&"PYSEC-2019-217"), "{ids:?}");
        for v in vulns {
            let target = v["affects"][0]["ref"].as_str().unwrap();
            assert_eq!(target, "pkg:pypi/jinja2@2.10");
            component(&doc, target);
        }
    }
}

/// The elements of an SPDX 3 document's `@graph` of one type.
fn of_type<'a>(doc: &'a serde_json::Value, type_: &str) -> Vec<&'a serde_json::Value> {
    doc["@graph"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == type_)
        .collect()
}

#[test]
fn spdx_documents_carry_models_datasets_files_and_their_relationships() {
    let dir = demo();
    let (first, doc) = sbom(dir.path(), &["--format", "spdx"]);
    let (second, _) = sbom(dir.path(), &["--format", "spdx"]);
    assert_eq!(first, second, "the same project gives the same document");
    assert_eq!(
        doc["@context"],
        "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"
    );
    let models = of_type(&doc, "ai_AIPackage");
    let tiny = models.iter().find(|m| m["name"] == "tiny-net").unwrap();
    assert_eq!(tiny["ai_domain"][0], "natural language processing");
    let churn = models.iter().find(|m| m["name"] == "churn-forest").unwrap();
    assert_eq!(
        churn["verifiedUsing"][0]["hashValue"],
        sha256_of(&dir.path().join("models/churn-forest.joblib"))
    );
    let dataset = of_type(&doc, "dataset_DatasetPackage")
        .into_iter()
        .find(|d| d["name"] == "embeddings")
        .unwrap();
    let relationships = of_type(&doc, "Relationship");
    let related = |from: &serde_json::Value, kind: &str, to: &serde_json::Value| {
        relationships.iter().any(|r| {
            r["from"] == *from
                && r["relationshipType"] == kind
                && r["to"].as_array().unwrap().contains(to)
        })
    };
    assert!(related(&tiny["spdxId"], "trainedOn", &dataset["spdxId"]));
    // Every file of the folder model is contained, with its own digest.
    let files = of_type(&doc, "software_File");
    let tiny_files: Vec<_> = files
        .iter()
        .filter(|f| related(&tiny["spdxId"], "contains", &f["spdxId"]))
        .collect();
    assert_eq!(tiny_files.len(), 3);
    for f in tiny_files {
        let path = f["name"].as_str().unwrap();
        assert_eq!(
            f["verifiedUsing"][0]["hashValue"],
            sha256_of(&dir.path().join(path))
        );
    }
    // The card's licence, mapped to its SPDX id.
    let licences = of_type(&doc, "simplelicensing_LicenseExpression");
    let apache = licences
        .iter()
        .find(|l| l["simplelicensing_licenseExpression"] == "Apache-2.0")
        .unwrap();
    assert!(related(
        &tiny["spdxId"],
        "hasDeclaredLicense",
        &apache["spdxId"]
    ));
    // Every element the graph holds is one the document lists.
    let listed = of_type(&doc, "SpdxDocument")[0]["element"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(listed + 2, doc["@graph"].as_array().unwrap().len());
}

#[test]
fn completeness_names_each_gap_and_fails_only_what_is_required() {
    let dir = demo();
    let args = [
        "sbom",
        "--lock",
        "uv.lock",
        "--completeness",
        "--format",
        "json",
    ];
    let out = aigate(dir.path(), &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let gap = |subject: &str, element: &str| {
        findings.iter().any(|f| {
            f["rule"] == "sbom-g7-element-missing"
                && f["details"]["subject"] == subject
                && f["details"]["element"] == element
        })
    };
    // The lock is not signed; the tiny-net card names its training data.
    assert!(gap("document", "signature over what it describes"));
    assert!(!gap("model:tiny-net", "training datasets"));
    assert!(gap("model:churn-forest", "training datasets"));
    let mut required = args.to_vec();
    required.extend(["--require", "g7"]);
    let out = aigate(dir.path(), &required);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_lock_signature_is_recorded_and_checked_with_the_trusted_key() {
    let dir = demo();
    let d = dir.path();
    for key in ["keys/release", "keys/other"] {
        assert_eq!(aigate(d, &["keygen", "--out", key]).status.code(), Some(0));
    }
    let config = std::fs::read_to_string(d.join("aigate.toml")).unwrap();
    std::fs::write(
        d.join("aigate.toml"),
        format!("[trust]\nkeys = [\"keys/release.pub.pem\"]\n\n{config}"),
    )
    .unwrap();
    let facts = |doc: &serde_json::Value| -> Vec<(String, String)> {
        doc["metadata"]["properties"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap().to_owned(),
                    p["value"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let fact = |doc: &serde_json::Value, name: &str| {
        facts(doc)
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    };
    let (_, unsigned) = sbom(d, &[]);
    assert_eq!(
        fact(&unsigned, "aigate:lock-signature").as_deref(),
        Some("none")
    );
    assert_eq!(
        fact(&unsigned, "aigate:lock-sha256"),
        Some(sha256_of(&d.join("aigate.lock")))
    );
    let sign = |key: &str| aigate(d, &["sign", "--lock", "--key", key]).status.code();
    assert_eq!(sign("keys/other.key.pem"), Some(0));
    let (_, untrusted) = sbom(d, &[]);
    assert_eq!(
        fact(&untrusted, "aigate:lock-signature-verified").as_deref(),
        Some("false")
    );
    assert_eq!(sign("keys/release.key.pem"), Some(0));
    let (_, trusted) = sbom(d, &[]);
    assert_eq!(
        fact(&trusted, "aigate:lock-signature-verified").as_deref(),
        Some("true")
    );
    assert_eq!(
        fact(&trusted, "aigate:lock-signature-sha256"),
        Some(sha256_of(&d.join("aigate.lock.sig")))
    );
    // SPDX carries the same facts on the root package.
    let (_, spdx) = sbom(d, &["--format", "spdx"]);
    let annotated = of_type(&spdx, "Annotation").into_iter().any(|a| {
        a["statement"]
            .as_str()
            .unwrap()
            .contains("aigate:lock-signature-verified=true")
    });
    assert!(annotated);
}

/// Every output of `aigate sbom`, as snapshots: the CycloneDX 1.7 and 1.6 documents, the SPDX
/// 3.0.1 document, and the human reports of `--completeness` and `--check`.
#[test]
fn output_format_snapshots() {
    // A fixed folder name: the document is named after the project's folder.
    let temp = tempfile::tempdir().unwrap();
    let project = temp.path().join("demo");
    demo_in(&project);
    let dir = &project;
    let path = dir.display().to_string();
    let filters = vec![(path.as_str(), "[PROJECT]")];
    let text = |out: &Output| String::from_utf8_lossy(&out.stdout).into_owned();
    let (cyclonedx, _) = sbom(dir, &[]);
    let (cyclonedx_1_6, _) = sbom(dir, &["--spec", "1.6"]);
    let (spdx, _) = sbom(dir, &["--format", "spdx"]);
    let completeness = aigate(dir, &["sbom", "--lock", "uv.lock", "--completeness"]);
    assert_eq!(completeness.status.code(), Some(0));
    // An SBOM that records one model with another hash and misses the rest.
    std::fs::write(
        dir.join("theirs.json"),
        serde_json::json!({
            "bomFormat": "CycloneDX", "specVersion": "1.6",
            "components": [{"type": "machine-learning-model", "name": "churn-forest",
                "hashes": [{"alg": "SHA-256", "content": "00".repeat(32)}]}],
        })
        .to_string(),
    )
    .unwrap();
    let check = aigate(dir, &["sbom", "--check", "theirs.json"]);
    assert_eq!(check.status.code(), Some(1));
    insta::with_settings!({ filters => filters }, {
        insta::assert_snapshot!("sbom_cyclonedx_1_7", String::from_utf8_lossy(&cyclonedx));
        insta::assert_snapshot!("sbom_cyclonedx_1_6", String::from_utf8_lossy(&cyclonedx_1_6));
        insta::assert_snapshot!("sbom_spdx_3_0_1", String::from_utf8_lossy(&spdx));
        insta::assert_snapshot!("sbom_completeness_human", text(&completeness));
        insta::assert_snapshot!("sbom_check_human", text(&check));
    });
}
