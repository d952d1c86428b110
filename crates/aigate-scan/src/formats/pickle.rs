//! Pickles: with a protocol header, without one (protocols 0 and 1, which must show a pickle's
//! structure unless their name claims one), and PyTorch's legacy format, where `torch.load`
//! reads exactly five stacked pickles (magic number, protocol version, system info, the object,
//! the storage keys) and raw storages follow.

use std::io;

use aigate_report::Rule;

use crate::dispatch::{Claim, Cx, PickleRead};
use crate::findings::Reach;
use crate::formats::{FormatScanner, Input, NameHint, Sniff};
use crate::rules::PICKLE_MALFORMED;

/// The 10-byte LONG1 operand of PyTorch's legacy magic number, 0x1950a86a20f9469cfc6c.
const TORCH_LEGACY_MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

/// A pickle that starts with `PROTO`.
pub(crate) struct Pickle;

impl FormatScanner for Pickle {
    fn name(&self) -> &'static str {
        "pickle"
    }

    fn magics(&self) -> &'static [&'static [u8]] {
        &[b"\x80\x02", b"\x80\x03", b"\x80\x04\x95", b"\x80\x05\x95"]
    }

    fn sniff(&self, input: &Sniff<'_>) -> bool {
        input.head.first() == Some(&0x80) && aigate_pickle::looks_like_pickle_start(input.head)
    }

    fn malformed_rule(&self) -> &'static Rule {
        &PICKLE_MALFORMED
    }

    fn scan(&self, cx: &mut Cx<'_>, input: &Input<'_>) -> io::Result<()> {
        let read = PickleRead {
            format: self.name(),
            version: self.version(),
            max_pickles: None,
            reach: input.hint.reach(),
            claim: Claim::Format,
        };
        cx.pickle(input.blob, input.loc, &read).map(drop)
    }
}

/// Content whose first byte is an opcode but that claims no protocol: a protocol 0 or 1
/// pickle, or text that happens to start with `c`, `(` or `]`. Named like a pickle, it is one;
/// otherwise it must show a pickle's structure (a `STOP`, a call) to be judged one.
pub(crate) struct HeaderlessPickle;

impl FormatScanner for HeaderlessPickle {
    fn name(&self) -> &'static str {
        "pickle"
    }

    fn sniff(&self, input: &Sniff<'_>) -> bool {
        input.hint != NameHint::RawData
            && input
                .head
                .first()
                .is_some_and(|b| aigate_pickle::opcode_name(*b).is_some())
    }

    fn malformed_rule(&self) -> &'static Rule {
        &PICKLE_MALFORMED
    }

    fn scan(&self, cx: &mut Cx<'_>, input: &Input<'_>) -> io::Result<()> {
        let claim = if input.hint == NameHint::Pickle {
            Claim::Name
        } else {
            Claim::None
        };
        let read = PickleRead {
            format: self.name(),
            version: self.version(),
            max_pickles: None,
            reach: Reach::Loaded,
            claim,
        };
        // Text that is no pickle after all is whatever else its name and content say.
        if cx.pickle(input.blob, input.loc, &read)?.is_none() {
            cx.unclaimed(input.blob, input.loc, input.head, input.hint);
        }
        Ok(())
    }
}

/// PyTorch's legacy (pre-1.6) format: stacked pickles after a magic number.
pub(crate) struct TorchLegacy;

impl FormatScanner for TorchLegacy {
    fn name(&self) -> &'static str {
        "pytorch-legacy"
    }

    fn magics(&self) -> &'static [&'static [u8]] {
        &[b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"]
    }

    fn sniff(&self, input: &Sniff<'_>) -> bool {
        matches!(input.head, [0x80, proto, 0x8a, 10, rest @ ..]
            if *proto <= 5 && rest.starts_with(&TORCH_LEGACY_MAGIC))
    }

    fn malformed_rule(&self) -> &'static Rule {
        &PICKLE_MALFORMED
    }

    fn scan(&self, cx: &mut Cx<'_>, input: &Input<'_>) -> io::Result<()> {
        let read = PickleRead {
            format: self.name(),
            version: self.version(),
            max_pickles: Some(5),
            reach: Reach::Loaded,
            claim: Claim::Format,
        };
        cx.pickle(input.blob, input.loc, &read).map(drop)
    }
}
