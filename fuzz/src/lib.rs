//! The reference implementation the fuzz targets compare `qmp-core` with: serde_json.
//!
//! `qmp-core` cannot depend on serde_json, so its hidden fuzz functions take the
//! reference as arguments; the targets pass [`accepts`] and [`render`]. The same file is
//! compiled into `qmp-core/tests/fuzz_regressions.rs` (through `#[path]`), so the
//! committed regressions replay against exactly this reference.
//!
//! # What "serde_json accepts" means here
//!
//! serde_json has no single strict "is this JSON?" entry point, so [`accepts`] combines
//! two of its parsers, each used where it is strict, and documents the one case it
//! leaves to the project's own rules:
//!
//! 1. **Grammar**: `from_slice::<IgnoredAny>`. It checks the full value grammar, string
//!    escapes and control characters, numbers of any size (unlike `Value`, which fails
//!    with "number out of range" on `1e400`: RFC 8259 §6 leaves ranges to the
//!    implementation, and qmp-core's views decide them, not its validator) and trailing
//!    input, and it is iterative, so it has no recursion limit (unlike `Value`, which
//!    stops at 128 levels). It does not check what is inside strings: it skips raw bytes
//!    without UTF-8 validation and `\u` escapes without pairing surrogates.
//! 2. **Strings**: every string token (keys included) parsed on its own with
//!    `from_slice::<String>`, which rejects invalid UTF-8 and unpaired surrogate escapes
//!    (RFC 8259 §8.1 requires UTF-8; §8.2 leaves lone surrogates to the implementation:
//!    serde_json's `String` and qmp-core both reject them, as QEMU does).
//! 3. **Nesting deeper than 1024 levels** is `None`, "cannot judge": serde_json's
//!    `IgnoredAny` has no limit, qmp-core stops at 1024 as QEMU does (`MAX_NESTING`),
//!    and RFC 8259 §9 lets an implementation set one. The project documents its limit
//!    (`scan::DEFAULT_MAX_DEPTH`).

use serde::de::IgnoredAny;

/// The nesting limit qmp-core documents (`scan::MAX_DEPTH_LIMIT`, QEMU's `MAX_NESTING`).
const MAX_DEPTH: usize = 1024;

/// Whether serde_json accepts `doc` as exactly one JSON text (see the module docs), or
/// `None` where the RFC leaves the answer to the implementation and the project has
/// documented its own (nesting deeper than 1024 levels).
pub fn accepts(doc: &[u8]) -> Option<bool> {
    if serde_json::from_slice::<IgnoredAny>(doc).is_err() {
        return Some(false);
    }
    // The grammar is valid, so strings can be found by quotes and backslashes alone.
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let mut i = 0;
    while let Some(&b) = doc.get(i) {
        match b {
            b'"' => {
                let start = i;
                i += 1;
                while let Some(&c) = doc.get(i) {
                    match c {
                        b'"' => break,
                        b'\\' => i += 2,
                        _ => i += 1,
                    }
                }
                let token = &doc[start..(i + 1).min(doc.len())];
                if serde_json::from_slice::<String>(token).is_err() {
                    return Some(false);
                }
            }
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    if deepest > MAX_DEPTH {
        return None;
    }
    Some(true)
}

/// serde_json's rendering of a generated value into `buf`: its length, or `None` if
/// serde_json refuses the value (or it does not fit).
pub fn render(value: &qmp_core::fuzz::Tree<'_>, buf: &mut [u8]) -> Option<usize> {
    let mut cursor = std::io::Cursor::new(buf);
    serde_json::to_writer(&mut cursor, value).ok()?;
    usize::try_from(cursor.position()).ok()
}
