//! Semantics of the interpreter on hand-assembled opcode streams, one per technique.

// Test setup fails loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aigate_pickle::{Encoding, Limit, Limits, Stop, UnresolvedKind, analyze_bytes};

fn globals(data: &[u8]) -> Vec<(String, u32)> {
    analyze_bytes(data, &Limits::default())
        .globals
        .iter()
        .map(|g| (g.dotted(), g.calls))
        .collect()
}

/// Assembles `SHORT_BINUNICODE s`.
fn s(text: &str) -> Vec<u8> {
    let mut out = vec![0x8c, text.len() as u8];
    out.extend_from_slice(text.as_bytes());
    out
}

#[test]
fn protocol0_reduce_is_an_import_and_a_call() {
    assert_eq!(
        globals(b"cos\nsystem\n(S'ls'\ntR."),
        vec![("os.system".into(), 1)]
    );
}

#[test]
fn stack_global_names_through_the_memo_are_resolved() {
    let mut p = vec![0x80, 4];
    p.extend(s("posix"));
    p.extend(b"q\x00"); // BINPUT 0
    p.extend(s("system"));
    p.extend(b"q\x01");
    p.extend(b"0"); // POP
    p.extend(b"0");
    p.extend(b"h\x00h\x01\x93"); // BINGET 0, BINGET 1, STACK_GLOBAL
    p.extend(s("id"));
    p.extend(b"\x85R."); // TUPLE1 REDUCE STOP
    assert_eq!(globals(&p), vec![("posix.system".into(), 1)]);
}

#[test]
fn discarded_and_nested_calls_are_attributed() {
    // builtins.print(builtins.eval('1')) with the outer result popped.
    let p = b"\x80\x02cbuiltins\nprint\ncbuiltins\neval\nX\x01\x00\x00\x001\x85R\x85R0N.";
    let got = globals(p);
    assert_eq!(
        got,
        vec![("builtins.print".into(), 1), ("builtins.eval".into(), 1)]
    );
}

#[test]
fn payload_before_a_parse_error_is_still_reported() {
    let a = analyze_bytes(b"cos\nsystem\n(S'ls'\ntR\xff\xff", &Limits::default());
    assert_eq!(a.globals[0].dotted(), "os.system");
    assert!(
        matches!(a.stop, Some(Stop::Malformed { offset: 20, .. })),
        "{:?}",
        a.stop
    );
}

#[test]
fn stacked_pickles_are_all_analysed() {
    let a = analyze_bytes(
        b"\x80\x02K\x01.cos\nsystem\n(S'id'\ntR.",
        &Limits::default(),
    );
    assert_eq!(a.pickles, 2);
    assert_eq!(a.globals[0].dotted(), "os.system");
}

#[test]
fn frame_lengths_do_not_hide_bytes() {
    // A FRAME claiming 2 bytes, followed by a whole malicious pickle body: `_pickle.c` over
    // a buffered file reads across (`os.system`); over `BytesIO` it drops the `o` left in
    // the frame when the module line goes past its end and reads `s` after it.
    let mut p = vec![0x80, 4, 0x95];
    p.extend(2u64.to_le_bytes());
    p.extend(b"cos\nsystem\n(S'id'\ntR.");
    assert_eq!(
        globals(&p),
        vec![("os.system".into(), 1), ("s.system".into(), 1)]
    );
}

#[test]
fn trailing_bytes_after_a_pickle_are_noted_not_parsed_as_payload() {
    let a = analyze_bytes(b"\x80\x02K\x01.\x00\x01\x02garbage", &Limits::default());
    assert_eq!(a.pickles, 1);
    assert_eq!(a.trailing, Some(5));
    assert!(a.stop.is_none());
}

#[test]
fn base64_embedded_pickle_is_analysed_in_place() {
    use base64::Engine as _;
    let inner = b"\x80\x04cos\nsystem\n(S'id'\ntR.";
    let encoded = base64::engine::general_purpose::STANDARD.encode(inner);
    let mut p = vec![0x80, 4];
    p.extend(s(&encoded));
    p.extend(b".");
    let a = analyze_bytes(&p, &Limits::default());
    assert!(a.globals.is_empty());
    assert_eq!(a.embedded.len(), 1);
    assert_eq!(a.embedded[0].encoding, Encoding::Base64);
    assert_eq!(a.embedded[0].len, encoded.len() as u64);
    // The nested analysis read the decoded pickle to its end: every byte of `inner`.
    assert_eq!(a.embedded[0].analysis.bytes, inner.len() as u64);
    assert_eq!(a.embedded[0].analysis.pickles, 1);
    assert_eq!(a.embedded[0].analysis.globals[0].dotted(), "os.system");
}

#[test]
fn raw_embedded_pickle_in_bytes_is_analysed() {
    let inner = b"\x80\x02cbuiltins\nexec\nX\x01\x00\x00\x00x\x85R.";
    let mut p = vec![0x80, 3, b'C', inner.len() as u8];
    p.extend(inner);
    p.extend(b".");
    let a = analyze_bytes(&p, &Limits::default());
    assert_eq!(a.embedded[0].encoding, Encoding::Raw);
    assert_eq!(a.embedded[0].analysis.globals[0].dotted(), "builtins.exec");
}

#[test]
fn calling_a_call_result_is_unresolved() {
    // getattr(os, 'system')('id') via REDUCE on the result of REDUCE.
    let p = b"cbuiltins\ngetattr\n(cos\nmodule\nS'system'\ntR(S'id'\ntR.";
    let a = analyze_bytes(p, &Limits::default());
    assert_eq!(a.unresolved.len(), 1);
    assert_eq!(a.unresolved[0].kind, UnresolvedKind::Call);
    assert!(a.unresolved[0].what.contains("builtins.getattr"));
}

#[test]
fn ext_codes_are_unresolved_imports() {
    let a = analyze_bytes(b"\x80\x02\x82\x05)R.", &Limits::default());
    assert_eq!(a.unresolved[0].kind, UnresolvedKind::Extension);
}

#[test]
fn build_on_a_global_is_a_mutation() {
    let a = analyze_bytes(b"ccollections\nOrderedDict\n}b.", &Limits::default());
    assert_eq!(a.unresolved[0].kind, UnresolvedKind::GlobalMutation);
}

#[test]
fn calling_plain_data_is_malformed_not_a_call() {
    let a = analyze_bytes(b"K\x01K\x02R.", &Limits::default());
    assert!(a.unresolved.is_empty());
    assert!(matches!(a.stop, Some(Stop::Malformed { .. })));
    assert!(!a.is_pickle());
}

#[test]
fn limits_stop_the_analysis_with_a_named_bound() {
    let limits = Limits {
        max_stack: 10,
        ..Limits::default()
    };
    let mut p = vec![0x80, 2];
    p.extend(std::iter::repeat_n(b'N', 20));
    let a = analyze_bytes(&p, &limits);
    assert!(matches!(
        a.stop,
        Some(Stop::Limit {
            limit: Limit::Stack,
            ..
        })
    ));
}

#[test]
fn text_is_not_a_pickle() {
    for text in [
        &b"# README\nhello"[..],
        b"{\"a\": 1}",
        b"cat > x\nrm -rf /\n",
    ] {
        assert!(
            !analyze_bytes(text, &Limits::default()).is_pickle(),
            "{text:?}"
        );
    }
}

#[test]
fn self_referencing_dict_is_analysed_without_rc_cycles() {
    // d = {}; d["self"] = d, written by pickle.dumps(protocol=2). Values live in an arena, so
    // the cycle cannot leak (the fuzz regression input fuzz/regressions/pickle/ guards the leak
    // itself under LeakSanitizer).
    let p = b"\x80\x02}q\x00X\x04\x00\x00\x00selfq\x01h\x00s.";
    let a = analyze_bytes(p, &Limits::default());
    assert_eq!(a.pickles, 1);
    assert!(a.stop.is_none());
}

fn invoked(data: &[u8], dotted: &str) -> aigate_pickle::Invocations {
    let a = analyze_bytes(data, &Limits::default());
    a.globals
        .iter()
        .find(|g| g.dotted() == dotted)
        .map(|g| g.invoked_by)
        .unwrap_or_else(|| panic!("{dotted} not imported: {:?}", a.globals))
}

#[test]
fn every_kind_of_invocation_is_recorded() {
    // NEWOBJ, BUILD, then REDUCE of the same class.
    let by = invoked(b"\x80\x02clib\nModel\nq\x00)\x81}b0h\x00)R.", "lib.Model");
    assert_eq!((by.newobj, by.build, by.reduce, by.inst), (1, 1, 1, 0));
    assert_eq!(by.total(), 3);
    assert!(by.called());
    // INST and OBJ call the class with arguments.
    let by = invoked(b"(ilib\nModel\n.", "lib.Model");
    assert_eq!((by.newobj, by.build, by.reduce, by.inst), (0, 0, 0, 1));
    let by = invoked(b"(clib\nModel\no.", "lib.Model");
    assert_eq!((by.newobj, by.build, by.reduce, by.inst), (0, 0, 0, 1));
}

#[test]
fn copyreg_reconstructors_are_attributed_to_the_class_they_make() {
    // copy_reg._reconstructor(lib.Bunch, dict, {}) then BUILD: Bunch made and built, dict
    // called (its __new__ and __init__ run with the state).
    let p = b"ccopy_reg\n_reconstructor\n(clib\nBunch\nc__builtin__\ndict\n(dtR(dS'a'\nI1\nsb.";
    let by = invoked(p, "lib.Bunch");
    assert_eq!((by.newobj, by.build, by.reduce), (1, 1, 0));
    assert_eq!(invoked(p, "__builtin__.dict").reduce, 1);
    assert_eq!(invoked(p, "copy_reg._reconstructor").reduce, 1);
    // With object as the base, nothing but the class is made.
    let p = b"ccopyreg\n_reconstructor\n(clib\nBunch\ncbuiltins\nobject\nNtR}b.";
    assert_eq!(invoked(p, "builtins.object").total(), 0);
    // copyreg.__newobj__(cls) and __newobj_ex__(cls, args, kwargs) are NEWOBJ, and a BUILD
    // reaches the class, not the helper.
    let p = b"\x80\x02ccopyreg\n__newobj__\nclib\nModel\n\x85R}b.";
    let by = invoked(p, "lib.Model");
    assert_eq!((by.newobj, by.build, by.reduce), (1, 1, 0));
    assert_eq!(invoked(p, "copyreg.__newobj__").build, 0);
    let p = b"\x80\x02ccopyreg\n__newobj_ex__\nclib\nModel\n)}\x87R}b.";
    let by = invoked(p, "lib.Model");
    assert_eq!((by.newobj, by.build), (1, 1));
}
