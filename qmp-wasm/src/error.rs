//! The one mapping of errors into JS: every error this crate hands to JS is a JS `Error`
//! whose `name` says what kind it is and whose own properties say where.
//!
//! | `name` | from | properties |
//! |---|---|---|
//! | `FramingError` | bytes that are not JSON, or a message larger than the buffer | `offset` (stream offset where the dropped bytes begin), `skipped` (how many), `reason` (`"invalid"` or `"too-large"`), `errorOffset` (the offending byte, for `"invalid"`) |
//! | `NotQmpError` | valid JSON that is not a QMP message | `offset` (of the member at fault), `reason` |
//! | `ShellSyntaxError` | a command line that does not parse | `column` (0-based byte offset into the line), `reason` |
//! | `ArgumentsError` | command arguments that are not a JSON object, or an id of no JSON type | `offset` (into the JSON text, when known), `reason` |
//! | `ClientError` | a [`Client`](crate::Client) call at the wrong time, or too many commands pending | `reason` (`"busy"` or `"misuse"`) |
//!
//! `FramingError` and `NotQmpError` are handed back among the messages rather than
//! thrown, and carry no V8 stack trace. Errors of the peer (QMP error replies) are not
//! JS errors here: they are messages.
//!
//! Messages are the errors' `Display` texts, written through
//! [`Describe`] rather than `core::fmt`, which would cost
//! about 8 KB of the `.wasm`: nothing in this crate formats with `core::fmt`.

use alloc::string::String;

use qmp_core::describe::Describe;
use qmp_core::frame::FrameError;
use qmp_core::message::MessageError;
use qmp_core::shell::ShellError;
use wasm_bindgen::prelude::*;

use crate::js;

/// The text of `value`, as its `Display` would write it. Not inlined, so each error
/// type's text is written by one copy of its code.
#[inline(never)]
pub(crate) fn text(value: &dyn Describe) -> String {
    let mut text = String::new();
    value.describe(&mut |piece| text.push_str(piece));
    text
}

/// A JS `Error` named `name` with `message`, carrying `props`: for the errors thrown at
/// a caller, which are rare, so each property crosses on its own.
fn js_error(name: &str, message: &str, props: &[(&str, JsValue)]) -> JsValue {
    let error: JsValue = js::JsError::new(message).into();
    js::set(&error, "name", &JsValue::from_str(name));
    for (key, value) in props {
        js::set(&error, key, value);
    }
    error
}

// The errors about received bytes, which a stream of garbage makes by the thousand, are
// built in one call each by these JS functions, which know their property names (so no
// name crosses as a string) and capture no V8 stack trace: the error describes the
// stream, not the code that pushed it.
#[wasm_bindgen(inline_js = r#"
function bare(message) {
  const limit = Error.stackTraceLimit;
  if (typeof limit !== 'number') return new Error(message);
  Error.stackTraceLimit = 0;
  try {
    return new Error(message);
  } finally {
    Error.stackTraceLimit = limit;
  }
}
export function framingError(message, offset, skipped, tooLarge, errorOffset) {
  const e = bare(message);
  e.name = 'FramingError';
  e.offset = offset;
  e.skipped = skipped;
  e.reason = tooLarge ? 'too-large' : 'invalid';
  e.errorOffset = errorOffset;
  return e;
}
export function notQmpError(message, offset, reason) {
  const e = bare(message);
  e.name = 'NotQmpError';
  e.offset = offset;
  e.reason = reason;
  return e;
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = framingError)]
    fn framing_error(
        message: &str,
        offset: f64,
        skipped: f64,
        too_large: bool,
        error_offset: Option<f64>,
    ) -> JsValue;

    #[wasm_bindgen(js_name = notQmpError)]
    fn not_qmp_error(message: &str, offset: f64, reason: &str) -> JsValue;
}

/// Offsets cross as JS numbers: exact up to 2^53 bytes.
fn number(n: u64) -> JsValue {
    JsValue::from_f64(n as f64)
}

/// A framer's report of dropped bytes.
#[inline(never)]
pub fn framing(error: &FrameError) -> JsValue {
    framing_error(
        &text(error),
        error.start() as f64,
        error.skipped() as f64,
        matches!(error, FrameError::TooLarge { .. }),
        error.scan_error().map(|e| e.offset as f64),
    )
}

/// Valid JSON that is not a QMP message.
#[inline(never)]
pub fn not_qmp(error: &MessageError) -> JsValue {
    not_qmp_error(&text(error), error.offset as f64, &text(&error.kind))
}

/// A command line that does not parse.
pub fn shell(error: &ShellError) -> JsValue {
    js_error(
        "ShellSyntaxError",
        &text(error),
        &[
            ("column", number(error.column as u64)),
            ("reason", text(&error.kind).into()),
        ],
    )
}

/// Arguments or an id that cannot be sent.
pub fn arguments(message: &str, offset: Option<u64>) -> JsValue {
    js_error(
        "ArgumentsError",
        message,
        &[
            ("offset", offset.map_or(JsValue::UNDEFINED, number)),
            ("reason", message.into()),
        ],
    )
}

/// A client call refused: `busy` (flow control) or `misuse` (the caller's timing).
pub fn client(message: &str, busy: bool) -> JsValue {
    let reason = if busy { "busy" } else { "misuse" };
    js_error("ClientError", message, &[("reason", reason.into())])
}
