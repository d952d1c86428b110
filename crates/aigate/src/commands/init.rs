//! `aigate init`: look at a project (model and dataset files by their content, Hugging Face model
//! folders, Python dependency inputs, Hub models its configuration files name) and write a
//! commented starter `aigate.toml` declaring what was found, with every policy section present
//! and explained. Nothing found is loaded: files are recognised by the scanner's own sniffing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;

use aigate_report::Report;
use aigate_scan::{NoProgress, ScanLimits, Scanner, Walked};

use crate::Finished;
use crate::cli::InitArgs;
use crate::config::FILE_NAME;
use crate::failure::Failure;
use crate::output::{Destination, note};
use crate::project::tool;

/// Folders never looked into: version control, environments, caches, build output, aigate's own.
const IGNORED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    ".aigate",
    ".venv",
    "venv",
    "env",
    ".tox",
    ".nox",
    "node_modules",
    "target",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "site-packages",
    "build",
    "dist",
    ".ipynb_checkpoints",
];

/// Bounds of the walk: a project is far smaller; a home folder named by mistake is not walked
/// to the end.
const MAX_FILES: usize = 50_000;
const MAX_DEPTH: usize = 16;
/// Configuration files larger than this are not read for Hub references.
const MAX_CONFIG_TEXT: u64 = 256 << 10;

/// Formats whose files are models (code may run when they load).
const MODEL_FORMATS: &[&str] = &[
    "pickle",
    "pytorch-zip",
    "pytorch-legacy",
    "joblib-zfile",
    "safetensors",
    "gguf",
    "onnx",
    "hdf5",
    "tflite",
    "tensorflow-savedmodel",
    "torchscript-code",
    "keras-config",
];

/// Names of data files by extension (tabular and record formats the scanner does not read).
const DATA_EXTENSIONS: &[&str] = &[
    "csv", "tsv", "parquet", "jsonl", "arrow", "feather", "tfrecord", "avro", "orc",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Model,
    Dataset,
}

#[derive(Debug)]
struct Found {
    kind: Kind,
    /// Relative to the project, `/`-separated.
    path: String,
    /// What it was recognised as.
    what: String,
}

/// A Hub repository a configuration file names.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct HubReference {
    repo: String,
    file: String,
    line: usize,
}

fn relative(root: &Path, path: &Path) -> String {
    let rest = path.strip_prefix(root).unwrap_or(path);
    rest.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Every regular file under `root`, outside ignored and hidden folders, in name order.
fn walk(root: &Path) -> (Vec<PathBuf>, bool) {
    let mut files = Vec::new();
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    let mut truncated = false;
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries.into_iter().rev() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                let hidden = name.starts_with('.') && name != ".";
                if !hidden && !IGNORED_DIRS.contains(&name.as_str()) && depth < MAX_DEPTH {
                    stack.push((entry.path(), depth + 1));
                }
            } else if kind.is_file() {
                if files.len() >= MAX_FILES {
                    truncated = true;
                    break;
                }
                files.push(entry.path());
            }
        }
    }
    files.sort();
    (files, truncated)
}

fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Whether the first bytes are those of a Parquet or Arrow file.
fn data_magic(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 6];
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let n = file.read(&mut head).unwrap_or(0);
    head[..n].starts_with(b"PAR1") || head[..n].starts_with(b"ARROW1")
}

/// The models and datasets among `files`, by content; Hugging Face model folders (a
/// `config.json` or `model_index.json` beside weights) as one model each.
fn classify(root: &Path, files: &[PathBuf]) -> Result<Vec<Found>> {
    let scanner = Scanner::new(&[], &[], ScanLimits::default())?;
    let skip = |p: &Path| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        matches!(name, "aigate.toml" | "aigate.lock" | "aigate.lock.sig")
    };
    let candidates: Vec<Walked> = files
        .iter()
        .filter(|p| !skip(p))
        .filter_map(|p| {
            let size = std::fs::metadata(p).ok()?.len();
            Some(Walked::file(p.clone(), relative(root, p), size))
        })
        .collect();
    let scans = scanner.scan_files(&candidates, &NoProgress);
    let mut by_file: Vec<(PathBuf, Kind, String)> = Vec::new();
    for (file, scan) in candidates.iter().zip(scans) {
        let formats: Vec<&str> = scan.scanned.iter().map(|s| s.format.as_str()).collect();
        let top = scan
            .scanned
            .iter()
            .find(|s| s.location.steps.is_empty())
            .map(|s| s.format.as_str());
        let model = formats.iter().find(|f| MODEL_FORMATS.contains(f));
        let kind = match (top, model) {
            (Some("numpy"), None) => Some((Kind::Dataset, "numpy".to_owned())),
            (_, Some(format)) => Some((Kind::Model, (*format).to_owned())),
            _ if DATA_EXTENSIONS.contains(&extension(&file.path).as_str())
                || data_magic(&file.path) =>
            {
                Some((Kind::Dataset, extension(&file.path)))
            }
            _ => None,
        };
        if let Some((kind, what)) = kind {
            by_file.push((file.path.clone(), kind, what));
        }
    }
    // A folder with a Hugging Face config beside model files is one model.
    let mut model_dirs: BTreeSet<PathBuf> = BTreeSet::new();
    for (path, kind, _) in &by_file {
        if *kind != Kind::Model {
            continue;
        }
        if let Some(dir) = path.parent()
            && dir != root
            && (dir.join("config.json").is_file() || dir.join("model_index.json").is_file())
        {
            model_dirs.insert(dir.to_path_buf());
        }
    }
    // The outermost such folder counts (a diffusers pipeline holds model folders itself).
    let outermost: Vec<PathBuf> = model_dirs
        .iter()
        .filter(|d| !model_dirs.iter().any(|o| o != *d && d.starts_with(o)))
        .cloned()
        .collect();
    let mut found = Vec::new();
    for dir in &outermost {
        let formats: BTreeSet<&str> = by_file
            .iter()
            .filter(|(p, k, _)| *k == Kind::Model && p.starts_with(dir))
            .map(|(_, _, w)| w.as_str())
            .collect();
        found.push(Found {
            kind: Kind::Model,
            path: relative(root, dir),
            what: format!(
                "a model folder ({})",
                formats.into_iter().collect::<Vec<_>>().join(", ")
            ),
        });
    }
    for (path, kind, what) in by_file {
        if outermost.iter().any(|d| path.starts_with(d)) {
            continue;
        }
        found.push(Found {
            kind,
            path: relative(root, &path),
            what,
        });
    }
    found.sort_by(|a, b| (a.kind, &a.path).cmp(&(b.kind, &b.path)));
    Ok(found)
}

/// Hub models that the project's configuration files (YAML, JSON, TOML, INI) name, outside model
/// folders (whose own config names the model they were trained from).
fn hub_references(root: &Path, files: &[PathBuf], found: &[Found]) -> Vec<HubReference> {
    let mut refs = BTreeSet::new();
    let inside_model = |p: &Path| {
        found
            .iter()
            .any(|f| f.kind == Kind::Model && p.starts_with(root.join(&f.path)))
    };
    for path in files {
        let ext = extension(path);
        if !matches!(
            ext.as_str(),
            "yaml" | "yml" | "json" | "toml" | "cfg" | "ini" | "env"
        ) || inside_model(path)
            || path.file_name().is_some_and(|n| n == FILE_NAME)
        {
            continue;
        }
        let Ok(text) = aigate_integrity::files::read_regular(path, MAX_CONFIG_TEXT) else {
            continue;
        };
        for found in aigate_sbom::hub_refs::find(&text) {
            refs.insert(HubReference {
                repo: found.repo,
                file: relative(root, path),
                line: found.line,
            });
        }
    }
    refs.into_iter().collect()
}

/// A name for `path` as aigate.toml accepts it: letters, digits, `.`, `_`, `-`; unique.
fn name_for(path: &str, taken: &mut BTreeSet<String>) -> String {
    let last = path.rsplit('/').next().unwrap_or(path);
    let stem = match last.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => last,
    };
    let mut base: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    if base.is_empty() {
        base = "artifact".into();
    }
    let mut name = base.clone();
    let mut n = 2;
    while !taken.insert(name.clone()) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}

/// A TOML basic string.
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The starter configuration for what was found.
fn starter(found: &[Found], dependencies: &[String], hub: &[HubReference]) -> String {
    let mut out = String::new();
    let models = found.iter().filter(|f| f.kind == Kind::Model).count();
    let datasets = found.len() - models;
    let _ = writeln!(
        out,
        "# aigate.toml, written by `aigate init`: {models} model(s), {datasets} dataset(s) and {} \
         Python dependency input(s) found.",
        dependencies.len()
    );
    out.push_str(
        "# Review every entry (fill in the owners), then:\n\
         #   aigate lock                    hash and scan every model and dataset into aigate.lock\n\
         #   aigate approve NAME --by YOU   record who approved each one's exact bytes\n\
         #   aigate check                   the gate: run it in CI and pre-commit\n\
         # Every key is explained in docs/configuration.md.\n",
    );
    let mut taken = BTreeSet::new();
    for f in found {
        let table = match f.kind {
            Kind::Model => "[[model]]",
            Kind::Dataset => "[[dataset]]",
        };
        let _ = writeln!(out, "\n# recognised by its content: {}", f.what);
        let _ = writeln!(out, "{table}");
        let _ = writeln!(out, "name = {}", quoted(&name_for(&f.path, &mut taken)));
        let _ = writeln!(out, "path = {}", quoted(&f.path));
        out.push_str("# owner = \"team\"                 # who answers for it\n");
        if f.kind == Kind::Model {
            out.push_str("# intended-use = \"…\"             # what it is for\n");
        }
        out.push_str("# source = \"hf://ORG/REPO@COMMIT\" # where it came from\n");
    }
    if !hub.is_empty() {
        out.push_str(
            "\n# Hub models the project's configuration names, downloaded at run time and so not\n\
             # pinned yet. `aigate fetch hf://ORG/REPO@COMMIT` downloads one from a trusted source,\n\
             # scans it and declares it here; add its organisation to [sources] trusted first.\n",
        );
        let mut seen = BTreeMap::new();
        for r in hub {
            seen.entry(r.repo.as_str())
                .or_insert((r.file.as_str(), r.line));
        }
        for (repo, (file, line)) in seen {
            let _ = writeln!(out, "#   hf://{repo}   (named at {file}:{line})");
        }
    }
    out.push_str(
        "\n# Where `aigate fetch` may download from (https prefixes; hf:// repositories are under\n\
         # https://huggingface.co/). Trusting a source relaxes a check: run `aigate trust` after.\n\
         [sources]\n",
    );
    let orgs: BTreeSet<&str> = hub
        .iter()
        .filter_map(|r| r.repo.split('/').next())
        .collect();
    let trusted: Vec<String> = orgs
        .iter()
        .map(|o| quoted(&format!("https://huggingface.co/{o}/")))
        .collect();
    if trusted.is_empty() {
        out.push_str("# trusted = [\"https://huggingface.co/YOUR-ORG/\"]\n");
    } else {
        let _ = writeln!(out, "# trusted = [{}]", trusted.join(", "));
    }
    out.push_str("require-pinned-revision = true    # hf:// sources must name a commit\n");
    out.push_str(
        "\n# The model scanner: pickle globals to allow (your own classes) or deny, and the threshold.\n\
         [scan]\n\
         # allow = [\"mypkg.models.*\"]\n\
         # deny = []\n\
         # fail-on = \"medium\"              # info, low, medium, high or critical\n\
         # paths = [\"checkpoints/\"]        # more files and folders `aigate check` scans\n",
    );
    let deps_line = if dependencies.is_empty() {
        "# No Python dependency input was found; uncomment [policy] and [audit] once there is one.\n"
            .to_owned()
    } else {
        format!(
            "# Found: {}. `aigate check` runs `policy` and `audit` on them.\n",
            dependencies.join(", ")
        )
    };
    let comment = if dependencies.is_empty() { "# " } else { "" };
    out.push_str(
        "\n# Where Python packages may come from and which are allowed (`aigate policy`).\n",
    );
    out.push_str(&deps_line);
    let _ = writeln!(out, "{comment}[policy]");
    out.push_str(
        "# require-pins = true             # requirements pin every package with ==\n\
         # require-hashes = false          # every pin carries --hash (pip --require-hashes)\n\
         # indexes = [\"https://pypi.org/simple/\"]   # trusted indexes and find-links\n\
         # internal = [\"acme-*\"]           # your private names, which must come from...\n\
         # internal-index = \"https://pypi.acme.example/simple/\"   # ...this index only\n\
         # typosquats = true               # names close to popular PyPI names\n\
         # [[policy.deny]]\n\
         # name = \"pyyaml\"\n\
         # versions = [\"<5.4\"]\n\
         # reason = \"CVE-2020-14343: full_load runs code\"\n",
    );
    out.push_str(
        "\n# Known vulnerabilities and malware (`aigate audit`; `aigate db update` fetches the database).\n",
    );
    let _ = writeln!(out, "{comment}[audit]");
    out.push_str(
        "# max-db-age = \"7d\"               # warn when the database is older\n\
         # [[audit.ignore]]\n\
         # id = \"GHSA-…\"\n\
         # reason = \"why it does not apply\"\n\
         # until = \"2027-01-31\"\n",
    );
    out.push_str(
        "\n# Whose signature aigate.lock must carry (`aigate keygen`, `aigate sign --lock`).\n\
         [trust]\n\
         # keys = [\"keys/release.pub.pem\"]\n\
         \n\
         # Where every locked version is kept for `aigate rollback`, and the custody log.\n\
         [store]\n\
         # url = \"file://.aigate/store\"    # or s3://BUCKET/PREFIX\n\
         [custody]\n\
         # log = \".aigate/custody.jsonl\"\n\
         \n\
         # What `aigate check` requires of the AI bill of materials.\n\
         [sbom]\n\
         # require-completeness = [\"g7\", \"eu-ai-act\"]\n",
    );
    out
}

/// Runs `aigate init`.
pub fn run(args: &InitArgs) -> Result<Finished> {
    let root = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    if !root.is_dir() {
        return Err(Failure::new(format!("{} is not a folder", root.display()))
            .hint("name the project's folder: aigate init PATH")
            .into());
    }
    let target = root.join(FILE_NAME);
    if !args.dry_run && std::fs::symlink_metadata(&target).is_ok() {
        return Err(Failure::new(format!(
            "{} exists; aigate init does not overwrite it",
            crate::dependencies::shown(&target).display()
        ))
        .hint("print what it would write with `aigate init --dry-run`, or edit the file")
        .into());
    }
    let (files, truncated) = walk(&root);
    if truncated {
        note(&format!(
            "stopped after {MAX_FILES} files; declare what lies beyond by hand"
        ));
    }
    let found = classify(&root, &files)?;
    let dependencies: Vec<String> = aigate_python::discover(&root, None)
        .map(|found| {
            found
                .iter()
                .map(|d| relative(&root, &d.path))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let hub = hub_references(&root, &files, &found);
    let text = starter(&found, &dependencies, &hub);
    if crate::config::parse(&text).is_err() {
        return Err(
            Failure::new("aigate init wrote a configuration it cannot read back")
                .hint("please report this, with the project's file names")
                .into(),
        );
    }
    if args.dry_run {
        Destination::Stdout.write(text.as_bytes())?;
    } else {
        aigate_integrity::files::write_atomic(&target, text.as_bytes())?;
        note(&format!(
            "wrote {}: {} artifact(s), {} dependency input(s); review it, then run `aigate lock`",
            crate::dependencies::shown(&target).display(),
            found.len(),
            dependencies.len()
        ));
    }
    Ok(Finished {
        report: Report::builder(tool(), "init").build(),
        threshold: aigate_report::Severity::Critical,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_and_unique() {
        let mut taken = BTreeSet::new();
        assert_eq!(name_for("models/net v2.pt", &mut taken), "net-v2");
        assert_eq!(name_for("other/net v2.pt", &mut taken), "net-v2-2");
        assert_eq!(name_for("data/.hidden", &mut taken), ".hidden");
    }
}
