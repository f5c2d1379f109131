//! `Client`: the sans-IO QMP client session, with its framer and output buffer, for a
//! JS transport to drive.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use qmp_core::describe::Describe;
use qmp_core::encode::Text;
use qmp_core::frame::{Frame, Framer};
use qmp_core::json::{JsonStr, RawJson};
use qmp_core::message::{ErrorReply, Message};
use qmp_core::session::{self, ClientError, ClientOutcome, ClientState};
use qmp_core::shell::ShellCommand;
use wasm_bindgen::prelude::*;

use crate::encode::{arguments_json, arguments_text};
use crate::error;
use crate::js::JsArray;
use crate::sink::VecSink;

/// Commands that may await their reply at once. More are refused with a `ClientError`
/// whose `reason` is `"busy"`; the TypeScript client queues them instead.
const MAX_PENDING: usize = 64;

/// The default buffer: the largest message handed out.
const DEFAULT_BUFFER: usize = 1 << 20;

/// A QMP client session that does no I/O.
///
/// Bytes from the server go to [`push`](Self::push), which returns what they meant as an
/// array of plain objects, each with a `type`:
///
/// | `type` | properties |
/// |---|---|
/// | `greeting` | `oobOffered`, `version` (`{major, minor, micro, package}` or `undefined`), `text` |
/// | `negotiated` | `oob` |
/// | `negotiation-refused` | `errorClass`, `desc` |
/// | `reply` | `id`, `ok`; when `ok`: `payload` (the return value's JSON text); else `errorClass`, `desc` |
/// | `reply-too-large` | `id`, `error` (a `FramingError`) |
/// | `event` | `name`, `payload` (`data`'s JSON text, or `undefined`), `seconds`, `microseconds`, `text` |
/// | `resynced` | |
/// | `unknown-reply`, `unexpected` | `text` (the message) |
/// | `idless-error` | `errorClass`, `desc` |
/// | `fault` | `error` (a `FramingError` or `NotQmpError`) |
///
/// Calls that send ([`negotiate`](Self::negotiate), [`execute`](Self::execute),
/// [`execute_line`](Self::execute_line), [`resync`](Self::resync)) append to an output
/// buffer that [`take_output`](Self::take_output) empties: send those bytes, as a binary
/// websocket frame. Commands are numbered by the client; the number is the `id` of
/// their `reply`.
#[wasm_bindgen]
pub struct Client {
    framer: Framer<Vec<u8>>,
    session: session::Client<MAX_PENDING>,
    output: Vec<u8>,
}

#[wasm_bindgen]
impl Client {
    /// A session awaiting the greeting, whose messages may be up to `max_message` bytes
    /// (1 MiB by default; a larger reply settles its command as `reply-too-large`).
    #[wasm_bindgen(constructor)]
    pub fn new(max_message: Option<u32>) -> Client {
        let size = max_message.map_or(DEFAULT_BUFFER, |n| (n as usize).max(1));
        Client {
            framer: Framer::new(vec![0; size]),
            session: session::Client::new(),
            output: Vec::new(),
        }
    }

    /// Bytes from the server, in chunks of any size: what they meant, in order.
    pub fn push(&mut self, chunk: &[u8]) -> JsArray {
        let outcomes = JsArray::new();
        let Self {
            framer, session, ..
        } = self;
        framer.feed(chunk, |item| {
            let frame = item.as_ref().ok().copied();
            outcomes.push(&outcome(session.handle(item), frame));
        });
        outcomes
    }

    /// Send `qmp_capabilities`, asking for `oob` when `oob` is true and the greeting
    /// offered it. Returns whether it asked.
    pub fn negotiate(&mut self, oob: bool) -> Result<bool, JsValue> {
        let mut sink = VecSink(&mut self.output);
        self.session.negotiate(oob, &mut sink).map_err(client_error)
    }

    /// Send command `name` with `arguments` (a JS object, JSON text of an object, or
    /// `undefined`), as `exec-oob` when `oob` is true. Returns its id.
    pub fn execute(
        &mut self,
        name: &str,
        arguments: JsValue,
        oob: Option<bool>,
    ) -> Result<f64, JsValue> {
        let text = arguments_text(&arguments)?;
        let arguments = text.as_deref().map(arguments_json).transpose()?;
        self.send(name, arguments, oob.unwrap_or(false))
    }

    /// Send the command typed as `line` in the human syntax (`device_del id=net0`), as
    /// `exec-oob` when `oob` is true. Returns its id; throws a `ShellSyntaxError` for a
    /// line that does not parse, before anything is sent.
    #[wasm_bindgen(js_name = executeLine)]
    pub fn execute_line(&mut self, line: &str, oob: Option<bool>) -> Result<f64, JsValue> {
        let command = ShellCommand::parse(line).map_err(|e| error::shell(&e))?;
        let mut sink = VecSink(&mut self.output);
        let ticket = if oob.unwrap_or(false) {
            self.session.execute_shell_oob(&command, &mut sink)
        } else {
            self.session.execute_shell(&command, &mut sink)
        };
        ticket.map(|t| t.id() as f64).map_err(client_error)
    }

    /// Write `0xFF`, which resets the server's JSON parser; its answer comes as
    /// `resynced`.
    pub fn resync(&mut self) -> Result<(), JsValue> {
        let mut sink = VecSink(&mut self.output);
        self.session.resync(&mut sink).map_err(client_error)
    }

    /// The bytes to send, emptying the output buffer.
    #[wasm_bindgen(js_name = takeOutput)]
    pub fn take_output(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.output)
    }

    /// The transport closed: returns the ids of the commands that will never be
    /// answered. Later calls are refused until [`reset`](Self::reset).
    #[wasm_bindgen(js_name = handleClose)]
    pub fn handle_close(&mut self) -> Vec<f64> {
        self.output.clear();
        self.session.handle_close().map(|t| t.id() as f64).collect()
    }

    /// Start over for a new connection (ids go on). Returns the ids still pending.
    pub fn reset(&mut self) -> Vec<f64> {
        self.output.clear();
        self.framer.reset();
        self.session.reset().map(|t| t.id() as f64).collect()
    }

    /// `awaiting-greeting`, `greeted`, `negotiating`, `ready` or `closed`.
    #[wasm_bindgen(getter)]
    pub fn state(&self) -> String {
        match self.session.state() {
            ClientState::AwaitingGreeting => "awaiting-greeting",
            ClientState::Greeted { .. } => "greeted",
            ClientState::Negotiating { .. } => "negotiating",
            ClientState::Ready { .. } => "ready",
            _ => "closed",
        }
        .into()
    }

    /// Whether `oob` is enabled.
    #[wasm_bindgen(getter, js_name = oobEnabled)]
    pub fn oob_enabled(&self) -> bool {
        self.session.oob_enabled()
    }

    /// How many commands await their reply.
    #[wasm_bindgen(getter)]
    pub fn pending(&self) -> u32 {
        self.session.pending() as u32
    }

    /// The most commands that may await their reply at once.
    #[wasm_bindgen(getter)]
    pub fn capacity(&self) -> u32 {
        MAX_PENDING as u32
    }
}

impl Client {
    fn send<'n>(
        &mut self,
        name: impl Into<Text<'n>>,
        arguments: Option<RawJson<'_>>,
        oob: bool,
    ) -> Result<f64, JsValue> {
        let mut sink = VecSink(&mut self.output);
        let ticket = if oob {
            self.session.execute_raw_oob(name, arguments, &mut sink)
        } else {
            self.session.execute_raw(name, arguments, &mut sink)
        };
        ticket.map(|t| t.id() as f64).map_err(client_error)
    }
}

fn client_error<E: Describe>(e: ClientError<E>) -> JsValue {
    error::client(&error::text(&e), matches!(e, ClientError::Busy))
}

// The outcome objects of `push` (the table on [`Client`]), each made by one JS call that
// knows its property names, rather than property by property from here (smaller and
// quicker: no name crosses as a string).
#[wasm_bindgen(inline_js = r#"
export const greeting = (oobOffered, major, minor, micro, packageName, hasVersion, text) => ({
  type: 'greeting',
  oobOffered,
  version: hasVersion ? { major, minor, micro, package: packageName } : undefined,
  text,
});
export const negotiated = (oob) => ({ type: 'negotiated', oob });
export const refused = (type, errorClass, desc) => ({ type, errorClass, desc });
export const replyOk = (id, payload) => ({ type: 'reply', id, ok: true, payload });
export const replyError = (id, errorClass, desc) => ({ type: 'reply', id, ok: false, errorClass, desc });
export const tooLarge = (id, error) => ({ type: 'reply-too-large', id, error });
export const event = (name, payload, seconds, microseconds, text) =>
  ({ type: 'event', name, payload, seconds, microseconds, text });
export const withText = (type, text) => ({ type, text });
export const fault = (error) => ({ type: 'fault', error });
export const resynced = () => ({ type: 'resynced' });
"#)]
extern "C" {
    #[allow(clippy::too_many_arguments)]
    fn greeting(
        oob_offered: bool,
        major: f64,
        minor: f64,
        micro: f64,
        package: JsValue,
        has_version: bool,
        text: Option<&str>,
    ) -> JsValue;
    fn negotiated(oob: bool) -> JsValue;
    fn refused(kind: &str, class: JsValue, desc: JsValue) -> JsValue;
    #[wasm_bindgen(js_name = replyOk)]
    fn reply_ok(id: f64, payload: &str) -> JsValue;
    #[wasm_bindgen(js_name = replyError)]
    fn reply_error(id: f64, class: JsValue, desc: JsValue) -> JsValue;
    #[wasm_bindgen(js_name = tooLarge)]
    fn too_large(id: f64, error: JsValue) -> JsValue;
    fn event(
        name: JsValue,
        payload: Option<&str>,
        seconds: f64,
        microseconds: f64,
        text: Option<&str>,
    ) -> JsValue;
    #[wasm_bindgen(js_name = withText)]
    fn with_text(kind: &str, text: Option<&str>) -> JsValue;
    fn fault(error: JsValue) -> JsValue;
    fn resynced() -> JsValue;
}

fn unescaped(s: JsonStr<'_>) -> JsValue {
    match s.as_str() {
        Some(plain) => JsValue::from_str(plain),
        None => JsValue::from_str(&s.chars().collect::<String>()),
    }
}

fn class_and_desc(e: &ErrorReply<'_>) -> (JsValue, JsValue) {
    let class = match e.class {
        qmp_core::message::ErrorClass::Other(name) => unescaped(name),
        known => JsValue::from_str(known.name()),
    };
    (class, unescaped(e.desc))
}

fn outcome(outcome: ClientOutcome<'_>, frame: Option<Frame<'_>>) -> JsValue {
    let text = frame.map(|f| RawJson::from(f).as_text());
    match outcome {
        ClientOutcome::Greeting(g) => {
            let offered = g.offers("oob");
            match g.version {
                None => greeting(offered, 0.0, 0.0, 0.0, JsValue::UNDEFINED, false, text),
                Some(v) => {
                    let (major, minor, micro) = match v.qemu {
                        qmp_core::message::QemuVersion::Triple {
                            major,
                            minor,
                            micro,
                        } => (major as f64, minor as f64, micro as f64),
                        _ => (f64::NAN, f64::NAN, f64::NAN),
                    };
                    let package = v.package.map_or(JsValue::UNDEFINED, unescaped);
                    greeting(offered, major, minor, micro, package, true, text)
                }
            }
        }
        ClientOutcome::Negotiated { oob } => negotiated(oob),
        ClientOutcome::NegotiationRefused(e) => {
            let (class, desc) = class_and_desc(&e);
            refused("negotiation-refused", class, desc)
        }
        ClientOutcome::Reply { ticket, message } => {
            let id = ticket.id() as f64;
            match message {
                Message::Return(ret) => reply_ok(id, ret.value.as_text()),
                Message::Error(e) => {
                    let (class, desc) = class_and_desc(&e);
                    reply_error(id, class, desc)
                }
                _ => with_text("unexpected", text),
            }
        }
        ClientOutcome::ReplyTooLarge { ticket, error } => {
            too_large(ticket.id() as f64, error::framing(&error))
        }
        ClientOutcome::Event(e) => event(
            unescaped(e.name),
            e.data.map(|d| d.as_text()),
            e.timestamp.seconds as f64,
            e.timestamp.microseconds as f64,
            text,
        ),
        ClientOutcome::Resynced(_) => resynced(),
        ClientOutcome::IdlessError(e) => {
            let (class, desc) = class_and_desc(&e);
            refused("idless-error", class, desc)
        }
        ClientOutcome::UnknownReply(_) => with_text("unknown-reply", text),
        ClientOutcome::Framing(e) => fault(error::framing(&e)),
        ClientOutcome::NotQmp(e) => fault(error::not_qmp(&e)),
        _ => with_text("unexpected", text),
    }
}
