//! Data formats that share extensions with models, recognised by their magic numbers so that a
//! name like `.sav` or `.bin` does not make them suspects: IDL save files and SPSS `.sav`
//! (SciPy's `readsav` and `pyreadstat` read them; neither runs code), MATLAB `.mat` level 5
//! files, fastText binaries, and ARFF text. (MATLAB v7.3 files are HDF5 behind a user block,
//! read by the HDF5 reader.) Nothing in them is loaded as code; they are
//! recorded as read.

use std::io;

use aigate_report::Rule;

use crate::dispatch::Cx;
use crate::formats::{FormatScanner, Input, Sniff};
use crate::rules::FORMAT_UNRECOGNIZED;

/// Magic numbers at the start, with the format's name.
const KINDS: &[(&[u8], &str)] = &[
    (b"SR\x00\x04", "idl-save"),
    (b"SR\x00\x06", "idl-save"),
    (b"$FL2", "spss-sav"),
    (b"$FL3", "spss-sav"),
    (b"MATLAB 5.0 MAT-file", "matlab-mat"),
    // fastText's FASTTEXT_FILEFORMAT_MAGIC_INT32, 793712314, little-endian.
    (b"\xba\x16\x4f\x2f", "fasttext"),
];

/// The reader of data files named like models.
pub(crate) struct DataFile;

fn kind(head: &[u8]) -> Option<&'static str> {
    KINDS
        .iter()
        .find(|(magic, _)| head.starts_with(magic))
        .map(|(_, name)| *name)
        .or_else(|| {
            let text = head.get(..head.len().min(512))?;
            let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
            let line = &text[start..];
            (line.len() >= 9 && line[..9].eq_ignore_ascii_case(b"@relation")).then_some("arff")
        })
}

impl FormatScanner for DataFile {
    fn name(&self) -> &'static str {
        "data"
    }

    fn magics(&self) -> &'static [&'static [u8]] {
        &[
            b"SR\x00\x04",
            b"SR\x00\x06",
            b"$FL2",
            b"$FL3",
            b"\xba\x16\x4f\x2f",
        ]
    }

    fn sniff(&self, input: &Sniff<'_>) -> bool {
        kind(input.head).is_some()
    }

    fn malformed_rule(&self) -> &'static Rule {
        &FORMAT_UNRECOGNIZED
    }

    fn scan(&self, cx: &mut Cx<'_>, input: &Input<'_>) -> io::Result<()> {
        let name = kind(input.head).unwrap_or("data");
        let size = input.blob.len().unwrap_or(input.head.len() as u64);
        cx.scanned(input.loc, name, self.version(), size);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_formats_are_told_by_content() {
        assert_eq!(kind(b"SR\x00\x04\x00\x00\x00\x0a"), Some("idl-save"));
        assert_eq!(
            kind(b"MATLAB 5.0 MAT-file, Platform: posix"),
            Some("matlab-mat")
        );
        assert_eq!(kind(b"\n% comment\n@RELATION iris\n"), None);
        assert_eq!(
            kind(b"@RELATION iris\n@ATTRIBUTE a NUMERIC\n"),
            Some("arff")
        );
        assert_eq!(kind(b"cos\nsystem\n"), None);
    }
}
