//! `aigate sbom --completeness`: which of the published minimum elements the project's SBOM
//! carries, per model and dataset, and what to add to fill each gap.
//!
//! Two frameworks are assessed. The G7 "Software Bill of Materials for AI — Minimum Elements"
//! (G7 Cybersecurity Working Group, May 2026) groups its elements in seven clusters: metadata,
//! system-level properties, models, dataset properties, key performance indicators,
//! infrastructure and security properties. The EU AI Act's documentation of general-purpose AI
//! models (Annex XI, and the Commission's model documentation form) asks for the model's
//! authenticity by a secure hash and for its dependencies: the models and data it derives from.
//! The element lists below are aigate's reading of both, limited to what an SBOM built from a
//! repository can carry.

use aigate_report::{Finding, Location, Severity};

use crate::{Artifact, ArtifactKind, Library, Options, artifact_ref};

aigate_report::rules! {
    /// Every rule of `aigate sbom --completeness`.
    RULES;
    SBOM_G7_ELEMENT_MISSING = "sbom-g7-element-missing", Low,
        "the SBOM lacks an element of the G7 minimum elements for AI (May 2026) for this model, dataset or document",
        "add what the finding's hint names, then regenerate the SBOM";
    SBOM_EU_AI_ACT_ELEMENT_MISSING = "sbom-eu-ai-act-element-missing", Low,
        "the SBOM lacks an element the EU AI Act's model documentation asks for (model authenticity by secure hash, model dependencies)",
        "add what the finding's hint names, then regenerate the SBOM";
    SBOM_COVERAGE = "sbom-coverage", Info,
        "how many of the minimum elements the SBOM carries for a model, dataset or the document",
        "see the other findings for each missing element";
}

/// A framework of minimum elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Framework {
    /// The G7 SBOM for AI minimum elements.
    G7,
    /// The EU AI Act's model documentation.
    EuAiAct,
}

impl Framework {
    /// How reports name it.
    pub fn label(self) -> &'static str {
        match self {
            Framework::G7 => "G7",
            Framework::EuAiAct => "EU AI Act",
        }
    }
}

/// One element, assessed for one subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessed {
    /// `document`, `model:NAME` or `dataset:NAME`.
    pub subject: String,
    /// The framework that asks for it.
    pub framework: Framework,
    /// The framework's cluster (`Models`, `Dataset properties`, `Article 53 / Annex XI`).
    pub cluster: &'static str,
    /// The element.
    pub element: &'static str,
    /// Whether the SBOM carries it.
    pub present: bool,
    /// What to add to fill it.
    pub fill: String,
}

/// Machine-learning frameworks and runtimes, by normalised PyPI name: the infrastructure the
/// models run on.
const FRAMEWORKS: &[&str] = &[
    "jax",
    "keras",
    "lightgbm",
    "mlx",
    "onnx",
    "onnxruntime",
    "onnxruntime-gpu",
    "openvino",
    "paddlepaddle",
    "safetensors",
    "scikit-learn",
    "tensorflow",
    "tensorflow-cpu",
    "tensorrt",
    "tf-keras",
    "torch",
    "transformers",
    "vllm",
    "xgboost",
];

struct Assessor {
    out: Vec<Assessed>,
}

impl Assessor {
    fn element(
        &mut self,
        subject: &str,
        (framework, cluster, element): (Framework, &'static str, &'static str),
        present: bool,
        fill: impl Into<String>,
    ) {
        self.out.push(Assessed {
            subject: subject.to_owned(),
            framework,
            cluster,
            element,
            present,
            fill: fill.into(),
        });
    }
}

const G7_METADATA: &str = "Metadata";
const G7_SYSTEM: &str = "System-level properties";
const G7_MODELS: &str = "Models";
const G7_DATASETS: &str = "Dataset properties";
const G7_KPI: &str = "Key performance indicators";
const G7_INFRASTRUCTURE: &str = "Infrastructure";
const G7_SECURITY: &str = "Security properties";
const EU: &str = "Model documentation (Annex XI)";

fn model(a: &Artifact, artifacts: &[Artifact], s: &mut Assessor) {
    use Framework::{EuAiAct, G7};
    let subject = artifact_ref(a.kind, &a.name);
    let decl = format!("the [[model]] `{}` in aigate.toml", a.name);
    let hashed = !a.files.is_empty() && a.files.iter().all(|f| !f.sha256.is_empty());
    s.element(
        &subject,
        (
            G7,
            G7_MODELS,
            "hash value and algorithm of every weight file",
        ),
        hashed,
        "lock it: `aigate lock`",
    );
    s.element(
        &subject,
        (EuAiAct, EU, "model authenticity by secure hash"),
        hashed,
        "lock it: `aigate lock`",
    );
    s.element(
        &subject,
        (G7, G7_MODELS, "source and version"),
        a.source.is_some(),
        format!("set `source = \"hf://ORG/NAME@REVISION\"` (or an https URL) on {decl}"),
    );
    s.element(
        &subject,
        (G7, G7_MODELS, "producer"),
        a.owner.is_some(),
        format!("set `owner = \"…\"` on {decl}"),
    );
    s.element(
        &subject,
        (G7, G7_MODELS, "licence"),
        a.licence().is_some(),
        format!(
            "set `license = \"SPDX-EXPRESSION\"` on {decl}, or `license:` in the model card's front matter"
        ),
    );
    s.element(
        &subject,
        (G7, G7_MODELS, "architecture and type"),
        a.card.model_type.is_some() || a.card.architecture.is_some(),
        "ship the model's config.json (`model_type`, `architectures`) in its folder",
    );
    s.element(
        &subject,
        (G7, G7_MODELS, "intended use"),
        a.intended_use.is_some(),
        format!("set `intended-use = \"…\"` on {decl}"),
    );
    s.element(
        &subject,
        (G7, G7_MODELS, "limitations"),
        a.all_limitations().is_some(),
        format!(
            "set `limitations = \"…\"` on {decl}, or add a `## Limitations` section to the model card"
        ),
    );
    let trained = !a.trained_on(artifacts).is_empty() || !a.card.datasets.is_empty();
    s.element(
        &subject,
        (G7, G7_MODELS, "training datasets"),
        trained,
        format!(
            "declare the data as a [[dataset]] and set `trained-on = [\"NAME\"]` on {decl}, or list it under `datasets:` in the model card"
        ),
    );
    s.element(
        &subject,
        (
            EuAiAct,
            EU,
            "model dependencies (base models, training data)",
        ),
        trained || !a.card.base_models.is_empty(),
        format!("set `trained-on` on {decl}, or `base_model:` and `datasets:` in the model card"),
    );
    s.element(
        &subject,
        (G7, G7_KPI, "performance metrics"),
        !a.all_metrics().is_empty(),
        format!(
            "set `metrics = {{ accuracy = \"0.91\" }}` on {decl}, or add `model-index` results to the model card"
        ),
    );
    let scanned = a.properties.iter().any(|(k, _)| k == "scan-verdict");
    s.element(
        &subject,
        (G7, G7_SECURITY, "security scan verdict"),
        scanned,
        "lock it, which scans it: `aigate lock`",
    );
    s.element(
        &subject,
        (G7, G7_SECURITY, "approval"),
        a.approval.is_some(),
        format!("approve it: `aigate approve {}`", a.name),
    );
}

fn dataset(a: &Artifact, s: &mut Assessor) {
    use Framework::G7;
    let subject = artifact_ref(a.kind, &a.name);
    let decl = format!("the [[dataset]] `{}` in aigate.toml", a.name);
    s.element(
        &subject,
        (G7, G7_DATASETS, "hash value and algorithm of every file"),
        !a.files.is_empty(),
        "lock it: `aigate lock`",
    );
    s.element(
        &subject,
        (G7, G7_DATASETS, "source and provenance"),
        a.source.is_some(),
        format!("set `source = \"…\"` on {decl}"),
    );
    s.element(
        &subject,
        (G7, G7_DATASETS, "licence"),
        a.licence().is_some(),
        format!("set `license = \"SPDX-EXPRESSION\"` on {decl}"),
    );
    s.element(
        &subject,
        (G7, G7_DATASETS, "owner or custodian"),
        a.owner.is_some() || !a.custodians.is_empty(),
        format!("set `owner = \"…\"` or `custodians = [\"…\"]` on {decl}"),
    );
    s.element(
        &subject,
        (G7, G7_DATASETS, "intended use"),
        a.intended_use.is_some(),
        format!("set `intended-use = \"…\"` on {decl}"),
    );
}

/// Every element of both frameworks for the document, each model and each dataset, in order.
pub fn assess(libraries: &[Library], artifacts: &[Artifact], options: &Options) -> Vec<Assessed> {
    use Framework::G7;
    let mut s = Assessor { out: Vec::new() };
    let doc = "document";
    s.element(
        doc,
        (G7, G7_METADATA, "author, tool and timestamp"),
        !options.tool.0.is_empty() && !options.timestamp.is_empty(),
        "",
    );
    let signed = options
        .lock_signature
        .as_ref()
        .is_some_and(|l| l.signature.is_some());
    s.element(
        doc,
        (G7, G7_METADATA, "signature over what it describes"),
        signed,
        "sign the lock the SBOM is built from: `aigate sign --lock --key KEY`",
    );
    s.element(
        doc,
        (G7, G7_SYSTEM, "software dependencies"),
        !libraries.is_empty(),
        "give the project's requirements or lock file (found at its root, or -r/--lock)",
    );
    s.element(
        doc,
        (G7, G7_SYSTEM, "dependency graph"),
        libraries.iter().any(|l| !l.depends_on.is_empty()),
        "give a lock file that records the graph (uv.lock, poetry.lock, pylock.toml, Pipfile.lock)",
    );
    s.element(
        doc,
        (G7, G7_INFRASTRUCTURE, "machine-learning frameworks and runtimes"),
        libraries
            .iter()
            .any(|l| FRAMEWORKS.binary_search(&l.name.as_str()).is_ok()),
        "list the framework the models run on (torch, tensorflow, onnxruntime, …) in the requirements",
    );
    s.element(
        doc,
        (G7, G7_SECURITY, "known vulnerabilities of the dependencies"),
        options.vulnerabilities_checked,
        "add --with-vulnerabilities (after `aigate db update`)",
    );
    for a in artifacts {
        match a.kind {
            ArtifactKind::Model => model(a, artifacts, &mut s),
            ArtifactKind::Dataset => dataset(a, &mut s),
        }
    }
    s.out
}

/// The findings of an assessment: each missing element (at `required` severity when its
/// framework is one the caller requires), and one coverage summary per subject.
pub fn findings(assessed: &[Assessed], required: &[Framework], sbom: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut subjects: Vec<&str> = Vec::new();
    for a in assessed {
        if !subjects.contains(&a.subject.as_str()) {
            subjects.push(&a.subject);
        }
    }
    for subject in subjects {
        let mine: Vec<&Assessed> = assessed.iter().filter(|a| a.subject == subject).collect();
        let present = mine.iter().filter(|a| a.present).count();
        let mut per_framework = Vec::new();
        for fw in [Framework::G7, Framework::EuAiAct] {
            let of: Vec<&&Assessed> = mine.iter().filter(|a| a.framework == fw).collect();
            if !of.is_empty() {
                per_framework.push(format!(
                    "{} {}/{}",
                    fw.label(),
                    of.iter().filter(|a| a.present).count(),
                    of.len()
                ));
            }
        }
        let missing: Vec<&str> = mine
            .iter()
            .filter(|a| !a.present)
            .map(|a| a.element)
            .collect();
        let mut summary = Finding::new(
            &SBOM_COVERAGE,
            format!(
                "{subject}: {present} of {} minimum elements ({})",
                mine.len(),
                per_framework.join(", ")
            ),
            Location::file(sbom),
        )
        .with_detail("subject", subject)
        .with_detail("present", present.to_string())
        .with_detail("elements", mine.len().to_string());
        if !missing.is_empty() {
            summary = summary.with_detail("missing", missing.join("; "));
        }
        out.push(summary);
        for a in mine.into_iter().filter(|a| !a.present) {
            let rule = match a.framework {
                Framework::G7 => &SBOM_G7_ELEMENT_MISSING,
                Framework::EuAiAct => &SBOM_EU_AI_ACT_ELEMENT_MISSING,
            };
            let mut f = Finding::new(
                rule,
                format!(
                    "{}: no {} ({} — {})",
                    a.subject,
                    a.element,
                    a.framework.label(),
                    a.cluster
                ),
                Location::file(sbom),
            )
            .with_detail("subject", &a.subject)
            .with_detail("framework", a.framework.label())
            .with_detail("cluster", a.cluster)
            .with_detail("element", a.element);
            if !a.fill.is_empty() {
                f = f.with_hint(a.fill.clone());
            }
            if required.contains(&a.framework) {
                f = f.with_severity(Severity::Medium);
            }
            out.push(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_framework_list_is_sorted_for_its_binary_search() {
        assert!(FRAMEWORKS.windows(2).all(|w| w[0] < w[1]));
    }
}
