//! `aigate sbom`: the project's libraries, models and datasets as a CycloneDX ML-BOM or an
//! SPDX 3 document; `--check` of an SBOM against the lock; `--completeness` against the
//! published minimum elements.

use anyhow::Result;

use aigate_integrity::manifest::Kind;
use aigate_python::Package;
use aigate_report::{Report, Severity};
use aigate_sbom::{
    Approval, Artifact, ArtifactFile, ArtifactKind, Library, Licence, LockSignature, Options,
    Project, Spec,
};

use crate::Finished;
use crate::cli::{CompletenessFramework, Format, OutputArgs, SbomArgs, SbomFormat, SbomSpec};
use crate::dependencies;
use crate::failure::Failure;
use crate::output::Destination;
use crate::project::{read_lock, tool};
use crate::settings::{Settings, now_rfc3339};

fn library(package: &Package) -> Library {
    let licence = dependencies::licence_of(package).map(|(text, expression)| {
        if expression {
            Licence::Expression(text)
        } else {
            Licence::Name(text)
        }
    });
    let (source, _) = dependencies::source_of(&package.source);
    Library {
        name: package.name.clone(),
        version: package.version.as_ref().map(ToString::to_string),
        purl: aigate_policy::purl(package),
        hashes: package.hashes.iter().map(ToString::to_string).collect(),
        licence,
        source: (!source.is_empty()).then_some(source),
        direct: package.direct,
        depends_on: package.dependencies.clone(),
    }
}

/// The declared models and datasets with what the lock pins of each.
fn artifacts(settings: &Settings) -> Result<Vec<Artifact>> {
    let declared = settings.config.artifacts();
    if declared.is_empty() {
        return Ok(Vec::new());
    }
    let Some(lock) = read_lock(settings)? else {
        return Err(Failure::new(format!(
            "aigate.toml declares models or datasets but there is no {}, so their hashes are unknown",
            settings.lock_path().display()
        ))
        .hint("run `aigate lock` first")
        .into());
    };
    let mut out = Vec::new();
    for (kind, decl) in declared {
        let name = decl.name.get_ref();
        let Some(locked) = lock
            .artifacts
            .iter()
            .find(|a| a.kind == kind && a.name == *name)
        else {
            return Err(Failure::new(format!(
                "`{name}` is declared in aigate.toml but not in aigate.lock, so its hashes are unknown"
            ))
            .hint("run `aigate lock` to pin it")
            .into());
        };
        let mut properties = vec![("approval".to_owned(), locked.approval.status.to_string())];
        let approval = &locked.approval;
        if let Some(by) = &approval.by {
            properties.push(("approved-by".into(), by.clone()));
        }
        if let Some(at) = &approval.at {
            properties.push(("approved-at".into(), at.clone()));
        }
        if let Some(forced) = &approval.forced {
            properties.push(("approval-forced".into(), forced.clone()));
        }
        let scan = &locked.scan;
        properties.push(("scan-verdict".into(), scan.verdict.as_str().into()));
        properties.push(("scanner".into(), scan.scanner.clone()));
        properties.push(("scan-findings".into(), scan.findings.to_string()));
        if let Some(max) = scan.max_severity {
            properties.push(("scan-max-severity".into(), max.as_str().into()));
        }
        let approved = approval.status == aigate_integrity::lock::Status::Approved
            && approval
                .digest
                .as_ref()
                .is_none_or(|d| *d == locked.content_digest());
        out.push(Artifact {
            kind: match kind {
                Kind::Model => ArtifactKind::Model,
                Kind::Dataset => ArtifactKind::Dataset,
            },
            name: name.clone(),
            path: locked.path.clone(),
            source: locked.source.clone(),
            owner: decl.owner.clone().or_else(|| locked.owner.clone()),
            intended_use: decl.intended_use.clone(),
            description: decl.description.clone(),
            licence: decl.license.as_deref().map(declared_licence),
            files: locked
                .files
                .iter()
                .map(|f| ArtifactFile {
                    path: f.path.clone(),
                    size: f.size,
                    sha256: f.sha256.hex(),
                })
                .collect(),
            digest: Some(locked.content_digest().hex()),
            properties,
            custodians: decl.custodians.clone(),
            trained_on: decl
                .trained_on
                .iter()
                .map(|n| n.get_ref().clone())
                .collect(),
            tested_on: decl.tested_on.iter().map(|n| n.get_ref().clone()).collect(),
            metrics: decl
                .metrics
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            limitations: decl.limitations.clone(),
            approval: approved.then(|| Approval {
                by: approval.by.clone(),
                at: approval.at.clone(),
                forced: approval.forced.clone(),
            }),
            card: folder_card(&settings.root.join(&locked.path)),
        });
    }
    Ok(out)
}

/// A declared licence: an SPDX expression when it parses as one, else a licence name.
fn declared_licence(text: &str) -> Licence {
    match aigate_policy::licence::parse_expression(text) {
        Ok(_) => Licence::Expression(text.trim().to_owned()),
        Err(_) => Licence::Name(text.trim().to_owned()),
    }
}

/// The lock's digest and its signature, when there are artifacts (and so a lock).
fn lock_signature(settings: &Settings) -> Result<Option<LockSignature>> {
    use aigate_integrity::hash::{Algorithm, hash_file};
    let sha256 = |path: &std::path::Path| {
        hash_file(path, Algorithm::Sha256)
            .ok()
            .map(|h| h.digest.hex())
    };
    let Some(lock_sha256) = sha256(&settings.lock_path()) else {
        return Ok(None);
    };
    let trust = &settings.config.trust;
    let rel = trust
        .lock_signature
        .as_deref()
        .unwrap_or(crate::config::LOCK_SIGNATURE);
    let signature = sha256(&settings.root.join(rel)).map(|digest| (rel.to_owned(), digest));
    let verified = if signature.is_some() && !trust.keys.is_empty() {
        Some(crate::signatures::check_lock(settings)?.is_empty())
    } else {
        None
    };
    Ok(Some(LockSignature {
        lock_sha256,
        signature,
        verified,
    }))
}

/// At most [`aigate_sbom::card::MAX_CARD`] bytes of `path`, if it is a file.
fn read_bounded(path: &std::path::Path) -> Option<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    let mut bytes = Vec::new();
    file.take(aigate_sbom::card::MAX_CARD as u64 + 1)
        .read_to_end(&mut bytes)
        .ok()?;
    Some(bytes)
}

/// What a model folder's `config.json` and `README.md` say (nothing for a single file).
fn folder_card(path: &std::path::Path) -> aigate_sbom::card::CardFacts {
    if !path.is_dir() {
        return aigate_sbom::card::CardFacts::default();
    }
    let config = read_bounded(&path.join("config.json"));
    let readme = read_bounded(&path.join("README.md"));
    aigate_sbom::card::read(config.as_deref(), readme.as_deref())
}

/// A serial number no other run gives: the content's, salted with the time and process.
fn random_serial() -> String {
    let salt = format!("{:?}-{}", std::time::SystemTime::now(), std::process::id());
    aigate_sbom::content_serial(salt.as_bytes())
}

/// How the command's report is written: nothing but errors when it writes an SBOM (the document
/// is its output), the chosen format with --check and --completeness.
pub fn output(args: &SbomArgs) -> Result<OutputArgs> {
    let report = args.check.is_some() || args.completeness;
    let format = match (report, args.format) {
        (false, None | Some(SbomFormat::Cyclonedx | SbomFormat::Spdx)) => {
            return Ok(OutputArgs {
                format: Format::Human,
                output: None,
                quiet: true,
            });
        }
        (false, Some(other)) => {
            return Err(Failure::new(format!(
                "--format {} is a format of the --check and --completeness reports",
                match other {
                    SbomFormat::Human => "human",
                    SbomFormat::Json => "json",
                    _ => "sarif",
                }
            ))
            .hint("add --check FILE or --completeness, or use --format cyclonedx or spdx to write an SBOM")
            .into());
        }
        (true, None | Some(SbomFormat::Human)) => Format::Human,
        (true, Some(SbomFormat::Json)) => Format::Json,
        (true, Some(SbomFormat::Sarif)) => Format::Sarif,
        (true, Some(SbomFormat::Cyclonedx | SbomFormat::Spdx)) => {
            return Err(
                Failure::new("--check and --completeness write a report, not an SBOM")
                    .hint("use --format human, json or sarif with them")
                    .into(),
            );
        }
    };
    Ok(OutputArgs {
        format,
        output: args.output.clone(),
        quiet: args.quiet,
    })
}

/// Largest SBOM `--check` reads.
const MAX_SBOM: u64 = 512 << 20;

/// `aigate sbom --check FILE`.
fn check(file: &std::path::Path, settings: &Settings) -> Result<Finished> {
    let artifacts = artifacts(settings)?;
    let shown = dependencies::shown(file).display().to_string();
    let mut report = Report::builder(tool(), "sbom-check");
    report.files(1);
    let bytes = {
        use std::io::Read;
        let handle = std::fs::File::open(file)
            .map_err(|e| Failure::new(format!("cannot read {shown}: {e}")))?;
        let mut bytes = Vec::new();
        handle
            .take(MAX_SBOM + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Failure::new(format!("cannot read {shown}: {e}")))?;
        bytes
    };
    let read = if bytes.len() as u64 > MAX_SBOM {
        Err(format!("larger than {} MiB", MAX_SBOM >> 20))
    } else {
        aigate_sbom::check::read(&bytes)
    };
    match read {
        Ok(recorded) => {
            report.findings(aigate_sbom::check::check(&recorded, &artifacts, &shown));
        }
        Err(why) => {
            report.finding(aigate_report::Finding::new(
                &aigate_sbom::check::SBOM_UNREADABLE,
                format!("{shown} cannot be checked: {why}"),
                aigate_report::Location::file(&shown),
            ));
        }
    }
    let rules: Vec<_> = aigate_sbom::RULES.iter().collect();
    settings.rule_levels().apply(&mut report, &rules);
    Ok(Finished {
        report: report.build(),
        threshold: Severity::Medium,
    })
}

/// Runs `aigate sbom`.
pub fn run(args: &SbomArgs, settings: &Settings) -> Result<Finished> {
    output(args)?;
    if let Some(file) = &args.check {
        return check(file, settings);
    }
    let inputs = dependencies::read(&args.inputs, settings, false);
    let mut libraries: Vec<Library> = inputs
        .read
        .iter()
        .flat_map(|i| i.set.packages.iter())
        .filter(|p| {
            !p.constraint_only && !matches!(p.source, aigate_python::Source::Virtual { .. })
        })
        .map(library)
        .collect();
    libraries.sort_by(|a, b| a.purl.cmp(&b.purl));
    let artifacts = artifacts(settings)?;
    let project = Project {
        name: settings
            .root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "project".into()),
        version: None,
    };
    let vulnerabilities = if args.with_vulnerabilities {
        let audit = crate::cli::AuditArgs {
            inputs: args.inputs.clone(),
            db: args.db.clone(),
            fail_on: Severity::Low,
            output: OutputArgs {
                format: Format::Json,
                output: None,
                quiet: true,
            },
        };
        let audited = super::audit::run(&audit, settings)?;
        crate::render::vex::vulnerabilities(&audited.report.findings).1
    } else {
        Vec::new()
    };
    let options = Options {
        spec: match args.spec {
            SbomSpec::V1_6 => Spec::V1_6,
            SbomSpec::V1_7 => Spec::V1_7,
        },
        timestamp: now_rfc3339(),
        serial: args.random_serial.then(random_serial),
        tool: (tool().name, tool().version),
        vulnerabilities,
        vulnerabilities_checked: args.with_vulnerabilities,
        lock_signature: if artifacts.is_empty() {
            None
        } else {
            lock_signature(settings)?
        },
    };
    let mut report = Report::builder(
        tool(),
        if args.completeness {
            "sbom-completeness"
        } else {
            "sbom"
        },
    );
    report.files(inputs.read.len() as u64);
    let failed = !inputs.errors.is_empty();
    for error in inputs.errors {
        report.error(error);
    }
    if args.completeness {
        let required: Vec<aigate_sbom::completeness::Framework> = args
            .require
            .iter()
            .map(|f| match f {
                CompletenessFramework::G7 => aigate_sbom::completeness::Framework::G7,
                CompletenessFramework::EuAiAct => aigate_sbom::completeness::Framework::EuAiAct,
            })
            .collect();
        let assessed = aigate_sbom::completeness::assess(&libraries, &artifacts, &options);
        report.findings(aigate_sbom::completeness::findings(
            &assessed,
            &required,
            "aigate.toml",
        ));
        let rules: Vec<_> = aigate_sbom::completeness::RULES.iter().collect();
        settings.rule_levels().apply(&mut report, &rules);
        return Ok(Finished {
            report: report.build(),
            threshold: Severity::Medium,
        });
    }
    let document = match args.format {
        Some(SbomFormat::Spdx) => {
            aigate_sbom::spdx::spdx(&project, &libraries, &artifacts, &options)
        }
        _ => aigate_sbom::cyclonedx(&project, &libraries, &artifacts, &options),
    };
    let mut bytes = serde_json::to_vec_pretty(&document)?;
    bytes.push(b'\n');
    if !failed {
        Destination::from_flag(args.output.as_ref()).write(&bytes)?;
    }
    Ok(Finished {
        report: report.build(),
        threshold: Severity::Critical,
    })
}
