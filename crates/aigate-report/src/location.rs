//! Where a finding is: a file, typed steps into what the file contains, a byte offset, a line
//! and column for text inputs, and the package a finding is about.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One step from a file into what it contains, outermost first.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// A member of an archive, by the name the archive gives it.
    Member(String),
    /// The stream decoded from a compressed one, by codec (`gzip`, `zlib`, `xz`, …).
    Decoded(String),
    /// A pickle carried in a byte or text payload of another pickle.
    Embedded {
        /// How the payload encodes it: `raw`, `base64`, `hex`, `latin-1 text`.
        encoding: String,
        /// Offset of the opcode carrying the payload, in the outer pickle.
        offset: u64,
    },
    /// The pickle that holds a NumPy object array's data.
    ObjectArray {},
    /// One record of a stream of records (a PyTorch legacy `storages` entry).
    Record {
        /// Where the record starts.
        offset: u64,
    },
    /// A field inside a structured document: a JSON path, a layer, a node.
    Field(String),
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Member(name) => f.write_str(name),
            Step::Decoded(codec) => write!(f, "{codec} stream"),
            Step::Embedded { encoding, offset } => {
                write!(f, "embedded pickle ({encoding}) @ {offset}")
            }
            Step::ObjectArray {} => f.write_str("object array pickle"),
            Step::Record { offset } => write!(f, "record @ {offset}"),
            Step::Field(path) => f.write_str(path),
        }
    }
}

/// A place in a text file: 1-based line and column, with an optional end.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub struct Span {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// 1-based line where the span ends, when it is longer than a point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_line: Option<u32>,
    /// 1-based column where the span ends (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_column: Option<u32>,
}

impl Span {
    /// A point.
    pub fn point(line: u32, column: u32) -> Self {
        Span {
            line,
            column,
            end_line: None,
            end_column: None,
        }
    }

    /// The span of bytes `start..end` of `text`.
    pub fn of_bytes(text: &str, start: usize, end: usize) -> Self {
        let (line, column) = line_column(text, start);
        let (end_line, end_column) = line_column(text, end.max(start));
        Span {
            line,
            column,
            end_line: Some(end_line),
            end_column: Some(end_column),
        }
    }
}

/// The 1-based line and column (in characters) of a byte offset in `text`.
pub fn line_column(text: &str, offset: usize) -> (u32, u32) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..offset].chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

/// Where a finding is: a file as it was named on the command line or found by the walker;
/// the steps into containers and documents; a byte offset in the innermost stream; a line and
/// column for text; the package the finding is about.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub struct Location {
    /// The file, as named on the command line or found by the walker.
    pub path: String,
    /// Steps into what the file contains, outermost first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
    /// Byte offset inside the innermost step (for pickles: the offset of the opcode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// Line and column in a text file (configuration, requirements, locks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
    /// The package the finding is about, as a package URL (`pkg:pypi/requests@2.32.3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

impl Location {
    /// A location naming a whole file.
    pub fn file(path: impl Into<String>) -> Self {
        Location {
            path: path.into(),
            ..Location::default()
        }
    }

    /// The same location one step deeper (the offset is dropped: it belonged to the outer step).
    #[must_use]
    pub fn step(&self, step: Step) -> Self {
        let mut steps = self.steps.clone();
        steps.push(step);
        Location {
            steps,
            offset: None,
            ..self.clone()
        }
    }

    /// The same location inside the archive member `name`.
    #[must_use]
    pub fn member(&self, name: impl Into<String>) -> Self {
        self.step(Step::Member(name.into()))
    }

    /// The same location at a byte offset in its innermost step.
    #[must_use]
    pub fn at(&self, offset: u64) -> Self {
        Location {
            offset: Some(offset),
            ..self.clone()
        }
    }

    /// The same location at a line and column.
    #[must_use]
    pub fn with_span(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    /// The same location, about a package.
    #[must_use]
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// The steps as people read them: `archive/data.pkl > gzip stream`.
    pub fn steps_display(&self) -> String {
        self.steps
            .iter()
            .map(Step::to_string)
            .collect::<Vec<_>>()
            .join(" > ")
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path)?;
        if let Some(span) = self.span {
            write!(f, ":{}:{}", span.line, span.column)?;
        }
        for step in &self.steps {
            write!(f, " > {step}")?;
        }
        if let Some(offset) = self.offset {
            write!(f, " @ {offset}")?;
        }
        if let Some(subject) = &self.subject {
            write!(f, " ({subject})")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_steps_span_and_offset() {
        let loc = Location::file("m.pt")
            .member("archive/data.pkl")
            .step(Step::Decoded("gzip".into()))
            .at(12);
        assert_eq!(loc.to_string(), "m.pt > archive/data.pkl > gzip stream @ 12");
        let loc = Location::file("requirements.txt")
            .with_span(Span::point(3, 1))
            .with_subject("pkg:pypi/reqests@1.0");
        assert_eq!(
            loc.to_string(),
            "requirements.txt:3:1 (pkg:pypi/reqests@1.0)"
        );
    }

    #[test]
    fn steps_serialise_as_tagged_objects() {
        let loc = Location::file("a")
            .member("x.npy")
            .step(Step::ObjectArray {})
            .step(Step::Embedded {
                encoding: "base64".into(),
                offset: 7,
            });
        let json = serde_json::to_value(&loc).unwrap_or_default();
        assert_eq!(json["steps"][0]["member"], "x.npy");
        assert!(json["steps"][1]["object-array"].is_object());
        assert_eq!(json["steps"][2]["embedded"]["offset"], 7);
        let back: Location = serde_json::from_value(json).unwrap_or_default();
        assert_eq!(back, loc);
    }

    #[test]
    fn line_and_column_count_characters() {
        let text = "a = 1\nnäme = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        let at = text.find("= 2").unwrap_or(0);
        assert_eq!(line_column(text, at), (2, 6));
        assert_eq!(line_column(text, 10_000), (3, 1));
    }
}
