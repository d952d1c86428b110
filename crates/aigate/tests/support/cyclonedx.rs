//! The CycloneDX JSON schemas shipped in `schemas/cyclonedx/` (Apache-2.0, from the CycloneDX
//! specification repository), compiled with their `$ref`s to the SPDX licence list, JSF and the
//! cryptography definitions served from the same folder: nothing is fetched.

use std::path::{Path, PathBuf};

use jsonschema::{Retrieve, Uri};

fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/cyclonedx")
}

/// Answers `http://cyclonedx.org/schema/NAME` from the shipped folder.
struct Shipped;

impl Retrieve for Shipped {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<serde_json::Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri
            .as_str()
            .strip_prefix("http://cyclonedx.org/schema/")
            .ok_or_else(|| format!("not a shipped CycloneDX schema: {}", uri.as_str()))?;
        let text = std::fs::read_to_string(folder().join(name))?;
        Ok(serde_json::from_str(&text)?)
    }
}

/// The validator of CycloneDX `version` ("1.6" or "1.7").
pub(crate) fn validator(version: &str) -> jsonschema::Validator {
    let path = folder().join(format!("bom-{version}.schema.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .with_retriever(Shipped)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

/// Panics with every schema error of `document`.
pub(crate) fn assert_valid(version: &str, document: &serde_json::Value) {
    let validator = validator(version);
    let errors: Vec<String> = validator
        .iter_errors(document)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "CycloneDX {version}: {errors:#?}");
}
