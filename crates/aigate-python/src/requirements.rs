//! pip's requirements file format, read the way `pip/_internal/req/req_file.py` reads it.
//!
//! The steps are pip's: split lines as Python's `str.splitlines` does; join a line ending in `\`
//! with the next (a comment line ends the joining); strip comments (`#` at the start of a line or
//! after whitespace, so `#egg=` in a URL stays); find `${VAR}` references (reported here, never
//! expanded); cut the line where the first token starting with `-` begins; split the options with
//! POSIX shell rules and parse them as optparse does (long options may be abbreviated, short ones
//! take their value attached or as the next word). A line with text before its options is a
//! requirement, whose only options that count are `--hash` and `--config-settings`; a line of
//! options only sets global options, except that `-r`/`-c` includes only its first file and `-e`
//! makes it an editable requirement.
//!
//! Differences from pip, where pip asks the file system or the network: a path requirement is a
//! directory unless it ends in an archive extension (pip checks `isdir`); `\` counts as a path
//! separator as on Windows; remote `-r https://…` includes are recorded, not fetched; `-r` of a
//! `pylock.toml` is read with the PEP 751 reader, as pip 25.1 and later do.

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Origin, saturate};
use crate::limits::{Limits, read_text};
use crate::model::{
    DependencySet, EnvRef, Hash, Include, IndexKind, IndexRef, Input, InputFormat, Package,
    PipOption, Source, TrustedHost,
};
use crate::pep::{normalize_name, parse_marker, parse_version, pinned_version};
use crate::requirement::{
    fragment_param, is_archive, is_url, parse_pep508, source_of_url, wheel_name_version,
};

/// Hash algorithms pip accepts in `--hash` (`STRONG_HASHES`).
const STRONG_HASHES: [&str; 3] = ["sha256", "sha384", "sha512"];

/// Reads a requirements file and, recursively, the local files it includes with `-r`/`-c`
/// (relative to the including file). Includes nest at most [`Limits::max_include_depth`] deep; a
/// file that includes itself, directly or not, is [`ErrorKind::IncludeCycle`].
pub fn read_requirements(path: &Path, limits: &Limits) -> Result<DependencySet, Error> {
    let mut reader = Reader {
        limits,
        follow_includes: true,
        set: DependencySet::default(),
        files_read: 0,
    };
    let text = read_text(path, limits.max_file_size)?;
    let mut chain = vec![canonical(path)];
    reader.read_file(path, &text, false, &mut chain)?;
    Ok(reader.set)
}

/// Parses requirements text as if read from `path`, without touching the file system: includes
/// are recorded, not followed.
pub fn parse_requirements(
    path: &Path,
    text: &str,
    limits: &Limits,
) -> Result<DependencySet, Error> {
    let mut reader = Reader {
        limits,
        follow_includes: false,
        set: DependencySet::default(),
        files_read: 0,
    };
    let mut chain = vec![path.to_path_buf()];
    reader.read_file(path, text, false, &mut chain)?;
    Ok(reader.set)
}

struct Reader<'a> {
    limits: &'a Limits,
    follow_includes: bool,
    set: DependencySet,
    files_read: usize,
}

/// One logical line: comments stripped, continuations joined, trimmed.
struct LogicalLine {
    text: String,
    line: u32,
    column: u32,
}

impl Reader<'_> {
    fn read_file(
        &mut self,
        path: &Path,
        text: &str,
        constraint: bool,
        chain: &mut Vec<PathBuf>,
    ) -> Result<(), Error> {
        self.files_read += 1;
        if self.files_read > self.limits.max_included_files {
            return Err(Error::new(
                Origin::file(path),
                ErrorKind::TooMany {
                    what: "included requirements files",
                    limit: self.limits.max_included_files,
                },
            ));
        }
        self.set.inputs.push(Input {
            path: path.to_path_buf(),
            format: InputFormat::Requirements,
            format_version: None,
        });
        for line in logical_lines(path, text, self.limits)? {
            self.handle_line(path, &line, constraint, chain)?;
        }
        Ok(())
    }

    fn handle_line(
        &mut self,
        path: &Path,
        line: &LogicalLine,
        constraint: bool,
        chain: &mut Vec<PathBuf>,
    ) -> Result<(), Error> {
        let origin = Origin::at(path, line.line, line.column);
        for name in env_var_names(&line.text) {
            self.set.env_refs.push(EnvRef {
                name,
                origin: origin.clone(),
            });
        }
        let (args, options_text) = break_args_options(&line.text);
        let words = shell_split(options_text)
            .map_err(|message| Error::new(origin.clone(), ErrorKind::Syntax(message)))?;
        let options = parse_options(&words)
            .map_err(|message| Error::new(origin.clone(), ErrorKind::Syntax(message)))?;

        if !args.is_empty() {
            let mut package = requirement_package(args, &origin)?;
            package.hashes = hashes_of(&options, &origin)?;
            package.constraint_only = constraint;
            package.direct = !constraint;
            return self.push_package(package);
        }
        // A line of options only. pip takes the first -e as an editable requirement, or the first
        // -r, else the first -c, as an include; other options on such lines are dropped.
        if let Some(value) = first_value(&options, Opt::Editable) {
            let mut package = editable_package(value, &origin)?;
            package.constraint_only = constraint;
            package.direct = !constraint;
            return self.push_package(package);
        }
        if let Some(target) = first_value(&options, Opt::Requirement) {
            return self.include(path, target, false, &origin, chain);
        }
        if let Some(target) = first_value(&options, Opt::Constraint) {
            return self.include(path, target, true, &origin, chain);
        }
        self.global_options(&options, &origin);
        Ok(())
    }

    fn push_package(&mut self, package: Package) -> Result<(), Error> {
        if self.set.packages.len() >= self.limits.max_packages {
            return Err(Error::new(
                package.origin,
                ErrorKind::TooMany {
                    what: "packages",
                    limit: self.limits.max_packages,
                },
            ));
        }
        self.set.packages.push(package);
        Ok(())
    }

    fn global_options(&mut self, options: &[ParsedOption], origin: &Origin) {
        let mut find_links_seen = false;
        for option in options {
            let value = option.value.clone();
            match option.opt {
                Opt::IndexUrl | Opt::ExtraIndexUrl => {
                    let kind = if option.opt == Opt::IndexUrl {
                        IndexKind::Primary
                    } else {
                        IndexKind::Extra
                    };
                    self.set.indexes.push(IndexRef {
                        url: value.unwrap_or_default(),
                        kind,
                        name: None,
                        origin: origin.clone(),
                    });
                }
                // pip keeps only the first --find-links of a line.
                Opt::FindLinks if !find_links_seen => {
                    find_links_seen = true;
                    self.set.indexes.push(IndexRef {
                        url: value.unwrap_or_default(),
                        kind: IndexKind::FindLinks,
                        name: None,
                        origin: origin.clone(),
                    });
                }
                Opt::FindLinks => {}
                Opt::NoIndex => self.set.no_index.push(origin.clone()),
                Opt::TrustedHost => self.set.trusted_hosts.push(TrustedHost {
                    host: value.unwrap_or_default(),
                    origin: origin.clone(),
                }),
                Opt::NoBinary
                | Opt::OnlyBinary
                | Opt::PreferBinary
                | Opt::RequireHashes
                | Opt::NoRequireHashes
                | Opt::Pre
                | Opt::AllReleases
                | Opt::OnlyFinal
                | Opt::UseFeature => self.set.options.push(PipOption {
                    name: format!("--{}", option.opt.long_name()),
                    value,
                    origin: origin.clone(),
                }),
                // Per-requirement options on a line without a requirement: pip ignores them.
                Opt::Hash | Opt::ConfigSettings => {}
                // Handled before: only reached for a second -e/-r/-c, which pip drops.
                Opt::Editable | Opt::Requirement | Opt::Constraint => {}
            }
        }
    }

    fn include(
        &mut self,
        including: &Path,
        target: &str,
        constraint: bool,
        origin: &Origin,
        chain: &mut Vec<PathBuf>,
    ) -> Result<(), Error> {
        let remote = has_url_scheme(target);
        let followed = self.follow_includes && !remote;
        self.set.includes.push(Include {
            target: target.to_string(),
            constraint,
            followed,
            origin: origin.clone(),
        });
        if !followed {
            return Ok(());
        }
        if chain.len() > self.limits.max_include_depth {
            return Err(Error::new(
                origin.clone(),
                ErrorKind::IncludeTooDeep {
                    limit: self.limits.max_include_depth,
                },
            ));
        }
        let included = including
            .parent()
            .unwrap_or_else(|| Path::new(""))
            .join(target);
        let key = canonical(&included);
        if chain.contains(&key) {
            let mut cycle = chain.clone();
            cycle.push(key);
            return Err(Error::new(
                origin.clone(),
                ErrorKind::IncludeCycle {
                    included,
                    chain: cycle,
                },
            ));
        }
        let text = read_text(&included, self.limits.max_file_size).map_err(|e| {
            // The include's own line is the more useful place for a missing file.
            if matches!(e.kind, ErrorKind::Io(_)) {
                Error::new(origin.clone(), e.kind)
            } else {
                e
            }
        })?;
        chain.push(key);
        let result = if is_pylock_name(&included) {
            crate::pylock::parse_pylock(&included, &text, self.limits).map(|set| {
                let mut set = set;
                for package in &mut set.packages {
                    package.constraint_only = constraint;
                }
                self.set.extend(set);
            })
        } else {
            self.read_file(&included, &text, constraint, chain)
        };
        chain.pop();
        result
    }
}

fn is_pylock_name(path: &Path) -> bool {
    let name = crate::requirement::file_name(path.to_str().unwrap_or_default());
    name == "pylock.toml" || (name.starts_with("pylock.") && name.ends_with(".toml"))
}

/// The key identifying a file in the include chain: its canonical path, or the path itself when
/// it cannot be resolved (the read then fails with the file named).
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// pip's `SCHEME_RE`: includes with these schemes are fetched, never joined to a folder.
fn has_url_scheme(target: &str) -> bool {
    let lower = target.get(..6).unwrap_or(target).to_ascii_lowercase();
    lower.starts_with("http:") || lower.starts_with("https:") || lower.starts_with("file:")
}

/// Python's `str.splitlines` boundaries: `\n`, `\r\n`, `\r`, `\v`, `\f`, `\x1c`–`\x1e`, `\x85`,
/// U+2028 and U+2029. pip numbers lines by these, so aigate does too.
fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let boundary = rest.char_indices().find(|(_, c)| {
            matches!(
                c,
                '\n' | '\r'
                    | '\x0b'
                    | '\x0c'
                    | '\x1c'
                    | '\x1d'
                    | '\x1e'
                    | '\u{85}'
                    | '\u{2028}'
                    | '\u{2029}'
            )
        });
        match boundary {
            None => {
                let line = rest;
                rest = "";
                Some(line)
            }
            Some((at, c)) => {
                let line = rest.get(..at).unwrap_or_default();
                let mut next = at + c.len_utf8();
                if c == '\r' && rest.get(next..next + 1) == Some("\n") {
                    next += 1;
                }
                rest = rest.get(next..).unwrap_or_default();
                Some(line)
            }
        }
    })
}

/// Whether the first non-whitespace character is `#` (pip's `COMMENT_RE.match`).
fn is_comment_line(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// Removes a comment: from the first `#` that starts the line or follows whitespace (pip's
/// `COMMENT_RE.sub`). A `#` inside a word, as in a URL's `#egg=` fragment, is kept.
fn strip_comment(line: &str) -> &str {
    let mut previous_is_space = true;
    for (i, c) in line.char_indices() {
        if c == '#' && previous_is_space {
            return line.get(..i).unwrap_or_default();
        }
        previous_is_space = c.is_whitespace();
    }
    line
}

/// The logical lines of a file, numbered by their first physical line (pip's `join_lines`,
/// `ignore_comments`). Physical and joined lines are bounded by [`Limits::max_line_length`].
fn logical_lines(path: &Path, text: &str, limits: &Limits) -> Result<Vec<LogicalLine>, Error> {
    let too_long = |line: usize, length: usize| {
        Error::new(
            Origin::line(path, saturate(line)),
            ErrorKind::LineTooLong {
                length,
                limit: limits.max_line_length,
            },
        )
    };
    let mut lines = Vec::new();
    let mut joined: Option<(usize, String)> = None;
    let mut finish = |first: usize, text: &str| -> Result<(), Error> {
        if text.len() > limits.max_line_length {
            return Err(too_long(first, text.len()));
        }
        let stripped = strip_comment(text).trim();
        if !stripped.is_empty() {
            let column = text.chars().take_while(|c| c.is_whitespace()).count() + 1;
            lines.push(LogicalLine {
                text: stripped.to_string(),
                line: saturate(first),
                column: saturate(column),
            });
        }
        Ok(())
    };
    for (index, line) in split_lines(text).enumerate() {
        let number = index + 1;
        if line.len() > limits.max_line_length {
            return Err(too_long(number, line.len()));
        }
        let comment = is_comment_line(line);
        if !line.ends_with('\\') || comment {
            // pip puts a space before a comment line so that, joined, it is still a comment.
            let line = if comment {
                format!(" {line}")
            } else {
                line.to_string()
            };
            match joined.take() {
                Some((first, mut text)) => {
                    text.push_str(&line);
                    finish(first, &text)?;
                }
                None => finish(number, &line)?,
            }
        } else {
            // pip strips every leading and trailing backslash of a continued line.
            let part = line.trim_matches('\\');
            let (_, text) = joined.get_or_insert_with(|| (number, String::new()));
            if text.len() + part.len() > limits.max_line_length {
                return Err(too_long(number, text.len() + part.len()));
            }
            text.push_str(part);
        }
    }
    if let Some((first, text)) = joined {
        finish(first, &text)?;
    }
    Ok(lines)
}

/// `${NAME}` references with POSIX names (upper-case letters, digits, `_`), as pip matches them.
fn env_var_names(line: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find("${") {
        let after = rest.get(start + 2..).unwrap_or_default();
        let name_length = after
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(after.len());
        if name_length > 0 && after.get(name_length..name_length + 1) == Some("}") {
            names.push(after.get(..name_length).unwrap_or_default().to_string());
            rest = after.get(name_length + 1..).unwrap_or_default();
        } else {
            rest = after;
        }
    }
    names
}

/// pip's `break_args_options`: the line splits on single spaces, and the options start at the
/// first word starting with `-`.
fn break_args_options(line: &str) -> (&str, &str) {
    let mut word_start = 0;
    for (i, c) in line.char_indices() {
        if i == word_start && c == '-' {
            let args = line.get(..i.saturating_sub(1)).unwrap_or_default();
            return (args, line.get(i..).unwrap_or_default());
        }
        if c == ' ' {
            word_start = i + 1;
        }
    }
    (line, "")
}

/// POSIX `shlex.split`: words split on whitespace, `'…'` literal, `"…"` with `\` escaping `\`,
/// `"`, `$`, `` ` `` and newline, and `\` escaping any character outside quotes.
fn shell_split(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\\' => {
                let escaped = chars.next().ok_or("no escaped character after `\\`")?;
                word.push(escaped);
                in_word = true;
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("no closing quotation".to_string()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('\\' | '"' | '$' | '`' | '\n')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("no closing quotation".to_string()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("no closing quotation".to_string()),
                    }
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// The options pip accepts in requirements files (`SUPPORTED_OPTIONS` and
/// `SUPPORTED_OPTIONS_REQ` of `req_file.py`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opt {
    IndexUrl,
    ExtraIndexUrl,
    NoIndex,
    Constraint,
    Requirement,
    Editable,
    FindLinks,
    NoBinary,
    OnlyBinary,
    PreferBinary,
    RequireHashes,
    NoRequireHashes,
    Pre,
    AllReleases,
    OnlyFinal,
    TrustedHost,
    UseFeature,
    Hash,
    ConfigSettings,
}

/// Long names (with `--pypi-url`, pip's alias of `--index-url`), short names, and whether the
/// option takes a value.
const OPTIONS: [(&str, Option<char>, Opt, bool); 20] = [
    ("index-url", Some('i'), Opt::IndexUrl, true),
    ("pypi-url", None, Opt::IndexUrl, true),
    ("extra-index-url", None, Opt::ExtraIndexUrl, true),
    ("no-index", None, Opt::NoIndex, false),
    ("constraint", Some('c'), Opt::Constraint, true),
    ("requirement", Some('r'), Opt::Requirement, true),
    ("editable", Some('e'), Opt::Editable, true),
    ("find-links", Some('f'), Opt::FindLinks, true),
    ("no-binary", None, Opt::NoBinary, true),
    ("only-binary", None, Opt::OnlyBinary, true),
    ("prefer-binary", None, Opt::PreferBinary, false),
    ("require-hashes", None, Opt::RequireHashes, false),
    ("no-require-hashes", None, Opt::NoRequireHashes, false),
    ("pre", None, Opt::Pre, false),
    ("all-releases", None, Opt::AllReleases, true),
    ("only-final", None, Opt::OnlyFinal, true),
    ("trusted-host", None, Opt::TrustedHost, true),
    ("use-feature", None, Opt::UseFeature, true),
    ("hash", None, Opt::Hash, true),
    ("config-settings", Some('C'), Opt::ConfigSettings, true),
];

impl Opt {
    fn long_name(self) -> &'static str {
        OPTIONS
            .iter()
            .find(|(_, _, opt, _)| *opt == self)
            .map_or("", |(long, _, _, _)| long)
    }

    fn takes_value(self) -> bool {
        OPTIONS
            .iter()
            .find(|(_, _, opt, _)| *opt == self)
            .is_some_and(|(_, _, _, value)| *value)
    }
}

struct ParsedOption {
    opt: Opt,
    value: Option<String>,
}

/// optparse's `parse_args` over pip's option table. Words that are not options are ignored, as
/// pip ignores optparse's positional arguments.
fn parse_options(words: &[String]) -> Result<Vec<ParsedOption>, String> {
    let mut parsed = Vec::new();
    let mut words = words.iter();
    while let Some(word) = words.next() {
        if word == "--" {
            break;
        }
        if let Some(long) = word.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (long, None),
            };
            let opt = match_long_option(name)?;
            let value = if opt.takes_value() {
                match attached {
                    Some(value) => Some(value),
                    None => Some(
                        words
                            .next()
                            .ok_or_else(|| format!("--{name} option requires 1 argument"))?
                            .clone(),
                    ),
                }
            } else if attached.is_some() {
                return Err(format!(
                    "--{} option does not take a value",
                    opt.long_name()
                ));
            } else {
                None
            };
            parsed.push(ParsedOption { opt, value });
        } else if let Some(short) = word.strip_prefix('-').filter(|s| !s.is_empty()) {
            let mut chars = short.chars();
            let letter = chars.next().unwrap_or_default();
            let opt = OPTIONS
                .iter()
                .find(|(_, s, _, _)| *s == Some(letter))
                .map(|(_, _, opt, _)| *opt)
                .ok_or_else(|| format!("no such option: -{letter}"))?;
            // Every short option pip accepts here takes a value.
            let attached = chars.as_str();
            let value = if attached.is_empty() {
                words
                    .next()
                    .ok_or_else(|| format!("-{letter} option requires 1 argument"))?
                    .clone()
            } else {
                attached.to_string()
            };
            parsed.push(ParsedOption {
                opt,
                value: Some(value),
            });
        }
    }
    Ok(parsed)
}

/// optparse's `_match_abbrev`: an exact long name, or the one name the text is a prefix of.
fn match_long_option(name: &str) -> Result<Opt, String> {
    if let Some((_, _, opt, _)) = OPTIONS.iter().find(|(long, _, _, _)| *long == name) {
        return Ok(*opt);
    }
    let candidates: Vec<_> = OPTIONS
        .iter()
        .filter(|(long, _, _, _)| !name.is_empty() && long.starts_with(name))
        .collect();
    match candidates.as_slice() {
        [(_, _, opt, _)] => Ok(*opt),
        [] => Err(format!("no such option: --{name}")),
        many => Err(format!(
            "ambiguous option: --{name} ({})",
            many.iter()
                .map(|(long, _, _, _)| format!("--{long}"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn first_value(options: &[ParsedOption], opt: Opt) -> Option<&str> {
    options
        .iter()
        .find(|o| o.opt == opt)
        .and_then(|o| o.value.as_deref())
}

/// The `--hash` values of a requirement line (pip's `_handle_merge_hash`).
fn hashes_of(options: &[ParsedOption], origin: &Origin) -> Result<Vec<Hash>, Error> {
    let mut hashes = Vec::new();
    for value in options
        .iter()
        .filter(|o| o.opt == Opt::Hash)
        .filter_map(|o| o.value.as_deref())
    {
        let syntax = |message: String| Error::new(origin.clone(), ErrorKind::Syntax(message));
        let (algorithm, digest) = value.split_once(':').ok_or_else(|| {
            syntax(format!(
                "--hash {value:?} must be a hash name followed by a value, like --hash=sha256:abcde…"
            ))
        })?;
        if !STRONG_HASHES.contains(&algorithm) {
            return Err(syntax(format!(
                "--hash algorithm {algorithm:?} is not one pip allows ({})",
                STRONG_HASHES.join(", ")
            )));
        }
        let hash = Hash::from_hex(algorithm, digest)
            .ok_or_else(|| syntax(format!("--hash digest {digest:?} is not hexadecimal")))?;
        hashes.push(hash);
    }
    Ok(hashes)
}

/// pip's `_looks_like_path`, with `\` as a separator too.
fn looks_like_path(text: &str) -> bool {
    text.contains('/') || text.contains('\\') || text.starts_with('.')
}

/// pip's `_strip_extras`: `path[extra1,extra2]` → (`path`, extras).
fn strip_extras(text: &str) -> (&str, Vec<String>) {
    if let Some(body) = text.strip_suffix(']')
        && let Some(open) = body.rfind('[')
        && open > 0
    {
        let extras = body
            .get(open + 1..)
            .unwrap_or_default()
            .split(',')
            .map(|e| normalize_name(e.trim()))
            .filter(|e| !e.is_empty())
            .collect();
        return (body.get(..open).unwrap_or(text), extras);
    }
    (text, Vec::new())
}

fn invalid_requirement(origin: &Origin, text: &str, message: String) -> Error {
    Error::new(
        origin.clone(),
        ErrorKind::InvalidRequirement {
            text: text.to_string(),
            message,
        },
    )
}

fn checked_marker(origin: &Origin, marker: &str) -> Result<Option<String>, Error> {
    let marker = marker.trim();
    if marker.is_empty() {
        return Ok(None);
    }
    parse_marker(marker).map_err(|message| {
        Error::new(
            origin.clone(),
            ErrorKind::InvalidMarker {
                text: marker.to_string(),
                message,
            },
        )
    })?;
    Ok(Some(marker.to_string()))
}

/// A requirement line's text (before its options), the way pip's `parse_req_from_line` reads it:
/// a URL, a local archive or folder, or a PEP 508 requirement.
fn requirement_package(text: &str, origin: &Origin) -> Result<Package, Error> {
    let url_like = is_url(text);
    // pip splits the marker off at "; " for URLs (a URL may contain ";") and at ";" otherwise.
    let separator = if url_like { "; " } else { ";" };
    let (body, marker) = match text.split_once(separator) {
        Some((body, marker)) => (body.trim(), checked_marker(origin, marker)?),
        None => (text.trim(), None),
    };
    let before_at = body.split('@').next().unwrap_or(body);
    let pep508_url_form = body.contains('@') && !looks_like_path(before_at);

    if url_like {
        let mut package = named_from_location(body, origin)?;
        package.source = source_of_url(body);
        package.marker = marker;
        return Ok(package);
    }
    if !pep508_url_form && (is_archive(body) || looks_like_path(body)) {
        let (location, extras) = strip_extras(body);
        let mut package = named_from_location(location, origin)?;
        package.source = if is_archive(location) {
            Source::Path {
                path: location.to_string(),
            }
        } else {
            Source::Directory {
                path: location.to_string(),
            }
        };
        package.extras = extras;
        package.marker = marker;
        return Ok(package);
    }
    let parsed =
        parse_pep508(body).map_err(|message| invalid_requirement(origin, body, message))?;
    let mut package = Package::new(&parsed.name, origin.clone());
    package.extras = parsed.extras;
    package.marker = marker;
    match parsed.url {
        Some(url) => package.source = source_of_url(&url),
        None => {
            package.source = Source::Registry { url: None };
            if let Some(specifier) = parsed.specifier.filter(|s| !s.is_empty()) {
                package.version = pinned_version(&specifier).cloned();
                package.specifier = Some(specifier);
            }
        }
    }
    Ok(package)
}

/// A package for a URL or path requirement: named by its wheel file name (which also gives the
/// version) or its `#egg=` fragment; unnamed (empty name) otherwise, as pip leaves it until it
/// builds the project.
fn named_from_location(location: &str, origin: &Origin) -> Result<Package, Error> {
    let file = crate::requirement::file_name(location);
    if is_archive(file) && file.to_ascii_lowercase().ends_with(".whl") {
        let (name, version) = wheel_name_version(file).ok_or_else(|| {
            invalid_requirement(
                origin,
                location,
                format!("{file:?} is not a valid wheel file name"),
            )
        })?;
        let mut package = Package::new(name, origin.clone());
        package.version = Some(parse_version(version).map_err(|message| {
            Error::new(
                origin.clone(),
                ErrorKind::InvalidVersion {
                    text: version.to_string(),
                    message,
                },
            )
        })?);
        return Ok(package);
    }
    match fragment_param(location, "egg") {
        Some(egg) if crate::pep::is_valid_name(egg) => Ok(Package::new(egg, origin.clone())),
        Some(egg) => Err(invalid_requirement(
            origin,
            location,
            format!("#egg={egg} is not a valid project name"),
        )),
        None => Ok(Package::new("", origin.clone())),
    }
}

/// An `-e`/`--editable` requirement (pip's `parse_editable`): `name[extras] @ url`, a local
/// folder (with optional `[extras]`), or a VCS URL with `#egg=name`.
fn editable_package(text: &str, origin: &Origin) -> Result<Package, Error> {
    if let Ok(parsed) = parse_pep508(text)
        && let Some(url) = parsed.url
    {
        let mut package = Package::new(&parsed.name, origin.clone());
        package.extras = parsed.extras;
        package.marker = parsed.marker;
        package.source = Source::Editable { location: url };
        return Ok(package);
    }
    let (location, extras) = strip_extras(text);
    let lower = location.to_ascii_lowercase();
    let is_vcs = matches!(source_of_url(location), Source::Vcs { .. }) && is_url(location);
    let is_local = lower.starts_with("file:") || !is_url(location);
    if !is_vcs && !is_local {
        return Err(invalid_requirement(
            origin,
            text,
            "an editable requirement must be a path to a local project or a VCS URL (git+…, hg+…, svn+…, bzr+…)"
                .to_string(),
        ));
    }
    let mut package = match fragment_param(location, "egg") {
        Some(egg) if crate::pep::is_valid_name(egg) => Package::new(egg, origin.clone()),
        Some(egg) => {
            return Err(invalid_requirement(
                origin,
                text,
                format!("#egg={egg} is not a valid project name"),
            ));
        }
        None if is_vcs => {
            return Err(invalid_requirement(
                origin,
                text,
                "cannot tell the project's name: add #egg=NAME or write NAME @ URL".to_string(),
            ));
        }
        None => Package::new("", origin.clone()),
    };
    // pip keeps extras only for local folders.
    if is_local {
        package.extras = extras;
    }
    package.source = Source::Editable {
        location: location.to_string(),
    };
    Ok(package)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> DependencySet {
        parse_requirements(Path::new("requirements.txt"), text, &Limits::default())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn parse_err(text: &str) -> Error {
        match parse_requirements(Path::new("requirements.txt"), text, &Limits::default()) {
            Ok(set) => panic!("expected an error, read {set:?}"),
            Err(e) => e,
        }
    }

    fn only(set: &DependencySet) -> &Package {
        assert_eq!(set.packages.len(), 1, "{:?}", set.packages);
        &set.packages[0]
    }

    #[test]
    fn pins_ranges_and_lines() {
        let set = parse("# top\n\nrequests==2.31.0\n  numpy>=1.26,<3  # why\nFoo.Bar\n");
        let names: Vec<_> = set.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["requests", "numpy", "foo-bar"]);
        let requests = &set.packages[0];
        assert_eq!(
            requests.version.as_ref().map(ToString::to_string),
            Some("2.31.0".into())
        );
        assert!(requests.is_pinned());
        assert_eq!(requests.origin.line, Some(3));
        let numpy = &set.packages[1];
        assert_eq!(numpy.version, None);
        assert!(!numpy.is_pinned());
        assert_eq!(
            numpy.specifier.as_ref().map(ToString::to_string),
            Some(">=1.26, <3".into())
        );
        assert_eq!((numpy.origin.line, numpy.origin.column), (Some(4), Some(3)));
        assert_eq!(set.packages[2].name_as_written, "Foo.Bar");
        assert!(set.packages.iter().all(|p| p.direct));
    }

    #[test]
    fn continuation_lines_join_and_keep_the_first_line_number() {
        let set =
            parse("a==1 \\\n    --hash=sha256:aa \\\n    --hash sha256:bb\n    # via x\nb==2 \\\n");
        assert_eq!(set.packages.len(), 2);
        let a = &set.packages[0];
        assert_eq!(a.origin.line, Some(1));
        let hashes: Vec<_> = a.hashes.iter().map(ToString::to_string).collect();
        assert_eq!(hashes, ["sha256:aa", "sha256:bb"]);
        // A file ending in a continuation still yields its last line.
        assert_eq!(set.packages[1].name, "b");
        assert_eq!(set.packages[1].origin.line, Some(5));
    }

    #[test]
    fn a_comment_line_ends_a_continuation() {
        // uv export writes `pkg==1 \` followed by `    # via …`.
        let set = parse("certifi==1 \\\n    # via requests\nidna==3\n");
        let names: Vec<_> = set.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["certifi", "idna"]);
        assert_eq!(set.packages[1].origin.line, Some(3));
    }

    #[test]
    fn a_continued_comment_swallows_the_next_line_as_pip_does() {
        // `a==1 # note \` joins the next line into the comment.
        let set = parse("a==1 # note \\\nb==2\nc==3\n");
        let names: Vec<_> = set.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["a", "c"]);
    }

    #[test]
    fn hash_in_a_url_fragment_is_not_a_comment() {
        let set = parse("https://example.com/pkg-1.0.tar.gz#egg=pkg #real comment\n");
        let package = only(&set);
        assert_eq!(package.name, "pkg");
        assert_eq!(
            package.source,
            Source::Url {
                url: "https://example.com/pkg-1.0.tar.gz#egg=pkg".into(),
                subdirectory: None
            }
        );
    }

    #[test]
    fn multiple_hashes_in_both_spellings() {
        let set = parse("x==1 --hash=sha256:01 --hash sha384:02 --hash=sha512:03\n");
        let hashes: Vec<_> = only(&set)
            .hashes
            .iter()
            .map(|h| h.algorithm.clone())
            .collect();
        assert_eq!(hashes, ["sha256", "sha384", "sha512"]);
    }

    #[test]
    fn weak_or_malformed_hashes_are_errors() {
        let e = parse_err("x==1 --hash=md5:00\n");
        assert!(e.to_string().contains("md5"), "{e}");
        assert_eq!(e.origin.line, Some(1));
        assert!(
            parse_err("x==1 --hash=sha256\n")
                .to_string()
                .contains("hash name")
        );
        assert!(
            parse_err("x==1 --hash=sha256:zz\n")
                .to_string()
                .contains("hexadecimal")
        );
        assert!(
            parse_err("x==1 --hash\n")
                .to_string()
                .contains("requires 1 argument")
        );
    }

    #[test]
    fn markers_and_extras() {
        let set = parse(
            "requests[socks,Security]>=2 ; python_version >= \"3.8\"\ncolorama; sys_platform == 'win32'\n",
        );
        let requests = &set.packages[0];
        assert_eq!(requests.extras, ["socks", "security"]);
        assert_eq!(
            requests.marker.as_deref(),
            Some("python_version >= \"3.8\"")
        );
        assert_eq!(
            set.packages[1].marker.as_deref(),
            Some("sys_platform == 'win32'")
        );
        let e = parse_err("pkg ; python_version >>> '3'\n");
        assert!(matches!(e.kind, ErrorKind::InvalidMarker { .. }), "{e}");
        let e = parse_err("pkg >== 1\n");
        assert!(
            matches!(e.kind, ErrorKind::InvalidRequirement { .. }),
            "{e}"
        );
    }

    #[test]
    fn global_options_are_recorded() {
        let set = parse(concat!(
            "--index-url https://mirror.example/simple\n",
            "-i https://other.example/simple\n",
            "--extra-index-url=https://extra.example/simple\n",
            "--find-links ./wheels\n",
            "-f/abs/wheels\n",
            "--trusted-host mirror.example\n",
            "--no-index\n",
            "--pre\n",
            "--prefer-binary\n",
            "--only-binary :all:\n",
            "--require-hashes\n",
            "--extra-index https://abbreviated.example/simple\n",
            "--use-feature fast-deps\n",
            "--no-binary=numpy,scipy\n",
        ));
        let indexes: Vec<_> = set
            .indexes
            .iter()
            .map(|i| (i.kind, i.url.as_str(), i.origin.line))
            .collect();
        assert_eq!(
            indexes,
            [
                (IndexKind::Primary, "https://mirror.example/simple", Some(1)),
                (IndexKind::Primary, "https://other.example/simple", Some(2)),
                (IndexKind::Extra, "https://extra.example/simple", Some(3)),
                (IndexKind::FindLinks, "./wheels", Some(4)),
                (IndexKind::FindLinks, "/abs/wheels", Some(5)),
                (
                    IndexKind::Extra,
                    "https://abbreviated.example/simple",
                    Some(12)
                ),
            ]
        );
        assert_eq!(set.trusted_hosts[0].host, "mirror.example");
        assert_eq!(set.no_index.len(), 1);
        let options: Vec<_> = set
            .options
            .iter()
            .map(|o| (o.name.as_str(), o.value.as_deref()))
            .collect();
        assert_eq!(
            options,
            [
                ("--pre", None),
                ("--prefer-binary", None),
                ("--only-binary", Some(":all:")),
                ("--require-hashes", None),
                ("--use-feature", Some("fast-deps")),
                ("--no-binary", Some("numpy,scipy")),
            ]
        );
        assert!(set.packages.is_empty());
    }

    #[test]
    fn unknown_or_ambiguous_options_are_errors_naming_the_line() {
        let e = parse_err("a==1\n--frobnicate\n");
        assert_eq!(e.origin.line, Some(2));
        assert!(e.to_string().contains("no such option"), "{e}");
        assert!(parse_err("--no\n").to_string().contains("ambiguous"));
        assert!(
            parse_err("--pre=yes\n")
                .to_string()
                .contains("does not take a value")
        );
        assert!(
            parse_err("-x foo\n")
                .to_string()
                .contains("no such option: -x")
        );
        assert!(
            parse_err("-i 'unclosed\n")
                .to_string()
                .contains("closing quotation")
        );
    }

    #[test]
    fn env_references_are_reported_and_never_expanded() {
        let set = parse(concat!(
            "--index-url https://${USER_NAME}:${TOKEN}@pypi.example/simple\n",
            "pkg @ https://${HOST}/pkg-1.0-py3-none-any.whl\n",
            "--extra-index-url https://h/${lower}/$PLAIN/simple\n",
        ));
        let names: Vec<_> = set
            .env_refs
            .iter()
            .map(|r| (r.name.as_str(), r.origin.line))
            .collect();
        assert_eq!(
            names,
            [
                ("USER_NAME", Some(1)),
                ("TOKEN", Some(1)),
                ("HOST", Some(2))
            ]
        );
        assert_eq!(
            set.indexes[0].url,
            "https://${USER_NAME}:${TOKEN}@pypi.example/simple"
        );
        assert_eq!(
            set.packages[0].source,
            Source::Url {
                url: "https://${HOST}/pkg-1.0-py3-none-any.whl".into(),
                subdirectory: None
            }
        );
    }

    #[test]
    fn url_and_path_requirements() {
        let set = parse(concat!(
            "pkg @ https://example.com/pkg-1.0.tar.gz ; python_version < '3.12'\n",
            "https://example.com/dl/thing-2.0-py3-none-any.whl\n",
            "git+https://github.com/org/repo.git@v1.0#egg=repo\n",
            "./vendor/local-3.0.tar.gz\n",
            "./src/project[cli]\n",
            "file:///opt/pkgs/other-1.0-py3-none-any.whl\n",
            "https://example.com/unnamed.tar.gz\n",
        ));
        let p = &set.packages;
        assert_eq!(p[0].name, "pkg");
        assert_eq!(p[0].marker.as_deref(), Some("python_version < '3.12'"));
        assert!(
            matches!(&p[0].source, Source::Url { url, .. } if url == "https://example.com/pkg-1.0.tar.gz")
        );
        assert_eq!(p[1].name, "thing");
        assert_eq!(
            p[1].version.as_ref().map(ToString::to_string),
            Some("2.0".into())
        );
        assert_eq!(
            p[2].source,
            Source::Vcs {
                vcs: "git".into(),
                url: "https://github.com/org/repo.git".into(),
                requested_revision: Some("v1.0".into()),
                commit: None
            }
        );
        assert_eq!(p[2].name, "repo");
        assert_eq!(
            p[3].source,
            Source::Path {
                path: "./vendor/local-3.0.tar.gz".into()
            }
        );
        assert_eq!(
            p[4].source,
            Source::Directory {
                path: "./src/project".into()
            }
        );
        assert_eq!(p[4].extras, ["cli"]);
        assert_eq!(p[5].name, "other");
        assert!(matches!(&p[5].source, Source::Path { .. }));
        assert_eq!(p[6].name, "");
        assert!(
            parse_err("https://h/bad.whl\n")
                .to_string()
                .contains("wheel")
        );
    }

    #[test]
    fn editable_requirements() {
        let set = parse(concat!(
            "-e ./src/mylib[test]\n",
            "--editable git+https://github.com/org/tool.git@main#egg=tool\n",
            "-e \"name @ git+https://github.com/org/named.git\"\n",
        ));
        let p = &set.packages;
        assert_eq!(
            p[0].source,
            Source::Editable {
                location: "./src/mylib".into()
            }
        );
        assert_eq!(p[0].extras, ["test"]);
        assert_eq!(p[1].name, "tool");
        assert_eq!(
            p[1].source,
            Source::Editable {
                location: "git+https://github.com/org/tool.git@main#egg=tool".into()
            }
        );
        assert_eq!(p[2].name, "name");
        assert!(
            parse_err("-e git+https://github.com/org/x.git\n")
                .to_string()
                .contains("#egg")
        );
        assert!(
            parse_err("-e https://example.com/x.tar.gz\n")
                .to_string()
                .contains("VCS URL")
        );
    }

    #[test]
    fn includes_are_recorded_when_not_followed() {
        let set = parse("-r base.txt\n-c https://example.com/constraints.txt\n");
        let includes: Vec<_> = set
            .includes
            .iter()
            .map(|i| (i.target.as_str(), i.constraint, i.followed))
            .collect();
        assert_eq!(
            includes,
            [
                ("base.txt", false, false),
                ("https://example.com/constraints.txt", true, false)
            ]
        );
    }

    #[test]
    fn over_long_lines_are_errors() {
        let limits = Limits {
            max_line_length: 10,
            ..Limits::default()
        };
        let e = parse_requirements(Path::new("r.txt"), "a==1\nabcdefghijklmnop\n", &limits).err();
        assert!(
            matches!(
                e.as_ref().map(|e| (&e.kind, e.origin.line)),
                Some((ErrorKind::LineTooLong { length: 16, .. }, Some(2)))
            ),
            "{e:?}"
        );
        // Joined continuations are bounded too.
        let e = parse_requirements(Path::new("r.txt"), "abcdef\\\nghijkl\\\nm\n", &limits).err();
        assert!(matches!(
            e.map(|e| e.kind),
            Some(ErrorKind::LineTooLong { .. })
        ),);
    }

    #[test]
    fn python_line_boundaries_number_lines() {
        let set = parse("a==1\r\nb==2\rc==3\x0cd==4\n");
        let lines: Vec<_> = set.packages.iter().map(|p| p.origin.line).collect();
        assert_eq!(lines, [Some(1), Some(2), Some(3), Some(4)]);
    }

    #[test]
    fn options_after_a_requirement_other_than_hash_are_ignored_as_pip_does() {
        let set = parse("a==1 --pre --index-url https://x/simple\n");
        assert!(set.indexes.is_empty());
        assert!(set.options.is_empty());
        assert_eq!(only(&set).name, "a");
    }
}
