//! Content sniffing and the per-format scanners.

pub(crate) mod npy;
pub(crate) mod tar;
pub(crate) mod zip;

use crate::findings::Reach;
use crate::source::Codec;

/// Bytes read from the start of every input to sniff it (a tar header needs 262).
pub(crate) const HEAD: usize = 512;

/// joblib 0.9's zfile: `ZF`, the length as hex padded to 19 characters, then a zlib stream.
pub(crate) const ZFILE_HEADER: u64 = 2 + 19;

/// The 10-byte LONG1 operand of PyTorch's legacy magic number, 0x1950a86a20f9469cfc6c.
const TORCH_LEGACY_MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

/// What a sniff decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Zip,
    Tar,
    Npy,
    Compressed(Codec),
    JoblibZfile,
    Unsupported(&'static str),
    TorchLegacy,
    Pickle,
    Unknown,
}

/// What a name suggests, never decides: a strong pickle name makes unrecognised content a
/// finding; raw-data members are analysed only for recognised formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hint {
    Pickle,
    RawData,
    None,
}

const PICKLE_EXTENSIONS: &[&str] = &[
    "pkl", "pickle", "pt", "pth", "ckpt", "joblib", "jbl", "npy", "npz", "sav", "p", "dill",
];
const COMPRESSED_EXTENSIONS: &[&str] = &["z", "gz", "bz2", "xz", "lzma", "lz4", "zlib"];

impl Hint {
    pub(crate) fn from_name(name: &str) -> Hint {
        let base = name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(name)
            .to_ascii_lowercase();
        let mut parts = base.rsplit('.');
        let Some(ext) = parts.next().filter(|_| base.contains('.')) else {
            return Hint::None;
        };
        let ext = if COMPRESSED_EXTENSIONS.contains(&ext) {
            match parts.next() {
                Some(inner) if base.matches('.').count() >= 2 => inner,
                _ => return Hint::None,
            }
        } else {
            ext
        };
        if PICKLE_EXTENSIONS.contains(&ext) {
            Hint::Pickle
        } else {
            Hint::None
        }
    }

    pub(crate) fn reach(self) -> Reach {
        match self {
            Hint::RawData => Reach::RawData,
            _ => Reach::Loaded,
        }
    }
}

/// Whether the first byte is an opcode, so that the content may be a protocol 0 or 1 pickle.
pub(crate) fn may_start_pickle(head: &[u8]) -> bool {
    head.first()
        .is_some_and(|b| aigate_pickle::opcode_name(*b).is_some())
}

/// Decides a format from the first bytes.
pub(crate) fn sniff(head: &[u8]) -> Format {
    match head {
        [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] | [b'P', b'K', 7, 8, ..] => Format::Zip,
        [0x93, b'N', b'U', b'M', b'P', b'Y', ..] => Format::Npy,
        [0x1f, 0x8b, ..] => Format::Compressed(Codec::Gzip),
        [b'B', b'Z', b'h', b'1'..=b'9', ..] => Format::Compressed(Codec::Bzip2),
        [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => Format::Compressed(Codec::Xz),
        [0x04, 0x22, 0x4d, 0x18, ..] => Format::Compressed(Codec::Lz4),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Format::Unsupported("zstd"),
        [b'Z', b'F', b'0', b'x', ..] => Format::JoblibZfile,
        [0x5d, 0, 0, ..] => Format::Compressed(Codec::Lzma),
        [0x78, flags, ..] if (0x7800u16 | u16::from(*flags)) % 31 == 0 => {
            Format::Compressed(Codec::Zlib)
        }
        [0x80, proto, 0x8a, 10, rest @ ..]
            if *proto <= 5 && rest.starts_with(&TORCH_LEGACY_MAGIC) =>
        {
            Format::TorchLegacy
        }
        _ if aigate_pickle::looks_like_pickle_start(head) && head[0] == 0x80 => Format::Pickle,
        _ if head.len() >= 262 && &head[257..262] == b"ustar" => Format::Tar,
        _ => Format::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_only_hint() {
        assert_eq!(Hint::from_name("model.pkl"), Hint::Pickle);
        assert_eq!(Hint::from_name("dir/model.joblib.xz"), Hint::Pickle);
        assert_eq!(Hint::from_name("weights.bin"), Hint::None);
        assert_eq!(Hint::from_name("archive.gz"), Hint::None);
        assert_eq!(Hint::from_name("README"), Hint::None);
    }

    #[test]
    fn sniffs_by_content() {
        assert_eq!(sniff(b"PK\x03\x04rest"), Format::Zip);
        assert_eq!(sniff(b"\x78\x9cdata"), Format::Compressed(Codec::Zlib));
        assert_eq!(sniff(b"xylophone"), Format::Unknown);
        assert_eq!(sniff(b"\x80\x04\x95\x00"), Format::Pickle);
        assert_eq!(sniff(b"cos\nsystem\n"), Format::Unknown);
    }
}
