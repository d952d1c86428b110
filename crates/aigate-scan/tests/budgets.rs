//! Budgets that tell the truth: spending one never manufactures findings about code, the
//! budgets fit real files and grow with them, and repetition makes one finding with a count.
//! Samples are assembled opcode by opcode; nothing is loaded.

// Test setup fails loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aigate_scan::ScanLimits;
use common::{rules, scan};

/// `SHORT_BINUNICODE text`.
fn su(out: &mut Vec<u8>, text: &str) {
    out.push(0x8c);
    out.push(text.len() as u8);
    out.extend_from_slice(text.as_bytes());
}

/// A protocol 4 list of `words` distinct memoized strings, appended 1000 at a time as
/// `pickle` writes them, then `tail`, then STOP.
fn vocabulary(words: usize, tail: &[u8]) -> Vec<u8> {
    let mut p = b"\x80\x04]\x94".to_vec();
    for chunk in (0..words).collect::<Vec<_>>().chunks(1000) {
        p.push(b'(');
        for i in chunk {
            su(&mut p, &format!("w{i}"));
            p.push(0x94);
        }
        p.push(b'e');
    }
    p.extend_from_slice(tail);
    p.push(b'.');
    p
}

/// `collections.OrderedDict()` by STACK_GLOBAL on fresh strings, its result dropped.
fn ordered_dict_call() -> Vec<u8> {
    let mut t = Vec::new();
    su(&mut t, "collections");
    su(&mut t, "OrderedDict");
    t.extend_from_slice(b"\x93)R0");
    t
}

#[test]
fn spent_text_budget_does_not_make_names_computed() {
    // A benign vocabulary larger than the configured kept-bytes limit, then a class named
    // by fresh strings: the limit grows with the file, and had it been spent the names would
    // be unknown, never a dynamic import.
    let mut limits = ScanLimits::default();
    limits.pickle.max_kept_bytes = 1 << 20;
    let data = vocabulary(100_000, &ordered_dict_call());
    let found = scan(&data, "vocab.pkl", limits);
    assert!(
        !rules(&found).contains(&"pickle-dynamic-import"),
        "{:?}",
        rules(&found)
    );
    assert!(
        !rules(&found).contains(&"pickle-indirect-call"),
        "{:?}",
        rules(&found)
    );
}

#[test]
fn a_vocabulary_of_1_2_million_words_fits_the_budgets() {
    // 1.2 M memoized strings: more memo entries than 2^20, and more kept text than 64 MiB
    // once counted over the whole analysis.
    let data = vocabulary(1_200_000, &ordered_dict_call());
    let found = scan(&data, "vocab.pkl", ScanLimits::default());
    assert_eq!(rules(&found), Vec::<&str>::new());
}

#[test]
fn a_million_calls_of_one_unknown_global_make_one_finding() {
    // STACK_GLOBAL on fresh strings, EMPTY_TUPLE, REDUCE, POP, a million times (14 MB).
    let mut one = Vec::new();
    su(&mut one, "foo");
    su(&mut one, "bar");
    one.extend_from_slice(b"\x93)R0");
    let mut data = b"\x80\x04".to_vec();
    for _ in 0..1_000_000 {
        data.extend_from_slice(&one);
    }
    data.extend_from_slice(b"N.");
    let found = scan(&data, "many.pkl", ScanLimits::default());
    assert_eq!(rules(&found), ["pickle-unknown-global"]);
    let finding = &found.findings[0];
    assert_eq!(
        finding.details.get("imports").map(String::as_str),
        Some("1000000")
    );
    assert_eq!(
        finding.details.get("calls").map(String::as_str),
        Some("1000000")
    );
}
