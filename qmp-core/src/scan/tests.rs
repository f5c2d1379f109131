//! Spec vectors for the scanner, each also fed one byte at a time.

use super::*;

/// Scan `input` whole and one byte at a time; both must agree. Returns the first error,
/// or the number of complete top-level values after `finish`.
fn run(input: &[u8], config: ScanConfig) -> Result<usize, ScanError> {
    let whole = run_chunked(input, input.len().max(1), config);
    let bytewise = run_chunked(input, 1, config);
    assert_eq!(whole, bytewise, "chunking changed the result for {input:?}");
    whole
}

fn run_chunked(input: &[u8], chunk: usize, config: ScanConfig) -> Result<usize, ScanError> {
    let mut s = Scanner::with_config(config);
    let mut values = 0;
    for piece in input.chunks(chunk) {
        let mut rest = piece;
        loop {
            let (used, step) = s.scan(rest);
            rest = &rest[used..];
            match step {
                Step::NeedMore => break,
                Step::Complete => values += 1,
                Step::Error(e) => return Err(e),
            }
        }
    }
    if s.finish()? {
        values += 1;
    }
    Ok(values)
}

fn ok(input: &str) -> usize {
    match run(input.as_bytes(), ScanConfig::json()) {
        Ok(n) => n,
        Err(e) => panic!("{input:?} rejected: {e}"),
    }
}

fn err(input: &[u8]) -> ScanError {
    match run(input, ScanConfig::json()) {
        Ok(n) => panic!("{input:?} accepted as {n} values"),
        Err(e) => e,
    }
}

#[test]
fn accepts_every_value_kind() {
    for input in [
        "{}",
        "[]",
        "\"\"",
        "0",
        "-0",
        "12",
        "-12.5e+3",
        "1E-7",
        "0.41999999999999998",
        "1.8446744073709552e+19",
        "18446744073709551615",
        "-9223372036854775808",
        "true",
        "false",
        "null",
        "{\"a\": [1, {\"b\": null}, \"c\"], \"d\": {}}",
        "[[[[]]], {}, [{}]]",
        "\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\u00E9 \\uD83D\\uDE00\"",
        "\"caf\u{e9} \u{20ac} \u{1f600} \u{7f}\"",
        " \t\r\n{ \"a\" : 1 , \"b\" : [ 1 , 2 ] } \r\n",
    ] {
        assert_eq!(ok(input), 1, "{input:?}");
    }
}

#[test]
fn counts_concatenated_values() {
    assert_eq!(ok("{}{}[]"), 3);
    assert_eq!(ok("1 2 3"), 3);
    assert_eq!(ok("\"a\"\"b\""), 2);
    assert_eq!(ok("true[]null"), 3);
    assert_eq!(ok("{\"return\": {}}\r\n{\"return\": {}}\r\n"), 2);
    assert_eq!(ok(""), 0);
    assert_eq!(ok(" \r\n "), 0);
}

#[test]
fn rejects_with_kind_and_offset() {
    use ScanErrorKind::*;
    let cases: &[(&[u8], ScanErrorKind, u64)] = &[
        (b"{,}", UnexpectedByte, 1),
        (b"[1,]", UnexpectedByte, 3),
        (b"{\"a\" 1}", UnexpectedByte, 5),
        (b"{\"a\":1,}", UnexpectedByte, 7),
        (b"{1:1}", UnexpectedByte, 1),
        (b"[1 2]", UnexpectedByte, 3),
        (b"]", UnexpectedByte, 0),
        (b"{]", UnexpectedByte, 1),
        (b"[}", UnexpectedByte, 1),
        (b"'a'", UnexpectedByte, 0),
        (b"\xEF\xBB\xBF{}", UnexpectedByte, 0),
        (b"\"a\x01\"", ControlCharacter, 2),
        (b"\"a\nb\"", ControlCharacter, 2),
        (b"\"\\x\"", InvalidEscape, 2),
        (b"\"\\'\"", InvalidEscape, 2),
        (b"\"\\u12G4\"", InvalidHexEscape, 5),
        (b"\"\\uD800\"", LoneSurrogate, 7),
        (b"\"\\uD800\\n\"", LoneSurrogate, 8),
        (b"\"\\uD800\\u0041\"", LoneSurrogate, 12),
        (b"\"\\uDC00\"", LoneSurrogate, 6),
        (b"\"\\uDE00\\uD83D\"", LoneSurrogate, 6),
        (b"\"\xC0\x80\"", InvalidUtf8, 1),
        (b"\"\xC1\xBF\"", InvalidUtf8, 1),
        (b"\"\xE0\x80\x80\"", InvalidUtf8, 2),
        (b"\"\xED\xA0\x80\"", InvalidUtf8, 2),
        (b"\"\xF0\x80\x80\x80\"", InvalidUtf8, 2),
        (b"\"\xF4\x90\x80\x80\"", InvalidUtf8, 2),
        (b"\"\xF5\x80\x80\x80\"", InvalidUtf8, 1),
        (b"\"\x80\"", InvalidUtf8, 1),
        (b"\"\xC3\"", InvalidUtf8, 2),
        (b"\"\xFF\"", InvalidUtf8, 1),
        (b"01", InvalidNumber, 1),
        (b"-", UnexpectedEnd, 1),
        (b"-a", InvalidNumber, 1),
        (b"1.", UnexpectedEnd, 2),
        (b"1.e5", InvalidNumber, 2),
        (b"1e", UnexpectedEnd, 2),
        (b"1e+", UnexpectedEnd, 3),
        (b"[1e+]", InvalidNumber, 4),
        (b"+1", UnexpectedByte, 0),
        (b".5", UnexpectedByte, 0),
        (b"123abc", InvalidNumber, 3),
        (b"[0x1]", InvalidNumber, 2),
        (b"tru", UnexpectedEnd, 3),
        (b"trUe", InvalidLiteral, 2),
        (b"truex", InvalidLiteral, 4),
        (b"[nul]", InvalidLiteral, 4),
        (b"True", UnexpectedByte, 0),
        (b"{\"a\": ", UnexpectedEnd, 6),
        (b"\"abc", UnexpectedEnd, 4),
        (b"[[[", UnexpectedEnd, 3),
    ];
    for &(input, kind, offset) in cases {
        assert_eq!(err(input), ScanError { kind, offset }, "{input:?}");
    }
}

#[test]
fn depth_limit() {
    let deep = [b'['; 1024];
    // 1024 open arrays are allowed; the input just ends early.
    assert_eq!(err(&deep).kind, ScanErrorKind::UnexpectedEnd);
    let mut too_deep = [b'['; 1025];
    too_deep[1024] = b'{';
    assert_eq!(
        err(&too_deep),
        ScanError {
            kind: ScanErrorKind::TooDeep,
            offset: 1024
        }
    );
    let mut balanced = [0u8; 2048];
    balanced[..1024].fill(b'[');
    balanced[1024..].fill(b']');
    assert_eq!(ok(core::str::from_utf8(&balanced).unwrap()), 1);

    let shallow = ScanConfig::json().with_max_depth(2);
    assert_eq!(run(b"[{}]", shallow), Ok(1));
    assert_eq!(
        run(b"[{\"a\":[]}]", shallow),
        Err(ScanError {
            kind: ScanErrorKind::TooDeep,
            offset: 6
        })
    );
}

#[test]
fn objects_and_arrays_interleave_across_stack_words() {
    // Alternate containers so that every bit of the stack is both set and cleared.
    let mut doc = [0u8; 400 * 6 + 400 * 2];
    let mut n = 0;
    for i in 0..400 {
        let open: &[u8] = if i % 3 == 1 { b"{\"k\":" } else { b"[" };
        doc[n..n + open.len()].copy_from_slice(open);
        n += open.len();
    }
    for i in (0..400).rev() {
        doc[n] = if i % 3 == 1 { b'}' } else { b']' };
        n += 1;
    }
    assert_eq!(ok(core::str::from_utf8(&doc[..n]).unwrap()), 1);
}

#[test]
fn line_start_interrupts_only_when_configured() {
    let input = b"[1,\n{\"a\":1}]";
    assert_eq!(run(input, ScanConfig::json()), Ok(1));
    let qmp = ScanConfig::qmp();
    assert_eq!(
        run(input, qmp),
        Err(ScanError {
            kind: ScanErrorKind::Interrupted,
            offset: 4
        })
    );
    // Indented, or not at a value position: no interruption.
    assert_eq!(run(b"[1,\n  {\"a\":1}]", qmp), Ok(1));
    assert_eq!(run(b"{\n\"a\":\n{}}", qmp).unwrap_err().offset, 7);
    assert_eq!(run(b"{}\n{}", qmp), Ok(2));
}

#[test]
fn string_fast_path_boundaries() {
    // Special bytes at every position of the 8-byte word.
    for pos in 0..20 {
        let mut s = [b'a'; 24];
        s[0] = b'"';
        s[pos + 1] = b'"';
        let text = core::str::from_utf8(&s[..pos + 2]).unwrap();
        assert_eq!(ok(text), 1, "{text:?}");
        for bad in [0x00u8, 0x1F, 0x80, 0xC3] {
            let mut s = [b'a'; 24];
            s[0] = b'"';
            s[23] = b'"';
            s[pos + 1] = bad;
            let e = err(&s);
            assert_eq!(e.offset, pos as u64 + 1 + u64::from(bad == 0xC3), "{s:?}");
        }
    }
    // A backslash escape straddling the word boundary.
    assert_eq!(ok("\"aaaaaa\\\"aaaaaaaa\""), 1);
    assert_eq!(ok("\"aaaaaaa\\u00e9aaaa\""), 1);
}

#[test]
fn validate_whole_documents() {
    assert!(validate(b"{}").is_ok());
    assert!(validate(b"  42  ").is_ok());
    assert!(validate(b"\"x\"\r\n").is_ok());
    assert_eq!(validate(b"{}x").unwrap_err().offset, 2);
    assert_eq!(validate(b"1 2").unwrap_err().offset, 2);
    assert_eq!(
        validate(b"   ").unwrap_err().kind,
        ScanErrorKind::UnexpectedEnd
    );
}

#[test]
fn reset_and_offsets() {
    let mut s = Scanner::new();
    assert_eq!(s.scan(b"  {\"a\""), (6, Step::NeedMore));
    assert_eq!(s.value_start(), 2);
    assert_eq!(s.depth(), 1);
    assert!(matches!(s.scan(b"?"), (0, Step::Error(_))));
    // After an error nothing is accepted until reset.
    assert!(matches!(s.scan(b"{}"), (0, Step::Error(_))));
    s.reset(100, b'\n');
    assert_eq!(s.scan(b"{}"), (2, Step::Complete));
    assert_eq!(s.value_start(), 100);
    assert_eq!(s.offset(), 102);
    assert!(s.is_idle());
}

#[test]
fn every_byte_value_at_every_word_position() {
    // The eight-byte fast path must classify each byte exactly as the byte-wise rules do:
    // printable ASCII other than `"` and `\` continues the string, anything else stops it.
    for v in 0..=255u8 {
        for pos in 0..17 {
            let mut s = [b'a'; 20];
            s[0] = b'"';
            s[19] = b'"';
            s[pos + 1] = v;
            let got = run(&s, ScanConfig::json());
            let plain = (0x20..0x80).contains(&v) && v != b'"' && v != b'\\';
            match v {
                _ if plain => assert_eq!(got, Ok(1), "{v:#x} at {pos}"),
                // Closes the string early: the rest is a stray `a`.
                b'"' => assert_eq!(got.unwrap_err().offset, pos as u64 + 2),
                // `\a` is not an escape.
                b'\\' => assert_eq!(got.unwrap_err().kind, ScanErrorKind::InvalidEscape),
                _ => {
                    let e = got.unwrap_err();
                    let at = pos as u64 + 1;
                    // A valid lead byte fails at the next byte (`a` is no continuation).
                    assert!(e.offset == at || e.offset == at + 1, "{v:#x} at {pos}: {e}");
                }
            }
        }
    }
}
