//! SPDX licence expressions: a bounded parser, the allow/deny evaluation, and the mapping from
//! the older `License` field and trove classifiers to SPDX ids.

use aigate_python::Licence;

/// Longest expression parsed, in bytes.
pub const MAX_EXPRESSION_LENGTH: usize = 4096;
/// Deepest nesting of parentheses parsed.
pub const MAX_DEPTH: usize = 32;

/// A parsed SPDX licence expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expression {
    /// A licence id (`MIT`, `LicenseRef-acme`), with `+` kept as written.
    Id(String),
    /// `id WITH exception`: the exception only adds permissions, so it is judged as `id`.
    With(Box<Expression>, String),
    /// Every side applies.
    And(Vec<Expression>),
    /// Any side may be chosen.
    Or(Vec<Expression>),
}

/// Why an expression does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpressionError {
    /// Longer than [`MAX_EXPRESSION_LENGTH`].
    #[error("the licence expression is longer than {MAX_EXPRESSION_LENGTH} bytes")]
    TooLong,
    /// Nested deeper than [`MAX_DEPTH`].
    #[error("the licence expression nests deeper than {MAX_DEPTH} parentheses")]
    TooDeep,
    /// Not the SPDX grammar.
    #[error("not an SPDX licence expression: {0}")]
    Syntax(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token<'a> {
    Open,
    Close,
    And,
    Or,
    With,
    Id(&'a str),
}

fn tokens(text: &str) -> Result<Vec<Token<'_>>, ExpressionError> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        let Some(c) = rest.chars().next() else {
            return Ok(out);
        };
        match c {
            '(' => {
                out.push(Token::Open);
                rest = &rest[1..];
            }
            ')' => {
                out.push(Token::Close);
                rest = &rest[1..];
            }
            c if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | ':') => {
                let end = rest
                    .find(|c: char| {
                        !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | ':'))
                    })
                    .unwrap_or(rest.len());
                let word = &rest[..end];
                out.push(match word {
                    w if w.eq_ignore_ascii_case("and") => Token::And,
                    w if w.eq_ignore_ascii_case("or") => Token::Or,
                    w if w.eq_ignore_ascii_case("with") => Token::With,
                    w => Token::Id(w),
                });
                rest = &rest[end..];
            }
            c => {
                return Err(ExpressionError::Syntax(format!(
                    "unexpected character {c:?}"
                )));
            }
        }
    }
}

struct Parser<'a> {
    tokens: Vec<Token<'a>>,
    at: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&Token<'a>> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token<'a>> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn or(&mut self, depth: usize) -> Result<Expression, ExpressionError> {
        let mut sides = vec![self.and(depth)?];
        while self.peek() == Some(&Token::Or) {
            self.at += 1;
            sides.push(self.and(depth)?);
        }
        Ok(if sides.len() == 1 {
            sides.remove(0)
        } else {
            Expression::Or(sides)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Expression, ExpressionError> {
        let mut sides = vec![self.with(depth)?];
        while self.peek() == Some(&Token::And) {
            self.at += 1;
            sides.push(self.with(depth)?);
        }
        Ok(if sides.len() == 1 {
            sides.remove(0)
        } else {
            Expression::And(sides)
        })
    }

    fn with(&mut self, depth: usize) -> Result<Expression, ExpressionError> {
        let atom = self.atom(depth)?;
        if self.peek() == Some(&Token::With) {
            self.at += 1;
            return match self.next() {
                Some(Token::Id(exception)) => {
                    Ok(Expression::With(Box::new(atom), exception.to_owned()))
                }
                _ => Err(ExpressionError::Syntax(
                    "WITH must be followed by an exception id".into(),
                )),
            };
        }
        Ok(atom)
    }

    fn atom(&mut self, depth: usize) -> Result<Expression, ExpressionError> {
        match self.next() {
            Some(Token::Id(id)) => Ok(Expression::Id(id.to_owned())),
            Some(Token::Open) => {
                if depth >= MAX_DEPTH {
                    return Err(ExpressionError::TooDeep);
                }
                let inner = self.or(depth + 1)?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err(ExpressionError::Syntax("unbalanced parentheses".into())),
                }
            }
            Some(t) => Err(ExpressionError::Syntax(format!(
                "expected a licence id, found {t:?}"
            ))),
            None => Err(ExpressionError::Syntax(
                "the expression ends where a licence id is expected".into(),
            )),
        }
    }
}

/// Parses an SPDX licence expression (`MIT OR Apache-2.0`, `GPL-2.0-only WITH
/// Classpath-exception-2.0`, parentheses). Operators are accepted in any case.
pub fn parse_expression(text: &str) -> Result<Expression, ExpressionError> {
    if text.len() > MAX_EXPRESSION_LENGTH {
        return Err(ExpressionError::TooLong);
    }
    let mut parser = Parser {
        tokens: tokens(text)?,
        at: 0,
    };
    let expression = parser.or(0)?;
    if parser.at != parser.tokens.len() {
        return Err(ExpressionError::Syntax(
            "unexpected text after the expression".into(),
        ));
    }
    Ok(expression)
}

fn same_id(a: &str, b: &str) -> bool {
    let canonical = |s: &str| -> String {
        let s = s.trim();
        // `GPL-2.0+` is the deprecated spelling of `GPL-2.0-or-later`.
        match s.strip_suffix('+') {
            Some(base) => format!("{}-or-later", base.to_ascii_lowercase()),
            None => s.to_ascii_lowercase(),
        }
    };
    canonical(a) == canonical(b)
}

impl Expression {
    /// Whether the expression can be satisfied with the `allowed` ids alone.
    pub fn allowed_by(&self, allowed: &[&str]) -> bool {
        match self {
            Expression::Id(id) => allowed.iter().any(|a| same_id(a, id)),
            Expression::With(inner, _) => inner.allowed_by(allowed),
            Expression::And(sides) => sides.iter().all(|s| s.allowed_by(allowed)),
            Expression::Or(sides) => sides.iter().any(|s| s.allowed_by(allowed)),
        }
    }

    /// Whether every way of satisfying the expression uses a `denied` id.
    pub fn denied_by(&self, denied: &[&str]) -> bool {
        match self {
            Expression::Id(id) => denied.iter().any(|d| same_id(d, id)),
            Expression::With(inner, _) => inner.denied_by(denied),
            Expression::And(sides) => sides.iter().any(|s| s.denied_by(denied)),
            Expression::Or(sides) => sides.iter().all(|s| s.denied_by(denied)),
        }
    }

    /// The licence ids it names, in order.
    pub fn ids(&self) -> Vec<&str> {
        match self {
            Expression::Id(id) => vec![id.as_str()],
            Expression::With(inner, _) => inner.ids(),
            Expression::And(sides) | Expression::Or(sides) => {
                sides.iter().flat_map(Expression::ids).collect()
            }
        }
    }
}

/// Trove classifiers (after `License :: `) and `License` field spellings, to SPDX ids.
const KNOWN: &[(&str, &str)] = &[
    ("OSI Approved :: MIT License", "MIT"),
    (
        "OSI Approved :: MIT No Attribution License (MIT-0)",
        "MIT-0",
    ),
    ("OSI Approved :: Apache Software License", "Apache-2.0"),
    ("OSI Approved :: BSD License", "BSD-3-Clause"),
    ("OSI Approved :: ISC License (ISCL)", "ISC"),
    (
        "OSI Approved :: Python Software Foundation License",
        "PSF-2.0",
    ),
    (
        "OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)",
        "MPL-2.0",
    ),
    (
        "OSI Approved :: GNU General Public License v2 (GPLv2)",
        "GPL-2.0-only",
    ),
    (
        "OSI Approved :: GNU General Public License v2 or later (GPLv2+)",
        "GPL-2.0-or-later",
    ),
    (
        "OSI Approved :: GNU General Public License v3 (GPLv3)",
        "GPL-3.0-only",
    ),
    (
        "OSI Approved :: GNU General Public License v3 or later (GPLv3+)",
        "GPL-3.0-or-later",
    ),
    (
        "OSI Approved :: GNU Lesser General Public License v2 (LGPLv2)",
        "LGPL-2.0-only",
    ),
    (
        "OSI Approved :: GNU Lesser General Public License v2 or later (LGPLv2+)",
        "LGPL-2.0-or-later",
    ),
    (
        "OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)",
        "LGPL-3.0-only",
    ),
    (
        "OSI Approved :: GNU Lesser General Public License v3 or later (LGPLv3+)",
        "LGPL-3.0-or-later",
    ),
    (
        "OSI Approved :: GNU Affero General Public License v3",
        "AGPL-3.0-only",
    ),
    (
        "OSI Approved :: GNU Affero General Public License v3 or later (AGPLv3+)",
        "AGPL-3.0-or-later",
    ),
    ("OSI Approved :: The Unlicense (Unlicense)", "Unlicense"),
    ("OSI Approved :: zlib/libpng License", "Zlib"),
    (
        "OSI Approved :: Historical Permission Notice and Disclaimer (HPND)",
        "HPND",
    ),
    (
        "OSI Approved :: Eclipse Public License 2.0 (EPL-2.0)",
        "EPL-2.0",
    ),
    (
        "OSI Approved :: Boost Software License 1.0 (BSL-1.0)",
        "BSL-1.0",
    ),
    (
        "CC0 1.0 Universal (CC0 1.0) Public Domain Dedication",
        "CC0-1.0",
    ),
];

/// Free-text `License` values that name a licence, lower-cased, to SPDX ids.
const SPELLINGS: &[(&str, &str)] = &[
    ("mit", "MIT"),
    ("mit license", "MIT"),
    ("the mit license", "MIT"),
    ("mit licence", "MIT"),
    ("apache 2.0", "Apache-2.0"),
    ("apache-2.0", "Apache-2.0"),
    ("apache 2", "Apache-2.0"),
    ("apache license 2.0", "Apache-2.0"),
    ("apache license, version 2.0", "Apache-2.0"),
    ("apache software license", "Apache-2.0"),
    ("apache software license 2.0", "Apache-2.0"),
    ("bsd", "BSD-3-Clause"),
    ("bsd license", "BSD-3-Clause"),
    ("bsd-3-clause", "BSD-3-Clause"),
    ("3-clause bsd license", "BSD-3-Clause"),
    ("new bsd license", "BSD-3-Clause"),
    ("bsd-2-clause", "BSD-2-Clause"),
    ("isc", "ISC"),
    ("isc license", "ISC"),
    ("psf", "PSF-2.0"),
    ("psf license", "PSF-2.0"),
    ("psf-2.0", "PSF-2.0"),
    ("mpl-2.0", "MPL-2.0"),
    ("mpl 2.0", "MPL-2.0"),
    ("lgpl", "LGPL-2.1-or-later"),
    ("gpl", "GPL-2.0-or-later"),
    ("gplv3", "GPL-3.0-only"),
    ("agplv3", "AGPL-3.0-only"),
    ("unlicense", "Unlicense"),
    ("public domain", "LicenseRef-Public-Domain"),
];

/// SPDX ids common on PyPI: a `License` field that is one of these (or an expression of them)
/// is read as an expression.
const COMMON_IDS: &[&str] = &[
    "MIT",
    "MIT-0",
    "Apache-2.0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "ISC",
    "PSF-2.0",
    "Python-2.0",
    "MPL-2.0",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "GPL-2.0-only",
    "GPL-2.0-or-later",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "AGPL-3.0-only",
    "AGPL-3.0-or-later",
    "Unlicense",
    "CC0-1.0",
    "Zlib",
    "HPND",
    "EPL-2.0",
    "BSL-1.0",
    "0BSD",
    "Artistic-2.0",
    "CNRI-Python",
    "Unicode-3.0",
    "LGPL-2.0-only",
    "LGPL-2.0-or-later",
    "GPL-2.0",
    "GPL-3.0",
    "LGPL-2.1",
    "LGPL-3.0",
    "AGPL-3.0",
];

/// Where a licence was read from, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LicenceSource {
    /// `License-Expression`.
    Expression,
    /// The `License` field.
    Field,
    /// Trove classifiers.
    Classifiers,
}

/// The SPDX expression a distribution's metadata declares or implies, and where it came from.
/// `Ok(None)`: nothing maps. `Err`: `License-Expression` is present but malformed.
pub fn licence_expression(
    licence: &Licence,
) -> Result<Option<(Expression, LicenceSource)>, ExpressionError> {
    if let Some(text) = licence
        .expression
        .as_deref()
        .filter(|t| !t.trim().is_empty())
    {
        return parse_expression(text).map(|e| Some((e, LicenceSource::Expression)));
    }
    if let Some(text) = licence.text.as_deref() {
        let first = text.trim();
        let lower = first.to_ascii_lowercase();
        if let Some((_, id)) = SPELLINGS.iter().find(|(s, _)| *s == lower) {
            return Ok(Some((Expression::Id((*id).into()), LicenceSource::Field)));
        }
        if first.len() <= 200
            && let Ok(e) = parse_expression(first)
            && e.ids().iter().all(|id| {
                COMMON_IDS.iter().any(|c| same_id(c, id)) || id.starts_with("LicenseRef-")
            })
        {
            return Ok(Some((e, LicenceSource::Field)));
        }
    }
    let mapped: Vec<Expression> = licence
        .classifiers
        .iter()
        .filter_map(|c| {
            let c = c.trim();
            let c = c.strip_prefix("License ::").map_or(c, str::trim);
            KNOWN
                .iter()
                .find(|(k, _)| *k == c)
                .map(|(_, id)| Expression::Id((*id).into()))
        })
        .collect();
    Ok(match mapped.len() {
        0 => None,
        // Several licence classifiers: the package is offered under any of them.
        1 => mapped
            .into_iter()
            .next()
            .map(|e| (e, LicenceSource::Classifiers)),
        _ => Some((Expression::Or(mapped), LicenceSource::Classifiers)),
    })
}

/// The expression as SPDX writes it.
impl std::fmt::Display for Expression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let join = |f: &mut std::fmt::Formatter<'_>, sides: &[Expression], op: &str| {
            for (i, side) in sides.iter().enumerate() {
                if i > 0 {
                    write!(f, " {op} ")?;
                }
                match side {
                    Expression::And(_) | Expression::Or(_) => write!(f, "({side})")?,
                    _ => write!(f, "{side}")?,
                }
            }
            Ok(())
        };
        match self {
            Expression::Id(id) => f.write_str(id),
            Expression::With(inner, exception) => write!(f, "{inner} WITH {exception}"),
            Expression::And(sides) => join(f, sides, "AND"),
            Expression::Or(sides) => join(f, sides, "OR"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_parse_and_evaluate() {
        let e = parse_expression("MIT OR (Apache-2.0 AND GPL-3.0-only)")
            .unwrap_or(Expression::Id(String::new()));
        assert_eq!(e.to_string(), "MIT OR (Apache-2.0 AND GPL-3.0-only)");
        assert!(e.allowed_by(&["MIT"]));
        assert!(!e.allowed_by(&["Apache-2.0"]));
        assert!(!e.denied_by(&["GPL-3.0-only"]));
        assert!(e.denied_by(&["GPL-3.0-only", "mit"]));
        let w = parse_expression("GPL-2.0+ WITH Classpath-exception-2.0");
        assert!(w.is_ok_and(|w| w.allowed_by(&["GPL-2.0-or-later"])));
    }

    #[test]
    fn bad_expressions_are_errors() {
        for bad in [
            "",
            "MIT OR",
            "(MIT",
            "MIT)",
            "MIT AND AND BSD",
            "MIT / BSD",
            "A WITH",
        ] {
            assert!(parse_expression(bad).is_err(), "{bad}");
        }
        let deep = format!("{}MIT{}", "(".repeat(40), ")".repeat(40));
        assert_eq!(parse_expression(&deep), Err(ExpressionError::TooDeep));
        assert_eq!(
            parse_expression(&"M".repeat(5000)),
            Err(ExpressionError::TooLong)
        );
    }

    #[test]
    fn fields_and_classifiers_map_to_spdx() {
        let of = |text: Option<&str>, classifiers: &[&str]| {
            licence_expression(&Licence {
                text: text.map(str::to_owned),
                classifiers: classifiers.iter().map(|c| (*c).to_owned()).collect(),
                ..Licence::default()
            })
            .ok()
            .flatten()
            .map(|(e, _)| e.to_string())
        };
        assert_eq!(of(Some("MIT License"), &[]), Some("MIT".into()));
        assert_eq!(
            of(Some("BSD-3-Clause OR MIT"), &[]),
            Some("BSD-3-Clause OR MIT".into())
        );
        assert_eq!(
            of(
                None,
                &["License :: OSI Approved :: Apache Software License"]
            ),
            Some("Apache-2.0".into())
        );
        assert_eq!(
            of(Some("Copyright (c) 2020, all rights reserved"), &[]),
            None
        );
        assert_eq!(of(None, &[]), None);
    }
}
