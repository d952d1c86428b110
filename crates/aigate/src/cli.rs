//! The command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use aigate_report::Severity;

/// The supply-chain gate for AI/ML projects.
#[derive(Debug, Parser)]
#[command(name = "aigate", version, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    /// Read this configuration instead of the nearest aigate.toml.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// When to colour the report for people: auto (on a terminal, unless NO_COLOR is set;
    /// CLICOLOR_FORCE forces it), always or never.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,

    /// Say more on standard error: how long the run and each check took.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

/// When the human report is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces colour).
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every check aigate.toml enables, in one report: the gate for CI and pre-commit.
    ///
    /// `scan` of every declared model and dataset (and [scan] paths), `verify` against
    /// aigate.lock (with its signature when [trust] names keys), `policy` and `audit` of the
    /// Python dependencies (when the project has any, or [policy] or [audit] is set), `custody`
    /// (`log verify`, once there is a custody log) and `sbom` ([sbom] require-completeness).
    /// Independent checks run in parallel. Each is judged at its own threshold (scan: medium or
    /// [scan] fail-on; the others: low), or all at --fail-on. A check that cannot run (no lock
    /// yet, no advisory database) says what to run. Exit status: 0 when every check passed, 1
    /// when one found something at or above its threshold, 2 when one could not run (unless
    /// --allow-missing names it) or an input could not be read.
    Check(CheckArgs),
    /// Write a commented starter aigate.toml for a project: what it has, declared.
    ///
    /// Model and dataset files are recognised by their content (Hugging Face model folders as
    /// one model each), Python dependency inputs (lock files, requirements, pyproject.toml, a
    /// .venv) are listed for `policy` and `audit`, and Hub models named in the project's
    /// configuration files are suggested for `aigate fetch`. Every policy section is present and
    /// explained. Nothing is loaded. Refuses to overwrite an existing aigate.toml; --dry-run
    /// prints the file instead. Exit status: 0 when written, 2 on errors.
    Init(InitArgs),
    /// Print a shell completion script for bash, zsh, fish, powershell or elvish.
    ///
    /// For example: `aigate completions bash > ~/.local/share/bash-completion/completions/aigate`,
    /// `aigate completions zsh > "${fpath[1]}/_aigate"`,
    /// `aigate completions fish > ~/.config/fish/completions/aigate.fish`.
    Completions(CompletionsArgs),
    /// Print the man page generated from this command line (or write one page per command).
    ///
    /// `aigate man | man -l -` reads it; `aigate man --out DIR` writes aigate.1 and
    /// aigate-COMMAND.1 for every command into DIR.
    Man(ManArgs),
    /// Find code that runs on load in model files (pickle, PyTorch, NumPy, joblib, archives).
    ///
    /// Formats are recognised from content, never from names; directories are walked
    /// recursively. Nothing is ever loaded or run.
    ///
    /// Exit status: 0 when no finding reaches --fail-on, 1 when one does, 2 when a file or
    /// the configuration could not be read and no finding reached --fail-on.
    Scan(ScanArgs),
    /// Hash and scan every model and dataset in aigate.toml; write aigate.lock.
    ///
    /// Artifacts whose files, path and source are unchanged keep their approval; new and
    /// changed ones are pending until approved. The scan verdict of each is recorded; `verify`
    /// and `approve` act on it. Exit status: 0 when the lock was written, 2 on errors.
    Lock(LockArgs),
    /// Record who approved an artifact's pinned bytes, and when.
    ///
    /// Refused (exit 1) when the files on disk differ from aigate.lock, or when the recorded
    /// scan found unsafe content, unless --force gives a reason, which is recorded.
    Approve(ApproveArgs),
    /// Re-hash what aigate.lock pins and report every difference.
    ///
    /// Modified, added, removed and retyped files, unapproved artifacts, and pins outside the
    /// project are findings. Exit status: 0 when none reaches --fail-on, 1 when one does, 2 on
    /// errors.
    Verify(VerifyArgs),
    /// Download a model or dataset from a trusted source, check it, scan it, pin it.
    ///
    /// SOURCE is an https URL under a [sources] trusted prefix, or
    /// hf://[datasets/]ORG/REPO@REVISION[/FILE]. Every redirect must stay trusted. The download
    /// is streamed to a staging folder while it is hashed; a wrong --sha256, an untrusted source
    /// or an unsafe scan leaves nothing behind (exit 1). On success the files move into place,
    /// and the artifact is added to aigate.toml and pinned in aigate.lock, pending approval.
    Fetch(FetchArgs),
    /// Write a new ECDSA P-256 key pair for signing (NAME.key.pem, mode 0600, and NAME.pub.pem).
    ///
    /// Refuses to overwrite either file.
    Keygen(KeygenArgs),
    /// Sign a model folder, a file, or the lock, in the OpenSSF model-signing format.
    ///
    /// The signature is a Sigstore bundle (a DSSE envelope over an in-toto statement listing
    /// every file's digest) that `model_signing verify` also accepts. With --lock, signs every
    /// file aigate.lock pins, so that `aigate verify` can require the signature ([trust] keys).
    Sign(SignArgs),
    /// Verify a model-signing signature over a model folder or file.
    ///
    /// Checks the signature with the publisher's key (or its certificate against trusted CAs),
    /// then re-hashes the model: a missing, extra or changed file is a finding. Exit status: 0
    /// when the model is exactly what was signed, 1 when it is not, 2 on errors.
    VerifySig(VerifySigArgs),
    /// List the resolved Python dependencies, or compare two dependency files (`deps diff`).
    ///
    /// Reads the lock files, requirements files, pyproject.toml and environment found at the
    /// project's root (uv.lock, poetry.lock, Pipfile.lock, pylock*.toml, requirements*.txt,
    /// pyproject.toml, $VIRTUAL_ENV or .venv), or the ones named with -r, --lock and --env. For
    /// every package: its version, where it resolves from, its hashes, its licence where known,
    /// the file and line that declared it, and whether it is direct. Exit status: 0 when every
    /// input was read, 2 when one could not be (the others are still listed).
    Deps(DepsArgs),
    /// Check the Python dependencies against [policy] in aigate.toml.
    ///
    /// Pins and hashes, the allowlist and denylist (and an allowed_packages.json), trusted
    /// indexes, extra indexes and dependency confusion, typosquats of popular PyPI names,
    /// licences, and installed files that no longer match their RECORD. Inputs are found as for
    /// `deps`. Works offline; with no [policy], the defaults apply (pins required, PyPI the only
    /// index, typosquats checked). Exit status: 0 when no finding reaches --fail-on, 1 when one
    /// does, 2 when an input or the configuration could not be read.
    Policy(PolicyArgs),
    /// Check the Python dependencies against known vulnerabilities and known malware (OSV).
    ///
    /// Every dependency with a fixed version (inputs found as for `deps`) is matched against the
    /// local advisory database (`aigate db update` makes it) by the OSV rules, with PEP 440
    /// ordering. Records linked by aliases (PYSEC, GHSA, CVE) are one finding listing every id,
    /// with the CVSS severity and the smallest fixed version. Known malware (OSV MAL- records) is
    /// critical. Dependencies that cannot be checked (no fixed version, a URL or path) are
    /// reported. [audit] ignore entries in aigate.toml need a reason and may expire. Works
    /// offline. Exit status: 0 when no finding reaches --fail-on, 1 when one does, 2 when there
    /// is no database, or an input or the configuration could not be read.
    Audit(AuditArgs),
    /// Manage the local advisory database (`aigate db update`).
    Db(DbArgs),
    /// Write the AI bill of materials: a CycloneDX ML-BOM of the project's libraries, models
    /// and datasets.
    ///
    /// Libraries come from the dependency inputs (as for `aigate deps`): package URLs, versions,
    /// artifact hashes, licences (SPDX expressions where the metadata gives one), the index each
    /// resolves from and the dependency graph where the input has one. Models
    /// (machine-learning-model) and datasets (data) come from aigate.toml and aigate.lock: the
    /// SHA-256 of every file, the source (pkg:huggingface purls for hf:// sources), the owner,
    /// the intended use, and the approval and scan verdict as properties. The output is
    /// reproducible: sorted, with a serial number derived from the content (unless
    /// --random-serial) and the timestamp from SOURCE_DATE_EPOCH when set. Exit status: 0 when
    /// written, 2 when an input could not be read or a declared artifact is not locked.
    Sbom(SbomArgs),
    /// List every version of every model and dataset: name, version, origin, approval, digest,
    /// owner, intended use, status (approved, pending, revoked).
    ///
    /// The current version of each artifact comes from aigate.lock, the earlier ones from its
    /// history; `restorable` says whether the store holds what `rollback` needs. Human, JSON
    /// and CSV (--format csv). Exit status: 0, or 2 when the lock cannot be read.
    Inventory(InventoryArgs),
    /// Show the custody log, check its chain (`log verify`), or set a torn last event aside
    /// (`log repair`).
    ///
    /// The log (.aigate/custody.jsonl, [custody] log) records every lock, approval, fetch,
    /// rollback, revocation and deployment, with who, when and which version, each event chained
    /// to the one before by its SHA-256.
    Log(LogArgs),
    /// Restore the last approved version of an artifact (or --to VERSION) from the store.
    ///
    /// Every file is restored into a staging folder and checked against its digest before
    /// anything moves; the artifact is then swapped into place in one step, aigate.lock is
    /// updated and the custody log records it. Revoked versions are never restored. Exit
    /// status: 0 when restored, 2 when it could not be (nothing is changed then).
    Rollback(RollbackArgs),
    /// Mark a version of an artifact bad: `verify` fails wherever it is present, `rollback`
    /// skips it.
    ///
    /// NAME@VERSION names the version (`aigate inventory` lists them); --reason is required
    /// and recorded in aigate.lock and the custody log.
    Revoke(RevokeArgs),
    /// Record that the current version of an artifact was deployed to an environment.
    Deploy(DeployArgs),
    /// Which files changed between two versions of an artifact, and for safetensors files,
    /// which tensors.
    ///
    /// V1 and V2 default to the last approved version before the current one and the current
    /// one. Versions are read from the store's manifests; tensors from the safetensors headers
    /// of the stored files (names, dtypes, shapes; per-tensor SHA-256 when both files are in
    /// the store).
    Diff(ArtifactDiffArgs),
    /// Manage the content-addressed store: `store push` (every locked file), `store gc`.
    Store(StoreArgs),
    /// Trust an aigate.toml to relax checks ([scan] allow, a higher fail-on, [rules] allow/warn).
    ///
    /// An aigate.toml found beside the files (one that came with a download, say) relaxes
    /// nothing until it is trusted: its absolute path and SHA-256 are recorded in the user's
    /// configuration folder (AIGATE_CONFIG_DIR, else ~/.config/aigate), as `direnv allow` does.
    /// Editing the file withdraws the trust. A configuration named with --config is trusted.
    Trust(TrustArgs),
}

/// `aigate trust`.
#[derive(Debug, clap::Args)]
pub struct TrustArgs {
    /// The configuration [default: the nearest aigate.toml].
    #[arg(value_name = "CONFIG")]
    pub path: Option<PathBuf>,
    /// Withdraw the trust instead.
    #[arg(long, conflicts_with = "list")]
    pub revoke: bool,
    /// List every trusted configuration, and whether it is still as it was trusted.
    #[arg(long)]
    pub list: bool,
}

/// Which dependency inputs to read; none named: the ones found at the project's root.
#[derive(Debug, Clone, clap::Args)]
pub struct InputArgs {
    /// A requirements file (its -r and -c includes are followed).
    #[arg(short = 'r', long = "requirement", value_name = "FILE")]
    pub requirements: Vec<PathBuf>,
    /// A lock file: uv.lock, poetry.lock, Pipfile.lock, pylock.toml, or pyproject.toml.
    #[arg(long = "lock", value_name = "FILE")]
    pub locks: Vec<PathBuf>,
    /// An installed environment: a virtual environment or a site-packages folder.
    #[arg(long = "env", value_name = "PATH")]
    pub envs: Vec<PathBuf>,
    /// A pip configuration file (pip.conf, pip.ini) whose index settings apply [default, when no
    /// input is named: pip.conf or pip.ini at the project's root, pip's own configuration files
    /// (global, user, the virtual environment's; PIP_CONFIG_FILE=/dev/null skips them, as for pip)
    /// and the PIP_* and UV_* index variables].
    #[arg(long = "pip-conf", value_name = "FILE")]
    pub pip_confs: Vec<PathBuf>,
}

/// `aigate deps`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DepsArgs {
    #[command(subcommand)]
    pub command: Option<DepsCommand>,
    #[command(flatten)]
    pub inputs: InputArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `aigate deps` subcommands.
#[derive(Debug, Subcommand)]
pub enum DepsCommand {
    /// Compare two lock or requirements files: what a dependency update brings in.
    ///
    /// Packages added, removed, upgraded and downgraded, a changed index or source, and the
    /// same version with different hashes (a republished or substituted artifact: critical).
    /// The kind of each file is told by its name (a name ending in uv.lock, poetry.lock,
    /// Pipfile.lock, pylock.toml, pyproject.toml or .txt; a folder is an environment), so
    /// `git show main:uv.lock > /tmp/main.uv.lock` can be compared. Exit status: 0 when no
    /// finding reaches --fail-on, 1 when one does, 2 when a file could not be read.
    Diff(DiffArgs),
}

/// `aigate deps diff`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The file before the change.
    #[arg(value_name = "OLD")]
    pub old: PathBuf,
    /// The file after the change.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    /// Lowest severity that fails the run.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity, default_value = "medium")]
    pub fail_on: Severity,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `aigate policy`.
#[derive(Debug, clap::Args)]
pub struct PolicyArgs {
    #[command(flatten)]
    pub inputs: InputArgs,
    /// Lowest severity that fails the run.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity, default_value = "low")]
    pub fail_on: Severity,
    /// Do not re-hash installed files against their RECORD (faster on large environments).
    #[arg(long)]
    pub no_record_check: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `aigate audit`.
#[derive(Debug, Clone, clap::Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub inputs: InputArgs,
    /// The advisory database: a folder `aigate db update` made, an OSV zip, or a folder of OSV
    /// records (JSON, or the PyPA advisory-database YAML) [default: the user's cache,
    /// AIGATE_CACHE_DIR, else ~/.cache/aigate, under advisories/].
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Lowest severity that fails the run.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity, default_value = "low")]
    pub fail_on: Severity,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `aigate sbom`.
#[derive(Debug, clap::Args)]
pub struct SbomArgs {
    #[command(flatten)]
    pub inputs: InputArgs,
    /// The CycloneDX specification version.
    #[arg(long, value_enum, default_value_t = SbomSpec::V1_7)]
    pub spec: SbomSpec,
    /// A random serial number instead of one derived from the content.
    #[arg(long)]
    pub random_serial: bool,
    /// Embed the libraries' known vulnerabilities (as `aigate audit` finds them) as CycloneDX
    /// vulnerabilities with ratings, the affected version and the fixed one.
    #[arg(long)]
    pub with_vulnerabilities: bool,
    /// With --with-vulnerabilities: the advisory database (as for `aigate audit --db`).
    #[arg(long, value_name = "PATH", requires = "with_vulnerabilities")]
    pub db: Option<PathBuf>,
    /// Instead of writing the SBOM, report which of the G7 "SBOM for AI" minimum elements and
    /// of the EU AI Act's model documentation it carries for each model and dataset, and what
    /// to add to aigate.toml or the model card to fill each gap.
    #[arg(long, conflicts_with = "check")]
    pub completeness: bool,
    /// With --completeness: fail (exit 1) when an element of FRAMEWORK is missing.
    #[arg(long, value_enum, value_name = "FRAMEWORK", requires = "completeness")]
    pub require: Vec<CompletenessFramework>,
    /// Instead of writing an SBOM, check the one in FILE (CycloneDX JSON, SPDX 2.x JSON or
    /// SPDX 3 JSON-LD, written by any tool): report every locked model and dataset it misses or
    /// records with other SHA-256 digests. Exit status 1 when it does.
    #[arg(long, value_name = "FILE")]
    pub check: Option<PathBuf>,
    /// Output format [default: cyclonedx; with --check or --completeness: human].
    #[arg(long, value_enum)]
    pub format: Option<SbomFormat>,
    /// Write the document (or the --check report) to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// With --check: print only findings.
    #[arg(long, short)]
    pub quiet: bool,
}

/// What `aigate sbom` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SbomFormat {
    /// The SBOM as CycloneDX JSON.
    Cyclonedx,
    /// The SBOM as SPDX 3.0.1 JSON-LD (AI and Dataset profiles).
    Spdx,
    /// With --check or --completeness: the report for people.
    Human,
    /// With --check or --completeness: the report as JSON (its schema: docs/report.schema.json).
    Json,
    /// With --check or --completeness: SARIF 2.1.0.
    Sarif,
}

/// A framework of minimum SBOM elements `aigate sbom --completeness --require` can demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompletenessFramework {
    /// The G7 Software Bill of Materials for AI: Minimum Elements (May 2026).
    G7,
    /// The EU AI Act's model documentation: authenticity by hash, model dependencies.
    EuAiAct,
}

/// A CycloneDX version `aigate sbom` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SbomSpec {
    /// CycloneDX 1.6.
    #[value(name = "1.6")]
    V1_6,
    /// CycloneDX 1.7.
    #[value(name = "1.7")]
    V1_7,
}

/// `aigate inventory`.
#[derive(Debug, clap::Args)]
pub struct InventoryArgs {
    /// Only this artifact.
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = InventoryFormat::Human)]
    pub format: InventoryFormat,
    /// Write it to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// The formats of `aigate inventory`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InventoryFormat {
    /// A table for people.
    Human,
    /// The report as JSON.
    Json,
    /// Comma-separated values, one row per version, with a header.
    Csv,
}

/// `aigate log`.
#[derive(Debug, clap::Args)]
pub struct LogArgs {
    #[command(subcommand)]
    pub command: Option<LogCommand>,
    /// Only events about this artifact.
    #[arg(long, value_name = "NAME")]
    pub artifact: Option<String>,
    /// Only events of this action (lock, approve, fetch, verify-passed, verify-failed, sign,
    /// rollback, revoke, deps-change, deploy, repair).
    #[arg(long, value_name = "ACTION")]
    pub action: Option<String>,
    /// Only events by someone whose name contains this.
    #[arg(long, value_name = "WHO")]
    pub by: Option<String>,
    /// Only events at or after this time (RFC 3339, or a date YYYY-MM-DD).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// `aigate log` subcommands.
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Check the chain: every event in place, unchanged, and the log's head the one aigate.lock
    /// recorded. Names the first broken link (exit 1).
    Verify(LogVerifyArgs),
    /// Move a torn last event (a write interrupted by a crash) into a file beside the log, byte
    /// for byte, and record that in the log.
    Repair(LogRepairArgs),
}

/// `aigate log verify`.
#[derive(Debug, clap::Args)]
pub struct LogVerifyArgs {
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `aigate log repair`.
#[derive(Debug, clap::Args)]
pub struct LogRepairArgs {
    /// Who repairs [default: the git identity].
    #[arg(long, value_name = "WHO")]
    pub by: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// `aigate rollback`.
#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// The artifact's name in aigate.toml.
    pub name: String,
    /// The version to restore [default: the last approved version before the current one].
    #[arg(long, value_name = "VERSION")]
    pub to: Option<u64>,
    /// Who rolls back [default: the git identity].
    #[arg(long, value_name = "WHO")]
    pub by: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// `aigate revoke`.
#[derive(Debug, clap::Args)]
pub struct RevokeArgs {
    /// NAME@VERSION.
    #[arg(value_name = "NAME@VERSION")]
    pub target: String,
    /// Why the version is bad; recorded.
    #[arg(long, value_name = "REASON")]
    pub reason: String,
    /// Who revokes [default: the git identity].
    #[arg(long, value_name = "WHO")]
    pub by: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// `aigate deploy`.
#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// The artifact's name in aigate.toml.
    pub name: String,
    /// The environment (production, staging, a cluster's name).
    #[arg(long, value_name = "ENV")]
    pub to: String,
    /// Who deploys [default: the git identity].
    #[arg(long, value_name = "WHO")]
    pub by: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// `aigate diff`.
#[derive(Debug, clap::Args)]
pub struct ArtifactDiffArgs {
    /// The artifact's name in aigate.toml.
    pub name: String,
    /// The old version.
    #[arg(value_name = "V1")]
    pub old: Option<u64>,
    /// The new version.
    #[arg(value_name = "V2")]
    pub new: Option<u64>,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// `aigate store`.
#[derive(Debug, clap::Args)]
pub struct StoreArgs {
    #[command(subcommand)]
    pub command: StoreCommand,
}

/// `aigate store` subcommands.
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Put every file aigate.lock pins, and its version manifest, into the store (each object
    /// once; uploads verified by digest).
    Push(StorePushArgs),
    /// Remove objects no version in aigate.lock (current or approved history) refers to.
    Gc(StoreGcArgs),
}

/// `aigate store push`.
#[derive(Debug, clap::Args)]
pub struct StorePushArgs {
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `aigate store gc`.
#[derive(Debug, clap::Args)]
pub struct StoreGcArgs {
    /// List what would be removed, remove nothing.
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// `aigate db`.
#[derive(Debug, clap::Args)]
pub struct DbArgs {
    #[command(subcommand)]
    pub command: DbCommand,
}

/// `aigate db` subcommands.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Download the PyPI advisories (OSV's PyPI/all.zip), or import a zip or folder of records.
    ///
    /// The new database is built and verified beside the old one, which stays in use until the
    /// new one is complete: a failed download, a corrupt archive or one whose member names
    /// climb out of their folder changes nothing. The date, the source and the SHA-256 are
    /// recorded; `aigate audit` warns when the database is older than [audit] max-db-age.
    Update(DbUpdateArgs),
}

/// `aigate db update`.
#[derive(Debug, clap::Args)]
pub struct DbUpdateArgs {
    /// Download from this URL [default: https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip].
    #[arg(long, value_name = "URL", conflicts_with = "from")]
    pub url: Option<String>,
    /// Import this OSV zip or folder of records instead of downloading.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// Where the database lives [default: the user's cache, under advisories/].
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Retries after a failed download attempt.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub retries: u32,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `aigate keygen`.
#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Where to write: NAME.key.pem and NAME.pub.pem.
    #[arg(long, value_name = "NAME")]
    pub out: PathBuf,
}

/// The key or certificate a signature is made with.
#[derive(Debug, clap::Args)]
pub struct SigningArgs {
    /// The private key (ECDSA P-256, P-384 or P-521; SEC1 or PKCS#8 PEM, encrypted or not).
    #[arg(long, value_name = "KEY.pem")]
    pub key: PathBuf,
    /// The environment variable holding the key's password [default: AIGATE_KEY_PASSWORD, or a
    /// prompt on the terminal].
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    /// Sign with a certificate (model-signing's certificate method): the key's leaf certificate.
    #[arg(long, value_name = "LEAF.pem")]
    pub certificate: Option<PathBuf>,
    /// The certificates between the leaf and the root, for the certificate method.
    #[arg(
        long = "certificate-chain",
        value_name = "CA.pem",
        requires = "certificate"
    )]
    pub certificate_chain: Vec<PathBuf>,
}

/// `aigate sign`.
#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// The model folder or file to sign.
    #[arg(
        value_name = "PATH",
        required_unless_present = "lock",
        conflicts_with = "lock"
    )]
    pub path: Option<PathBuf>,
    /// Sign aigate.lock: every file it pins.
    #[arg(long)]
    pub lock: bool,
    /// Where to write the signature [default: PATH.sig beside a file, PATH/model.sig in a
    /// folder, aigate.lock.sig for --lock].
    #[arg(long, value_name = "OUT")]
    pub signature: Option<PathBuf>,
    /// Paths inside the model to leave unsigned (relative to it).
    #[arg(long = "ignore-paths", value_name = "PATH", num_args = 1..)]
    pub ignore_paths: Vec<String>,
    /// The hash: sha256 or blake3.
    #[arg(long, default_value = "sha256", value_name = "HASH")]
    pub hash: String,
    /// Hash in shards of SIZE bytes (model-signing's shards serialization) instead of whole files.
    #[arg(long, value_name = "SIZE")]
    pub shard_size: Option<u64>,
    #[command(flatten)]
    pub signing: SigningArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Who a signature must come from.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct TrustedSigner {
    /// The publisher's public key (PEM).
    #[arg(long, value_name = "PUB.pem")]
    pub key: Option<PathBuf>,
    /// Trusted CA certificates for signatures made with the certificate method.
    #[arg(long = "certificate-chain", value_name = "CA.pem", num_args = 1..)]
    pub certificate_chain: Vec<PathBuf>,
}

/// `aigate verify-sig`.
#[derive(Debug, clap::Args)]
pub struct VerifySigArgs {
    /// The model folder or file.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// The signature [default: PATH.sig beside a file, PATH/model.sig in a folder].
    #[arg(long, value_name = "SIG")]
    pub signature: Option<PathBuf>,
    /// More paths inside the model to leave out (relative to it).
    #[arg(long = "ignore-paths", value_name = "PATH", num_args = 1..)]
    pub ignore_paths: Vec<String>,
    #[command(flatten)]
    pub signer: TrustedSigner,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Where and how a command writes its report.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Print only findings: no summary, no progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// A check of `aigate check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum CheckName {
    /// Model and dataset files scanned for code that runs on load.
    Scan,
    /// The files on disk against aigate.lock (and its signature).
    Verify,
    /// The Python dependencies against [policy].
    Policy,
    /// The Python dependencies against known vulnerabilities and malware.
    Audit,
    /// The custody log's hash chain.
    Custody,
    /// The AI bill of materials against [sbom] require-completeness.
    Sbom,
}

impl CheckName {
    /// Every check, in the order reports list them.
    pub const ALL: [CheckName; 6] = [
        CheckName::Scan,
        CheckName::Verify,
        CheckName::Policy,
        CheckName::Audit,
        CheckName::Custody,
        CheckName::Sbom,
    ];

    /// Its name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::Scan => "scan",
            CheckName::Verify => "verify",
            CheckName::Policy => "policy",
            CheckName::Audit => "audit",
            CheckName::Custody => "custody",
            CheckName::Sbom => "sbom",
        }
    }
}

/// `aigate check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The project: a folder with an aigate.toml (or below one) [default: the current folder].
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,
    /// Lowest severity that fails any check [default: each check's own].
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,
    /// A check that may be missing (it cannot run yet) without failing the run.
    #[arg(long, value_enum, value_name = "CHECK", value_delimiter = ',')]
    pub allow_missing: Vec<CheckName>,
    /// A check not to run.
    #[arg(long, value_enum, value_name = "CHECK", value_delimiter = ',')]
    pub skip: Vec<CheckName>,
    /// The advisory database for `audit` (as for `aigate audit --db`).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Do not re-hash installed files against their RECORD (faster on large environments).
    #[arg(long)]
    pub no_record_check: bool,
    /// `verify` reads and hashes every file, ignoring the digest cache.
    #[arg(long)]
    pub rehash: bool,
    #[command(flatten)]
    pub inputs: InputArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `aigate completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `aigate man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write aigate.1 and one page per command into this folder instead of printing aigate.1.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `aigate init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The project's folder [default: the current folder].
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,
    /// Print the configuration instead of writing it.
    #[arg(long)]
    pub dry_run: bool,
}

/// `aigate scan`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Files and directories to scan.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Lowest severity that fails the run [default: medium, or [scan] fail-on].
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,

    /// List every global each pickle imports, safe ones included (in JSON: `scanned[].globals`).
    #[arg(long)]
    pub list_globals: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// `aigate lock`.
#[derive(Debug, clap::Args)]
pub struct LockArgs {
    /// Read a lock that does not parse artifact by artifact, keeping what is still valid (and
    /// every approval whose bytes still match), instead of refusing it.
    #[arg(long)]
    pub rebuild: bool,
    /// Do not push the pinned files to the store ([store]); rollback cannot restore what was
    /// never pushed.
    #[arg(long)]
    pub no_store: bool,
    /// Who locks, for the custody log [default: the git identity].
    #[arg(long, value_name = "WHO")]
    pub by: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// `aigate verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Lowest severity that fails the run.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity, default_value = "low")]
    pub fail_on: Severity,
    /// Who verifies, for the custody log [default: AIGATE_ACTOR, else the git identity].
    #[arg(long, value_name = "WHO")]
    pub by: Option<String>,
    /// Do not record the result in the custody log.
    #[arg(long)]
    pub no_record: bool,
    /// Read and hash every file, ignoring the digest cache (which answers for files whose
    /// device, inode, size, mtime and ctime are unchanged since they were last hashed).
    #[arg(long)]
    pub rehash: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// `aigate approve`.
#[derive(Debug, clap::Args)]
pub struct ApproveArgs {
    /// The artifact's name in aigate.toml.
    pub name: String,
    /// Who approves (a name or an e-mail address).
    #[arg(long, value_name = "WHO")]
    pub by: String,
    /// Approve despite unsafe scan findings, for this recorded reason.
    #[arg(long, value_name = "REASON")]
    pub force: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// `aigate fetch`.
#[derive(Debug, clap::Args)]
pub struct FetchArgs {
    /// An https URL, or hf://[datasets/]ORG/REPO@REVISION[/FILE].
    #[arg(value_name = "SOURCE")]
    pub source: String,
    /// The artifact's name in aigate.toml.
    #[arg(long)]
    pub name: String,
    /// The SHA-256 the file must have (a single file only).
    #[arg(long, value_name = "HEX", value_parser = parse_sha256)]
    pub sha256: Option<aigate_integrity::hash::Digest>,
    /// Declare it as a [[dataset]] rather than a [[model]].
    #[arg(long)]
    pub dataset: bool,
    /// Where to put it [default: models/NAME or datasets/NAME].
    #[arg(long, value_name = "DIR")]
    pub dest: Option<String>,
    /// Retries after a failed attempt (server errors, dropped connections).
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub retries: u32,
    /// The publisher's model-signing signature of what is downloaded (a file, or an https URL
    /// under a trusted prefix), checked before anything is moved into place.
    #[arg(long, value_name = "FILE|URL")]
    pub signature: Option<String>,
    /// The publisher's public key the signature must verify with [default: the key [sources]
    /// keys gives the source's prefix].
    #[arg(long, value_name = "PUB.pem")]
    pub key: Option<PathBuf>,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: findings grouped by file, with what to do.
    Human,
    /// The report as JSON (its schema: docs/report.schema.json).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// `aigate audit` only: the advisories found, as a CycloneDX 1.6 VEX document.
    #[value(name = "cyclonedx-vex")]
    CyclonedxVex,
}

fn parse_severity(text: &str) -> Result<Severity, String> {
    text.parse()
        .map_err(|e: aigate_report::UnknownSeverity| e.to_string())
}

fn parse_sha256(text: &str) -> Result<aigate_integrity::hash::Digest, String> {
    aigate_integrity::hash::Digest::from_hex(text)
        .ok_or_else(|| format!("`{text}` is not a SHA-256: expected 64 hexadecimal digits"))
}
