//! A spent kept-bytes budget is said once and concludes nothing about code.

// Test setup fails loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aigate_pickle::{Limits, analyze_bytes};

#[test]
fn names_not_kept_for_the_budget_are_not_computed_names() {
    // 200 memoized strings hold the live budget; then STACK_GLOBAL on fresh strings, called.
    let mut p = b"\x80\x04]\x94(".to_vec();
    for i in 0..200 {
        let w = format!("word{i:04}");
        p.push(0x8c);
        p.push(w.len() as u8);
        p.extend_from_slice(w.as_bytes());
        p.push(0x94);
    }
    p.extend_from_slice(b"e\x8c\x0bcollections\x8c\x0bOrderedDict\x93)R0.");
    let limits = Limits {
        max_kept_bytes: 2048,
        ..Limits::default()
    };
    let analysis = analyze_bytes(&p, &limits);
    assert!(analysis.budget_spent.is_some());
    assert!(analysis.unresolved.is_empty(), "{:?}", analysis.unresolved);
    assert_eq!(analysis.stop, None);
    // With the budget of a file this size, the names are known.
    let analysis = analyze_bytes(&p, &Limits::default().scaled(p.len() as u64));
    assert_eq!(analysis.budget_spent, None);
    assert_eq!(analysis.globals[0].dotted(), "collections.OrderedDict");
}

#[test]
fn marks_deeper_than_the_default_limit_fit_the_budget_of_a_file_their_size() {
    // 70,000 MARKs, then a call of `os.system` that every loader reaches (after which it
    // fails on the marks left): the mark stack scales with the input, one mark a byte.
    let mut p = b"\x80\x02".to_vec();
    p.extend(std::iter::repeat_n(b'(', 70_000));
    p.extend_from_slice(b"cos\nsystem\n(S'id'\ntR0.");
    let fixed = analyze_bytes(&p, &Limits::default());
    assert!(
        matches!(
            fixed.stop,
            Some(aigate_pickle::Stop::Limit {
                limit: aigate_pickle::Limit::Marks,
                ..
            })
        ),
        "{:?}",
        fixed.stop
    );
    let scaled = analyze_bytes(&p, &Limits::default().scaled(p.len() as u64));
    assert_eq!(scaled.globals.len(), 1);
    assert_eq!(scaled.globals[0].dotted(), "os.system");
    assert_eq!(scaled.globals[0].calls, 1);
}
