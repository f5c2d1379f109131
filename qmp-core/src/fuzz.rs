//! Fuzz entry points, shared by the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`, one
//! line each) and by plain `cargo test` (the unit tests in these modules and
//! `tests/fuzz_regressions.rs`, which replays every committed crash regression). Not a
//! stable API.
//!
//! Each function takes raw fuzzer bytes, runs part of the crate on them and panics when a
//! guarantee is broken — that is what the fuzzer looks for — and on nothing else. Like the
//! rest of the crate it allocates nothing: every buffer is on the stack, sized in each
//! harness's module.
//!
//! | function | what it checks |
//! |---|---|
//! | [`frame_chunks()`] | the same bytes framed whole and in fuzzer-chosen chunks (copied or read in through `spare_mut`/`commit`, with `finish` at chosen points, buffers of 1 to 4096 bytes) give exactly the same frames and errors, compared item by item with two framers in lockstep; every frame is the input at its offset, every byte is in a frame, an error region or whitespace between them |
//! | [`json_differential()`] | `validate` and every frame agree with a reference JSON parser (serde_json in the targets) |
//! | [`message_roundtrip()`] | parse → encode → frame → parse gives an equal message; the encoding is compact and ASCII-only, fits an exact buffer and reports `BufferFull` in a short one; `parse_request` agrees with `Message::parse` |
//! | [`encode_arbitrary()`] | arbitrary messages (names, ids, raw and `Serialize` payloads built from the bytes) encode to compact ASCII JSON that validates, that the reference accepts, and that parses back equal; the serializer agrees with the reference serializer; every refusal has a cause |
//! | [`shell_syntax()`] | human command lines: no panic, refusals point inside the line, and an accepted line encodes (compact, ASCII-only) to a request that `parse_request` accepts with the same name and every typed value, meaning the same, at the path its dotted key names |
//! | [`typed_events()`] | typed events, command replies, introspection views over every array, and a `SpiceSessions<4>` tracker fed every SPICE event: no panic, decoded values equal the raw members, the tracker stays bounded and consistent |
//! | [`session_ops()`] | operation sequences against the sessions: a `Client` driven by arbitrary server bytes and calls (pending never above `N` and always the tickets issued and not settled, each settled at most once, `ReplyTooLarge` the oldest, `Busy` exactly when full, refused or failed calls change nothing), a `Server` fed arbitrary client bytes (one CRLF-ended compact reply per item, a return or an error, with the request's id; the same bytes through `Server::feed`, one valid compact reply per outcome), and a client/server pair through fuzzer-chunked pipes (every command answered once with its own reply, every event in order) |
//!
//! The reference parser and serializer come in as arguments, because this crate cannot
//! depend on them:
//!
//! - `reference(bytes) -> Option<bool>`: whether `bytes` is exactly one JSON text, or
//!   `None` where the reference cannot judge (an RFC 8259 implementation-defined limit
//!   that the project documents, such as nesting beyond 1024 levels);
//! - `render(tree, buf) -> Option<usize>`: the reference serializer's JSON for a
//!   [`Tree`] written into `buf`, or `None` if it refuses the value.
//!
//! # Layout
//!
//! One module per harness (named after its function), and what they share:
//!
//! - [`oracle`]: the checks the harnesses and the integration tests judge output with —
//!   JSON texts compared by meaning, the encoder's compact-ASCII form, buffer sizes;
//! - `tokens`: the walks over valid JSON text that the oracle and `typed_events` need
//!   (tokens, nested arrays), kept in one place;
//! - `generator`: [`Tree`], a serde value generated from fuzzer bytes;
//! - `reader`: the byte reader that builds `encode_arbitrary`'s messages.

mod encode_arbitrary;
mod frame_chunks;
mod generator;
mod json_differential;
mod message_roundtrip;
pub mod oracle;
mod reader;
mod session_ops;
mod shell_syntax;
mod tokens;
mod typed_events;

pub use encode_arbitrary::encode_arbitrary;
pub use frame_chunks::frame_chunks;
pub use generator::Tree;
pub use json_differential::json_differential;
pub use message_roundtrip::message_roundtrip;
pub use session_ops::session_ops;
pub use shell_syntax::shell_syntax;
pub use typed_events::typed_events;

use crate::frame::{Frame, FrameError, Framer};
use crate::json::{JsonStr, RawJson};

// Shared helpers

/// Whether `b` is JSON whitespace: the scanner's own byte class, for the tests too.
pub fn is_ws(b: u8) -> bool {
    crate::scan::is_ws(b)
}

/// `bytes`, known to be valid JSON, as a [`RawJson`] (only the public API is used here,
/// so that these checks do not depend on the crate's internals).
fn json(bytes: &[u8]) -> RawJson<'_> {
    RawJson::parse(bytes).expect("valid JSON")
}

/// The JSON string token `token` (quotes included), known to be valid.
fn json_str(token: &[u8]) -> JsonStr<'_> {
    json(token).as_json_str().expect("a JSON string")
}

/// The valid UTF-8 prefix of `bytes`.
fn utf8_prefix(bytes: &[u8]) -> &str {
    match core::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => core::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
    }
}

/// Feed all of `data` to `framer`, then finish, and hand every frame to `f` (errors are
/// dropped: these harnesses check frames; `frame_chunks` checks the feeding itself).
fn for_each_frame<B: AsRef<[u8]> + AsMut<[u8]>>(
    framer: &mut Framer<B>,
    data: &[u8],
    mut f: impl FnMut(Frame<'_>),
) {
    let mut on_item = |item: Result<Frame<'_>, FrameError>| {
        if let Ok(frame) = item {
            f(frame);
        }
    };
    framer.feed(data, &mut on_item);
    framer.finish();
    framer.drain(&mut on_item);
}
