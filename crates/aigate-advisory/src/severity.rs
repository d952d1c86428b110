//! Severity from CVSS vectors (v3.0, v3.1 and v4.0 base scores, computed by RustSec's `cvss`
//! crate, which follows the FIRST specifications), else from a record's
//! `database_specific.severity` (GitHub's `CRITICAL`, `HIGH`, `MODERATE`, `LOW`).
//!
//! Scores map to severities as CVSS's own qualitative scale does: 0.0 none (info), 0.1–3.9
//! low, 4.0–6.9 medium, 7.0–8.9 high, 9.0–10.0 critical. Of several vectors the highest wins.

use std::str::FromStr;

use aigate_report::Severity;

use crate::osv::Rating;

/// The severity of a CVSS base score.
pub fn of_score(score: f64) -> Severity {
    if score >= 9.0 {
        Severity::Critical
    } else if score >= 7.0 {
        Severity::High
    } else if score >= 4.0 {
        Severity::Medium
    } else if score > 0.0 {
        Severity::Low
    } else {
        Severity::Info
    }
}

/// The base score of a CVSS v3.x or v4.0 vector, if it parses.
pub fn base_score(vector: &str) -> Option<f64> {
    match cvss::Cvss::from_str(vector.trim()).ok()? {
        cvss::Cvss::CvssV30(v) | cvss::Cvss::CvssV31(v) => Some(v.base_score().value()),
        cvss::Cvss::CvssV40(v) => Some(v.score().value()),
        _ => None,
    }
}

/// The rating of a record: the highest-scoring parseable `CVSS_V3`/`CVSS_V4` vector among
/// `vectors` (type, vector), else the `database_specific.severity` word.
pub fn rate(vectors: &[(String, String)], fallback: Option<&str>) -> Option<Rating> {
    let best = vectors
        .iter()
        .filter(|(t, _)| matches!(t.as_str(), "CVSS_V3" | "CVSS_V4"))
        .filter_map(|(_, v)| base_score(v).map(|s| (s, v)))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    if let Some((score, vector)) = best {
        return Some(Rating {
            severity: of_score(score),
            score: Some(score),
            source: vector.clone(),
        });
    }
    let word = fallback?.trim();
    let severity = match word.to_ascii_uppercase().as_str() {
        "CRITICAL" => Severity::Critical,
        "HIGH" => Severity::High,
        "MODERATE" | "MEDIUM" => Severity::Medium,
        "LOW" => Severity::Low,
        _ => return None,
    };
    Some(Rating {
        severity,
        score: None,
        source: format!("database_specific.severity: {word}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 9.8 is NVD's published score for the first vector; the second is worked by hand from the
    /// CVSS 3.1 formulas (exploitability 8.22·0.55·0.77·0.62·0.62 = 1.338, impact 6.42·0.22 =
    /// 1.412, round up 2.750 → 2.8).
    #[test]
    fn v3_and_v4_base_scores_match_the_published_ones() {
        assert_eq!(
            base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            Some(9.8)
        );
        assert_eq!(
            base_score("CVSS:3.1/AV:L/AC:L/PR:L/UI:R/S:U/C:L/I:N/A:N"),
            Some(2.8)
        );
        // FIRST's CVSS v4.0 calculator gives 9.3 for this vector.
        assert_eq!(
            base_score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"),
            Some(9.3)
        );
        assert_eq!(base_score("CVSS:3.1/AV:X"), None);
    }

    #[test]
    fn the_highest_vector_wins_and_the_word_is_the_fallback() {
        let v = |t: &str, s: &str| (t.to_owned(), s.to_owned());
        let r = rate(
            &[
                v("CVSS_V3", "CVSS:3.1/AV:L/AC:L/PR:L/UI:R/S:U/C:L/I:N/A:N"),
                v("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
                v("CVSS_V3", "garbage"),
            ],
            Some("LOW"),
        )
        .unwrap();
        assert_eq!((r.severity, r.score), (Severity::Critical, Some(9.8)));
        let r = rate(&[v("CVSS_V3", "garbage")], Some("MODERATE")).unwrap();
        assert_eq!((r.severity, r.score), (Severity::Medium, None));
        assert_eq!(rate(&[], Some("whatever")), None);
        assert_eq!(of_score(0.0), Severity::Info);
        assert_eq!(of_score(4.0), Severity::Medium);
    }
}
