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
//! Errors of the peer (QMP error replies) are not JS errors here: they are messages.

use core::fmt::Display;

use qmp_core::frame::FrameError;
use qmp_core::message::MessageError;
use qmp_core::shell::ShellError;
use wasm_bindgen::JsValue;

use crate::js;

/// A JS `Error` named `name` with `message`, carrying `props`.
fn js_error(name: &str, message: &dyn Display, props: &[(&str, JsValue)]) -> JsValue {
    let error: JsValue = js::JsError::new(&message.to_string()).into();
    js::set(&error, "name", &JsValue::from_str(name));
    for (key, value) in props {
        js::set(&error, key, value);
    }
    error
}

/// Offsets cross as JS numbers: exact up to 2^53 bytes.
fn number(n: u64) -> JsValue {
    JsValue::from_f64(n as f64)
}

/// A framer's report of dropped bytes.
pub fn framing(error: &FrameError) -> JsValue {
    let (reason, error_offset) = match error {
        FrameError::TooLarge { .. } => ("too-large", JsValue::UNDEFINED),
        _ => (
            "invalid",
            error
                .scan_error()
                .map_or(JsValue::UNDEFINED, |e| number(e.offset)),
        ),
    };
    js_error(
        "FramingError",
        error,
        &[
            ("offset", number(error.start())),
            ("skipped", number(error.skipped())),
            ("reason", reason.into()),
            ("errorOffset", error_offset),
        ],
    )
}

/// Valid JSON that is not a QMP message.
pub fn not_qmp(error: &MessageError) -> JsValue {
    js_error(
        "NotQmpError",
        error,
        &[
            ("offset", number(error.offset)),
            ("reason", error.kind.to_string().into()),
        ],
    )
}

/// A command line that does not parse.
pub fn shell(error: &ShellError) -> JsValue {
    js_error(
        "ShellSyntaxError",
        error,
        &[
            ("column", number(error.column as u64)),
            ("reason", error.kind.to_string().into()),
        ],
    )
}

/// Arguments or an id that cannot be sent.
pub fn arguments(message: &dyn Display, offset: Option<u64>) -> JsValue {
    js_error(
        "ArgumentsError",
        message,
        &[
            ("offset", offset.map_or(JsValue::UNDEFINED, number)),
            ("reason", message.to_string().into()),
        ],
    )
}

/// A client call refused: `busy` (flow control) or `misuse` (the caller's timing).
pub fn client(message: &dyn Display, busy: bool) -> JsValue {
    let reason = if busy { "busy" } else { "misuse" };
    js_error("ClientError", message, &[("reason", reason.into())])
}
