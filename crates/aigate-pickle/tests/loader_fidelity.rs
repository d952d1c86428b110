//! What CPython's unpicklers accept and this reader must accept too: each test is one cause of
//! a divergence the differential oracles found (`fixtures/differential/known.tsv`), with the
//! neutral snippet the mutator inserts before a payload that a loader then reaches.

// Test setup fails loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aigate_pickle::{Limits, analyze_bytes};

/// GLOBAL, MARK, TUPLE, REDUCE, POP: a call of `aigate_mutant.payload` with no stack effect.
const PAYLOAD: &[u8] = b"caigate_mutant\npayload\n(tR0";

fn with_payload(snippet: &[u8]) -> Vec<u8> {
    let mut p = b"\x80\x02".to_vec();
    p.extend_from_slice(snippet);
    p.extend_from_slice(PAYLOAD);
    p.extend_from_slice(b"N.");
    p
}

/// Whether the payload is seen, imported and called.
fn payload_called(data: &[u8]) -> bool {
    analyze_bytes(data, &Limits::default())
        .globals
        .iter()
        .any(|g| g.dotted() == "aigate_mutant.payload" && g.calls > 0)
}

#[track_caller]
fn assert_reaches_payload(snippets: &[&[u8]]) {
    for snippet in snippets {
        let data = with_payload(snippet);
        assert!(
            payload_called(&data),
            "payload not seen after {:?}: {:?}",
            String::from_utf8_lossy(snippet),
            analyze_bytes(&data, &Limits::default()).stop
        );
    }
}

#[test]
fn int_and_long_accept_the_c_unpicklers_number_syntax() {
    // _pickle.c: strtol(s, &end, 0), then PyLong_FromString(s, NULL, 0); pickle.py: int(s, 0).
    assert_reaches_payload(&[
        b"I0x10\n0",
        b"I+5\n0",
        b"I 5\n0",
        b"I5 \n0",
        b"I\t5\n0",
        b"I5\r\n0",
        b"I1_0\n0",
        b"I010\n0",
        b"I0o17\n0",
        b"I0b101\n0",
        b"I0X1F\n0",
        b"L0x10L\n0",
        b"L1_000L\n0",
        b"L 5 L\n0",
        b"L+5\n0",
        b"L0X1F\n0",
        b"L0o17L\n0",
    ]);
}

#[test]
fn put_and_get_indexes_accept_underscores_signs_and_spaces() {
    // PyLong_FromString(s, NULL, 10) in _pickle.c, int(s) in pickle.py.
    assert_reaches_payload(&[
        b"Np1_0\n0g1_0\n0",
        b"Np+1\n0g 1\n0",
        b"Np 7 \n0g7\n0",
        b"Np007\n0g7\n0",
    ]);
}

#[test]
fn float_accepts_pythons_float_syntax() {
    // pickle.py: float(s), which takes underscores and surrounding spaces.
    assert_reaches_payload(&[
        b"F1_0\n0",
        b"F 1\n0",
        b"F1 \n0",
        b"Finf\n0",
        b"Fnan\n0",
        b"F-Infinity\n0",
        b"F1e5\n0",
        b"F.5\n0",
        b"F5.\n0",
        b"F1_0.2_5e1_0\n0",
    ]);
}

#[test]
fn string_strips_trailing_control_bytes_as_the_c_unpickler_does() {
    // _pickle.c load_string strips every trailing byte <= ' ' before checking the quotes.
    assert_reaches_payload(&[b"S'a'\r\n0", b"S'a' \n0", b"S'a'\t\r\n0"]);
}

#[test]
fn build_with_empty_state_on_plain_data_is_a_no_op() {
    // pickle.py load_build: no __setstate__ and a falsy state: nothing happens.
    assert_reaches_payload(&[
        b"]NN\x86b0",
        b"}}b0",
        b"N}b0",
        b"I1\n}b0",
        b"]Nb0",
        b"S'a'\n)b0",
    ]);
}

#[test]
fn reduce_and_newobj_take_any_iterable_as_arguments() {
    // pickle.py load_reduce: func(*args); load_newobj: cls.__new__(cls, *args).
    assert_reaches_payload(&[
        b"cbuiltins\nprint\n]R0",
        b"cbuiltins\nprint\n}R0",
        b"cbuiltins\nprint\nS''\nR0",
        b"cbuiltins\nobject\n]\x810",
    ]);
    let data = with_payload(b"cbuiltins\nprint\n]R0");
    let analysis = analyze_bytes(&data, &Limits::default());
    let print = analysis
        .globals
        .iter()
        .find(|g| g.dotted() == "builtins.print")
        .expect("builtins.print imported");
    assert_eq!(print.calls, 1);
}

/// A regression case of the differential oracles (`oracles/crafted.py` wrote it).
fn crafted(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../fixtures/differential/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

#[test]
fn a_pickle_after_the_frame_its_predecessor_stopped_in_is_read() {
    // PROTO 4, FRAME covering `K\x01.` and junk; then a pickle with the payload, which
    // pickle.load(BytesIO) and pickle._Unpickler read (they resume after the frame).
    assert!(payload_called(&crafted("crafted-frame-stack.pkl")));
    // And the other way round: the C unpickler over a buffered file resumes right after the
    // STOP, inside the frame, where the payload is; the frame ends in junk.
    let mut second = b"\x80\x02".to_vec();
    second.extend_from_slice(PAYLOAD);
    second.extend_from_slice(b"N.");
    let mut framed = b"\x80\x04\x95".to_vec();
    framed.extend_from_slice(&(3 + second.len() as u64).to_le_bytes());
    framed.extend_from_slice(b"K\x01.");
    framed.extend_from_slice(&second);
    framed.extend_from_slice(b"\xff\xff");
    assert!(payload_called(&framed));
}

#[test]
fn array_wrapper_look_alike_bytes_are_read_as_opcodes_too() {
    // A class named NumpyArrayWrapper from a module ending in numpy_pickle: a plain
    // unpickler (and joblib, which checks the real class) reads the 88 "array" bytes as
    // opcodes, and they call the payload.
    assert!(payload_called(&crafted("crafted-fake-array-wrapper.pkl")));
}

#[test]
fn joblib_reads_the_array_after_the_frame_and_the_rest_of_the_frame_after_it() {
    // joblib.dump of an array with its frames merged: the frame holding the wrapper's BUILD
    // also holds a payload; the array bytes follow the frame.
    let data = crafted("crafted-joblib-frame-array.joblib");
    assert!(payload_called(&data));
    let analysis = analyze_bytes(&data, &Limits::default());
    assert_eq!(analysis.stop, None);
    assert_eq!(analysis.pickles, 1);
    assert_eq!(analysis.bytes, data.len() as u64);
}

#[test]
fn array_wrapper_from_another_module_is_an_ordinary_class() {
    // `evil.numpy_pickle.NumpyArrayWrapper` is not joblib's class: joblib does not read an
    // array after its BUILD, and the rest of the pickle (here the payload after the 88
    // bytes) is read with the stack as a plain unpickler leaves it.
    let wrapper = fake_wrapper(b"evil.numpy_pickle");
    let mut data = b"\x80\x04".to_vec();
    data.extend_from_slice(&wrapper);
    data.extend_from_slice(b"cbuiltins\nprint\n(tR0N.");
    let analysis = analyze_bytes(&data, &Limits::default());
    assert_eq!(analysis.stop, None);
    let print = analysis
        .globals
        .iter()
        .find(|g| g.dotted() == "builtins.print");
    assert_eq!(print.map(|g| g.calls), Some(1));
}

/// `oracles/mutate.py`'s `fake_wrapper`: a `NumpyArrayWrapper` of `module` with an 11-float
/// state, whose 88 "array" bytes are the payload, `N0` pairs and pops.
fn fake_wrapper(module: &[u8]) -> Vec<u8> {
    let su = |b: &[u8]| {
        let mut v = vec![0x8c, b.len() as u8];
        v.extend_from_slice(b);
        v
    };
    let mut hidden = PAYLOAD.to_vec();
    for _ in 0..(88 - PAYLOAD.len()) / 2 {
        hidden.extend_from_slice(b"N0");
    }
    hidden.resize(88, b'N');
    let mut out = Vec::new();
    out.extend(su(module));
    out.extend(su(b"NumpyArrayWrapper"));
    out.extend_from_slice(b"\x93)\x81}(");
    out.extend(su(b"dtype"));
    out.extend(su(b"numpy"));
    out.extend(su(b"dtype"));
    out.push(0x93);
    out.extend(su(b"f8"));
    out.extend_from_slice(b"\x89\x88\x87R");
    out.extend(su(b"shape"));
    out.extend_from_slice(b"K\x0b\x85u");
    out.push(b'b');
    out.extend_from_slice(&hidden);
    out.extend(std::iter::repeat_n(
        b'0',
        88 - PAYLOAD.len() - 2 * ((88 - PAYLOAD.len()) / 2),
    ));
    out.push(b'0');
    out
}

#[test]
fn a_global_name_cut_by_the_end_of_input_is_still_resolved() {
    // readline() returns the rest without a newline; both unpicklers drop its last byte
    // and call find_class with what remains.
    let analysis = analyze_bytes(b"\x80\x02csubprocess\nPo", &Limits::default());
    let names: Vec<String> = analysis.globals.iter().map(|g| g.dotted()).collect();
    assert_eq!(names, ["subprocess.P"]);
    assert!(analysis.stop.is_some());
    // One byte is too short for _pickle.c (and leaves nothing for pickle.py).
    assert!(
        analyze_bytes(b"\x80\x02cos\nP", &Limits::default())
            .globals
            .is_empty()
    );
    assert!(
        analyze_bytes(b"\x80\x02co", &Limits::default())
            .globals
            .is_empty()
    );
}

#[test]
fn an_operand_past_a_frames_end_is_read_after_the_frame_by_the_c_unpickler_over_bytesio() {
    // FRAME of 6 bytes: SHORT_BINUNICODE of 16 bytes, 4 of them in the frame. `_pickle.c`
    // over a buffered file reads the 4 and 12 after the frame; over `BytesIO` it drops the
    // 4 and reads the 16 after the frame, then the payload, which the first reading never
    // reaches (it stops at 0xff).
    let mut data = b"\x80\x04\x95".to_vec();
    data.extend_from_slice(&6u64.to_le_bytes());
    data.extend_from_slice(b"\x8c\x10AAAA");
    data.extend_from_slice(&[b'B'; 12]);
    data.extend_from_slice(b"\xff\xff\xff\xff");
    data.push(b'0');
    data.extend_from_slice(PAYLOAD);
    data.extend_from_slice(b"N.");
    assert!(payload_called(&data));
}

#[test]
fn a_line_past_a_frames_end_is_read_after_the_frame_by_the_c_unpickler_over_bytesio() {
    // FRAME of 6 bytes: `cbogus`, a GLOBAL whose module line has no newline in the frame.
    // Read across, the module is `bogusaigate_mutant`; over `BytesIO` the line is read
    // from after the frame: `aigate_mutant`.
    let mut data = b"\x80\x04\x95".to_vec();
    data.extend_from_slice(&6u64.to_le_bytes());
    data.extend_from_slice(b"cbogus");
    data.extend_from_slice(&PAYLOAD[1..]);
    data.extend_from_slice(b"N.");
    let analysis = analyze_bytes(&data, &Limits::default());
    let names: Vec<String> = analysis.globals.iter().map(|g| g.dotted()).collect();
    assert!(
        names.contains(&"bogusaigate_mutant.payload".to_owned()),
        "{names:?}"
    );
    assert!(payload_called(&data), "{names:?}");
}

#[test]
fn a_joblib_array_region_is_read_as_opcodes_on_the_plain_unpicklers_own_stack() {
    // The payload and its arguments are pushed before joblib's real wrapper; its 88
    // "array" bytes pop the wrapper and REDUCE with what is below. joblib skips them; a
    // plain unpickler calls the payload with its own stack, which a fresh stack cannot.
    let mut region = b"0R0".to_vec();
    for _ in 0..42 {
        region.extend_from_slice(b"N0");
    }
    region.push(b'N');
    assert_eq!(region.len(), 88);
    let mut data = b"\x80\x04caigate_mutant\npayload\n)".to_vec();
    let wrapper = fake_wrapper(b"joblib.numpy_pickle");
    // The wrapper's BUILD, then its own 88 region bytes and two POPs.
    let build = wrapper.len() - 91;
    assert_eq!(wrapper[build], b'b');
    data.extend_from_slice(&wrapper[..=build]);
    data.extend_from_slice(&region);
    data.extend_from_slice(b"0N.");
    assert!(payload_called(&data));
}

#[test]
fn a_vendored_wrapper_is_an_ordinary_class_to_standalone_joblib() {
    // A `sklearn.externals.joblib` wrapper inserted in a joblib file, its 88 "array" bytes
    // going past the end of the frame it is in. scikit-learn's vendored joblib reads an array
    // after it and then fails; standalone joblib does not know the class, reads the bytes as
    // opcodes and goes on to the file's own wrappers, whose object array calls `os.system`.
    let analysis = analyze_bytes(&crafted("68c0436a56f9.joblib"), &Limits::default());
    let calls = |dotted: &str| {
        analysis
            .globals
            .iter()
            .find(|g| g.dotted() == dotted)
            .is_some_and(|g| g.calls > 0)
    };
    assert!(calls("aigate_mutant.payload"));
    assert!(calls("posix.system"));
    assert!(calls("numpy._core.multiarray._reconstruct"));
}

#[test]
fn appends_additems_and_setitems_of_no_items_do_nothing_whatever_the_target() {
    // `_pickle.c` returns before it looks at the target when the mark is the top of the
    // stack: an int below an empty APPENDS, ADDITEMS or SETITEMS is no error.
    assert_reaches_payload(&[b"K\x01(e0", b"K\x01(\x900", b"K\x01(u0"]);
}

#[test]
fn a_python_2_string_name_that_is_not_utf8_is_the_latin1_name() {
    // STACK_GLOBAL from two SHORT_BINSTRINGs, the first with byte 0xd5: under
    // `encoding="latin1"` the module is `\u{d5}osix`.
    let data = b"\x80\x02U\x05\xd5osixU\x06system\x93)R.";
    let analysis = analyze_bytes(data, &Limits::default());
    let names: Vec<String> = analysis.globals.iter().map(|g| g.dotted()).collect();
    assert_eq!(names, ["\u{d5}osix.system"]);
}
