//! Command encoding: `encodeCommand` (a name and arguments) and `encodeLine` (the human
//! command syntax), each giving the bytes to send.

use alloc::string::String;
use alloc::vec::Vec;

use qmp_core::encode::{self, Id};
use qmp_core::json::{Kind, RawJson};
use qmp_core::shell::ShellCommand;
use wasm_bindgen::prelude::*;

use crate::error;
use crate::js;
use crate::sink::VecSink;

/// Command arguments from JS: `undefined` or `null` for none, JSON text, or any other
/// value, which goes through `JSON.stringify`. Must be a JSON object.
pub(crate) fn arguments_text(arguments: &JsValue) -> Result<Option<String>, JsValue> {
    if arguments.is_undefined() || arguments.is_null() {
        return Ok(None);
    }
    let text = match arguments.as_string() {
        Some(text) => text,
        None => js::stringify(arguments)?
            .as_string()
            .ok_or_else(|| error::arguments("arguments cannot be written as JSON", None))?,
    };
    Ok(Some(text))
}

/// Check arguments' JSON text: one JSON object.
pub(crate) fn arguments_json(text: &str) -> Result<RawJson<'_>, JsValue> {
    let json = RawJson::parse(text.as_bytes())
        .map_err(|e| error::arguments(&error::text(&e), Some(e.offset)))?;
    if json.kind() != Kind::Object {
        return Err(error::arguments("arguments must be a JSON object", None));
    }
    Ok(json)
}

/// An id from JS: `undefined`/`null` for none, a safe integer, a string, or any other
/// JSON value (its `JSON.stringify` text).
fn id_json(id: &JsValue) -> Result<Option<IdValue>, JsValue> {
    if id.is_undefined() || id.is_null() {
        return Ok(None);
    }
    if let Some(n) = id.as_f64() {
        // A safe integer: within 2^53 - 1, and whole (`fract` is std's, not core's).
        if n.abs() <= 9_007_199_254_740_991.0 && n == n as i64 as f64 {
            return Ok(Some(IdValue::Int(n as i64)));
        }
    }
    if let Some(s) = id.as_string() {
        return Ok(Some(IdValue::Str(s)));
    }
    let text = js::stringify(id)?
        .as_string()
        .ok_or_else(|| error::arguments("the id cannot be written as JSON", None))?;
    Ok(Some(IdValue::Json(text)))
}

enum IdValue {
    Int(i64),
    Str(String),
    Json(String),
}

impl IdValue {
    fn as_id(&self) -> Result<Id<'_>, JsValue> {
        Ok(match self {
            Self::Int(n) => Id::I64(*n),
            Self::Str(s) => Id::Str(s),
            Self::Json(text) => Id::Raw(
                RawJson::parse(text.as_bytes())
                    .map_err(|e| error::arguments(&error::text(&e), Some(e.offset)))?,
            ),
        })
    }
}

/// The bytes of command `name` with `arguments` (a JS object, JSON text of an object, or
/// `undefined`) and `id` (a number, a string, any JSON value, or `undefined`), as
/// `exec-oob` when `oob` is true. Compact, ASCII-only JSON, as QEMU's own encoder
/// writes. From JS: `encodeCommand` of the npm package, over [`encode()`].
pub fn encode_command(
    name: &str,
    arguments: JsValue,
    id: JsValue,
    oob: Option<bool>,
) -> Result<Vec<u8>, JsValue> {
    encode(name, false, arguments, id, oob.unwrap_or(false))
}

/// The bytes of the command typed as `line` in the human syntax (`device_del id=net0`;
/// see `qmp_core::shell`), with `id`, as `exec-oob` when `oob` is true. A line that does
/// not parse throws a `ShellSyntaxError` with the column at fault. From JS:
/// `encodeLine` of the npm package, over [`encode()`].
pub fn encode_line(line: &str, id: JsValue, oob: Option<bool>) -> Result<Vec<u8>, JsValue> {
    encode(line, true, JsValue::UNDEFINED, id, oob.unwrap_or(false))
}

/// The export behind the npm package's `encodeCommand` and `encodeLine`: `text` is a
/// command name with `arguments` ([`encode_command`]), or with `line` true a command
/// line in the human syntax ([`encode_line`]; `arguments` is then ignored). One export
/// for both, as each export carries its own shim in the `.wasm`.
#[wasm_bindgen]
pub fn encode(
    text: &str,
    line: bool,
    arguments: JsValue,
    id: JsValue,
    oob: bool,
) -> Result<Vec<u8>, JsValue> {
    let command = if line {
        Some(ShellCommand::parse(text).map_err(|e| error::shell(&e))?)
    } else {
        None
    };
    let arguments_text = match command {
        Some(_) => None,
        None => arguments_text(&arguments)?,
    };
    let arguments = arguments_text.as_deref().map(arguments_json).transpose()?;
    let id = id_json(&id)?;
    let id = id.as_ref().map(IdValue::as_id).transpose()?;
    let extra = arguments_text.as_ref().map_or(0, String::len);
    let mut out = Vec::with_capacity(text.len() + extra + 48);
    let sink = &mut VecSink(&mut out);
    let written = match (&command, oob) {
        (Some(command), false) => command.encode(sink, id),
        (Some(command), true) => command.encode_oob(sink, id),
        (None, false) => encode::command(sink, text, arguments, id),
        (None, true) => encode::command_oob(sink, text, arguments, id),
    };
    written.map_err(|e| error::arguments(&error::text(&e), None))?;
    Ok(out)
}
