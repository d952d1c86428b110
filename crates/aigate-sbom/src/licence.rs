//! The Hugging Face Hub's licence identifiers (the `license:` of a model card, as the Hub's
//! licence list spells them) mapped to SPDX licence list ids, and `LicenseRef-` ids for the
//! licences SPDX does not list.

use crate::Licence;

/// Hub identifiers with an SPDX licence list equivalent. The Hub's unversioned GNU ids name
/// the `-only` licences, as the SPDX list's deprecated ids of the same spelling did.
const HUB_TO_SPDX: &[(&str, &str)] = &[
    ("afl-3.0", "AFL-3.0"),
    ("agpl-3.0", "AGPL-3.0-only"),
    ("apache-2.0", "Apache-2.0"),
    ("artistic-2.0", "Artistic-2.0"),
    ("bsd-2-clause", "BSD-2-Clause"),
    ("bsd-3-clause", "BSD-3-Clause"),
    ("bsd-3-clause-clear", "BSD-3-Clause-Clear"),
    ("bsl-1.0", "BSL-1.0"),
    ("c-uda", "C-UDA-1.0"),
    ("cc-by-2.0", "CC-BY-2.0"),
    ("cc-by-2.5", "CC-BY-2.5"),
    ("cc-by-3.0", "CC-BY-3.0"),
    ("cc-by-4.0", "CC-BY-4.0"),
    ("cc-by-nc-2.0", "CC-BY-NC-2.0"),
    ("cc-by-nc-3.0", "CC-BY-NC-3.0"),
    ("cc-by-nc-4.0", "CC-BY-NC-4.0"),
    ("cc-by-nc-nd-3.0", "CC-BY-NC-ND-3.0"),
    ("cc-by-nc-nd-4.0", "CC-BY-NC-ND-4.0"),
    ("cc-by-nc-sa-2.0", "CC-BY-NC-SA-2.0"),
    ("cc-by-nc-sa-3.0", "CC-BY-NC-SA-3.0"),
    ("cc-by-nc-sa-4.0", "CC-BY-NC-SA-4.0"),
    ("cc-by-nd-4.0", "CC-BY-ND-4.0"),
    ("cc-by-sa-3.0", "CC-BY-SA-3.0"),
    ("cc-by-sa-4.0", "CC-BY-SA-4.0"),
    ("cc0-1.0", "CC0-1.0"),
    ("cdla-permissive-1.0", "CDLA-Permissive-1.0"),
    ("cdla-permissive-2.0", "CDLA-Permissive-2.0"),
    ("cdla-sharing-1.0", "CDLA-Sharing-1.0"),
    ("ecl-2.0", "ECL-2.0"),
    ("epl-1.0", "EPL-1.0"),
    ("epl-2.0", "EPL-2.0"),
    ("etalab-2.0", "etalab-2.0"),
    ("eupl-1.1", "EUPL-1.1"),
    ("eupl-1.2", "EUPL-1.2"),
    ("gpl-2.0", "GPL-2.0-only"),
    ("gpl-3.0", "GPL-3.0-only"),
    ("isc", "ISC"),
    ("lgpl-2.1", "LGPL-2.1-only"),
    ("lgpl-3.0", "LGPL-3.0-only"),
    ("lgpl-lr", "LGPLLR"),
    ("lppl-1.3c", "LPPL-1.3c"),
    ("mit", "MIT"),
    ("mpl-2.0", "MPL-2.0"),
    ("ms-pl", "MS-PL"),
    ("ncsa", "NCSA"),
    ("odbl", "ODbL-1.0"),
    ("odc-by", "ODC-By-1.0"),
    ("ofl-1.1", "OFL-1.1"),
    ("osl-3.0", "OSL-3.0"),
    ("pddl", "PDDL-1.0"),
    ("postgresql", "PostgreSQL"),
    ("unlicense", "Unlicense"),
    ("wtfpl", "WTFPL"),
    ("zlib", "Zlib"),
];

/// A model card's `license:` value: the SPDX id when the Hub id has one, else the Hub's name
/// (`llama3.1`, `openrail`) to be written as a named licence. `other` and `unknown` say nothing.
pub fn hub_licence(id: &str) -> Option<Licence> {
    let id = id.trim();
    let lower = id.to_ascii_lowercase();
    if lower.is_empty() || lower == "other" || lower == "unknown" {
        return None;
    }
    Some(
        match HUB_TO_SPDX.binary_search_by(|(hub, _)| (*hub).cmp(lower.as_str())) {
            Ok(i) => Licence::Expression(HUB_TO_SPDX[i].1.to_owned()),
            Err(_) => Licence::Name(id.to_owned()),
        },
    )
}

/// The `LicenseRef-` id an SPDX document gives a licence known only by name: the name's
/// letters, digits, `.` and `-`, the rest as `-`.
pub fn licence_ref(name: &str) -> String {
    let id: String = name
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let id = id.trim_matches('-');
    if id.is_empty() {
        "LicenseRef-unnamed".to_owned()
    } else {
        format!("LicenseRef-{id}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_for_its_binary_search() {
        assert!(HUB_TO_SPDX.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn hub_ids_map_to_spdx_ids_or_stay_names() {
        assert_eq!(
            hub_licence("apache-2.0"),
            Some(Licence::Expression("Apache-2.0".into()))
        );
        assert_eq!(
            hub_licence("GPL-3.0"),
            Some(Licence::Expression("GPL-3.0-only".into()))
        );
        assert_eq!(
            hub_licence("llama3.1"),
            Some(Licence::Name("llama3.1".into()))
        );
        assert_eq!(hub_licence("other"), None);
        assert_eq!(licence_ref("llama3.1"), "LicenseRef-llama3.1");
        assert_eq!(licence_ref("Acme EULA v2"), "LicenseRef-Acme-EULA-v2");
        assert_eq!(licence_ref("??"), "LicenseRef-unnamed");
    }
}
