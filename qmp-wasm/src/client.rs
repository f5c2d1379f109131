//! `Client`: the sans-IO QMP client session, with its framer and output buffer, for a
//! JS transport to drive.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use qmp_core::describe::Describe;
use qmp_core::frame::Framer;
use qmp_core::json::JsonStr;
use qmp_core::message::{ErrorClass, ErrorReply, Message, QemuVersion};
use qmp_core::session::{self, ClientError, ClientOutcome, ClientState};
use qmp_core::shell::ShellCommand;
use wasm_bindgen::prelude::*;

use crate::encode::{arguments_json, arguments_text};
use crate::error;
use crate::js::{JsArray, JsErrors};
use crate::sink::VecSink;

/// The layout of a batch of outcomes ([`Client::push`]): [`outcome::HEAD`] numbers,
/// then [`outcome::STRIDE`] numbers per outcome. Spans are byte offsets into the
/// batch text ([`Client::text`], UTF-8): start, end; `-1` where an outcome has no such
/// part.
///
/// | kind | `TEXT` | `NAME` | `PAYLOAD` | `NUMBERS` |
/// |---|---|---|---|---|
/// | `KIND_GREETING` | the message | the version's `package` | | flags (`1`: `oob` offered, `2`: a version), major, minor, micro (NaN for a version that is not three numbers) |
/// | `KIND_NEGOTIATED` | the message | | | `oob` enabled (0 or 1) |
/// | `KIND_REFUSED` (negotiation refused) | the message | the error class | `desc` | |
/// | `KIND_RETURN` (a reply) | the message | | the return value's JSON text | id |
/// | `KIND_ERROR` (a reply) | the message | the error class | `desc` | id |
/// | `KIND_TOO_LARGE` (a reply) | | | | id, bytes skipped |
/// | `KIND_EVENT` | the message | the event name | `data`'s JSON text | seconds, microseconds |
/// | `KIND_RESYNCED` | the message | | | |
/// | `KIND_UNKNOWN_REPLY`, `KIND_UNEXPECTED` | the message | | | |
/// | `KIND_IDLESS_ERROR` | the message | the error class | `desc` | |
/// | `KIND_FAULT` | | | | the index of its JS error (`FramingError` or `NotQmpError`) in [`Client::take_errors`] |
///
/// Names and `desc` are unescaped.
pub mod outcome {
    /// Numbers before the outcomes.
    pub const HEAD: usize = 3;
    /// In the head: the address of the batch text in the WebAssembly memory.
    pub const TEXT_ADDRESS: usize = 0;
    /// In the head: the length of the batch text in bytes.
    pub const TEXT_LEN: usize = 1;
    /// In the head: how many outcomes follow.
    pub const COUNT: usize = 2;

    /// Numbers per outcome.
    pub const STRIDE: usize = 11;
    /// The outcome's kind: one of the `KIND_*` values.
    pub const KIND: usize = 0;
    /// The message's whole JSON text: start, end.
    pub const TEXT: usize = 1;
    /// The error class, the event name or the greeting's `package`: start, end.
    pub const NAME: usize = 3;
    /// The return value, the event's `data` or the error's `desc`: start, end.
    pub const PAYLOAD: usize = 5;
    /// Up to four numbers, by kind.
    pub const NUMBERS: usize = 7;

    /// The server's greeting.
    pub const KIND_GREETING: f64 = 0.0;
    /// `qmp_capabilities` accepted: commands may be sent.
    pub const KIND_NEGOTIATED: f64 = 1.0;
    /// `qmp_capabilities` refused.
    pub const KIND_REFUSED: f64 = 2.0;
    /// A command's success reply.
    pub const KIND_RETURN: f64 = 3.0;
    /// A command's error reply.
    pub const KIND_ERROR: f64 = 4.0;
    /// A command's reply, larger than the buffer and skipped.
    pub const KIND_TOO_LARGE: f64 = 5.0;
    /// An event.
    pub const KIND_EVENT: f64 = 6.0;
    /// The error without an id that answers a resync.
    pub const KIND_RESYNCED: f64 = 7.0;
    /// A reply whose id matches no command.
    pub const KIND_UNKNOWN_REPLY: f64 = 8.0;
    /// A message that has no place here.
    pub const KIND_UNEXPECTED: f64 = 9.0;
    /// An error without an id that no resync asked for.
    pub const KIND_IDLESS_ERROR: f64 = 10.0;
    /// Bytes that are not JSON, or JSON that is not QMP: a JS error.
    pub const KIND_FAULT: f64 = 11.0;
}

/// What [`Client::send`] sends.
pub mod send {
    /// `qmp_capabilities`.
    pub const NEGOTIATE: u32 = 0;
    /// A command by name, with arguments.
    pub const COMMAND: u32 = 1;
    /// A command typed in the human syntax.
    pub const LINE: u32 = 2;
}

/// Commands that may await their reply at once. More are refused with a `ClientError`
/// whose `reason` is `"busy"`; the TypeScript client queues them instead.
const MAX_PENDING: usize = 64;

/// The default buffer: the largest message handed out.
const DEFAULT_BUFFER: usize = 1 << 20;

/// A QMP client session that does no I/O.
///
/// Bytes from the server go to [`push`](Self::push), which returns where the batch of
/// what they meant lies in the WebAssembly memory: a table of numbers and a text, laid
/// out as [`outcome`] says, read in place by the npm package's client (no JS call per
/// outcome), and the JS errors of faults ([`take_errors`](Self::take_errors)). The batch
/// is valid until the next push.
///
/// [`send`](Self::send) (from Rust also [`negotiate`](Self::negotiate),
/// [`execute`](Self::execute) and [`execute_line`](Self::execute_line)) appends to an
/// output buffer that [`take_output`](Self::take_output) empties: send those bytes, as a
/// binary websocket frame. Commands are numbered by the client; the number is the id of
/// their reply.
#[wasm_bindgen]
pub struct Client {
    framer: Framer<Vec<u8>>,
    session: session::Client<MAX_PENDING>,
    output: Vec<u8>,
    batch: Batch,
}

#[wasm_bindgen]
impl Client {
    /// A session awaiting the greeting, whose messages may be up to `max_message` bytes
    /// (1 MiB by default; a larger reply settles its command as `KIND_TOO_LARGE`).
    #[wasm_bindgen(constructor)]
    pub fn new(max_message: Option<u32>) -> Client {
        let size = max_message.map_or(DEFAULT_BUFFER, |n| (n as usize).max(1));
        Client {
            framer: Framer::new(vec![0; size]),
            session: session::Client::new(),
            output: Vec::new(),
            batch: Batch::default(),
        }
    }

    /// Bytes from the server, in chunks of any size. Returns the address of the batch
    /// of what they meant, in order ([`outcome`]), which replaces the previous one.
    pub fn push(&mut self, chunk: &[u8]) -> *const f64 {
        let Self {
            framer,
            session,
            batch,
            ..
        } = self;
        batch.text.clear();
        batch.errors.clear();
        batch.records.clear();
        batch.records.extend_from_slice(&[0.0; outcome::HEAD]);
        framer.feed(chunk, |item| {
            let frame = item.as_ref().map_or(&[][..], |f| f.as_bytes());
            batch.add(session.handle(item), frame);
        });
        let count = (batch.records.len() - outcome::HEAD) / outcome::STRIDE;
        batch.records[outcome::TEXT_ADDRESS] = batch.text.as_ptr().addr() as f64;
        batch.records[outcome::TEXT_LEN] = batch.text.len() as f64;
        batch.records[outcome::COUNT] = count as f64;
        batch.records.as_ptr()
    }

    /// The JS errors of the batch, indexed by its `KIND_FAULT` outcomes.
    #[wasm_bindgen(js_name = takeErrors)]
    pub fn take_errors(&mut self) -> JsArray {
        self.batch.errors.take()
    }

    /// Send what `kind` says ([`send`]), as `exec-oob` when `oob` is true:
    ///
    /// - [`send::NEGOTIATE`]: `qmp_capabilities`, asking for `oob` when `oob` is true and
    ///   the greeting offered it; returns 1 if it asked, else 0.
    /// - [`send::COMMAND`]: command `text` with `arguments` (a JS object, JSON text of
    ///   an object, or `undefined`; else an `ArgumentsError` is thrown); returns its id.
    /// - [`send::LINE`]: the command typed as `text` in the human syntax
    ///   (`device_del id=net0`); returns its id, or throws a `ShellSyntaxError` for a
    ///   line that does not parse.
    ///
    /// A call the session refuses throws a `ClientError` (`reason` `"busy"` when too
    /// many commands are pending). One export for the three, as each export carries its
    /// own shim in the `.wasm`.
    pub fn send(
        &mut self,
        kind: u32,
        text: &str,
        arguments: JsValue,
        oob: bool,
    ) -> Result<f64, JsValue> {
        let mut sink = VecSink(&mut self.output);
        let session = &mut self.session;
        let ticket = match kind {
            send::NEGOTIATE => {
                let asked = session.negotiate(oob, &mut sink).map_err(client_error)?;
                return Ok(f64::from(u8::from(asked)));
            }
            send::LINE => {
                let command = ShellCommand::parse(text).map_err(|e| error::shell(&e))?;
                if oob {
                    session.execute_shell_oob(&command, &mut sink)
                } else {
                    session.execute_shell(&command, &mut sink)
                }
            }
            _ => {
                let json = arguments_text(&arguments)?;
                let arguments = json.as_deref().map(arguments_json).transpose()?;
                if oob {
                    session.execute_raw_oob(text, arguments, &mut sink)
                } else {
                    session.execute_raw(text, arguments, &mut sink)
                }
            }
        };
        ticket.map(|t| t.id() as f64).map_err(client_error)
    }

    /// The bytes to send, emptying the output buffer.
    #[wasm_bindgen(js_name = takeOutput)]
    pub fn take_output(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.output)
    }

    /// The transport closed: returns how many commands will never be answered. Later
    /// calls are refused until [`reset`](Self::reset).
    #[wasm_bindgen(js_name = handleClose)]
    pub fn handle_close(&mut self) -> u32 {
        self.output.clear();
        self.session.handle_close().len() as u32
    }
}

/// What the npm package's client does not call, for Rust users (not in the `.wasm`).
impl Client {
    /// The batch's text, UTF-8.
    pub fn text(&self) -> &[u8] {
        &self.batch.text
    }

    /// The batch's outcomes: [`outcome::STRIDE`] numbers each (after the head).
    pub fn outcomes(&self) -> &[f64] {
        &self.batch.records[outcome::HEAD.min(self.batch.records.len())..]
    }

    /// Send `qmp_capabilities` ([`send::NEGOTIATE`]). Returns whether it asked for `oob`.
    pub fn negotiate(&mut self, oob: bool) -> Result<bool, JsValue> {
        Ok(self.send(send::NEGOTIATE, "", JsValue::UNDEFINED, oob)? != 0.0)
    }

    /// Send command `name` with `arguments` ([`send::COMMAND`]). Returns its id.
    pub fn execute(
        &mut self,
        name: &str,
        arguments: JsValue,
        oob: Option<bool>,
    ) -> Result<f64, JsValue> {
        self.send(send::COMMAND, name, arguments, oob.unwrap_or(false))
    }

    /// Send the command typed as `line` ([`send::LINE`]). Returns its id.
    pub fn execute_line(&mut self, line: &str, oob: Option<bool>) -> Result<f64, JsValue> {
        self.send(send::LINE, line, JsValue::UNDEFINED, oob.unwrap_or(false))
    }

    /// Write `0xFF`, which resets the server's JSON parser; its answer comes as
    /// `KIND_RESYNCED`.
    pub fn resync(&mut self) -> Result<(), JsValue> {
        let mut sink = VecSink(&mut self.output);
        self.session.resync(&mut sink).map_err(client_error)
    }

    /// Start over for a new connection (ids go on). Returns the ids still pending.
    pub fn reset(&mut self) -> Vec<f64> {
        self.output.clear();
        self.framer.reset();
        self.session.reset().map(|t| t.id() as f64).collect()
    }

    /// `awaiting-greeting`, `greeted`, `negotiating`, `ready` or `closed`.
    pub fn state(&self) -> &'static str {
        match self.session.state() {
            ClientState::AwaitingGreeting => "awaiting-greeting",
            ClientState::Greeted { .. } => "greeted",
            ClientState::Negotiating { .. } => "negotiating",
            ClientState::Ready { .. } => "ready",
            _ => "closed",
        }
    }

    /// How many commands await their reply.
    pub fn pending(&self) -> u32 {
        self.session.pending() as u32
    }

    /// The most commands that may await their reply at once.
    pub fn capacity(&self) -> u32 {
        MAX_PENDING as u32
    }

    /// Whether `oob` is enabled.
    pub fn oob_enabled(&self) -> bool {
        self.session.oob_enabled()
    }
}

fn client_error<E: Describe>(e: ClientError<E>) -> JsValue {
    error::client(&error::text(&e), matches!(e, ClientError::Busy))
}

/// The outcomes of one push ([`outcome`]).
#[derive(Default)]
struct Batch {
    /// UTF-8: frames checked by the scanner, and unescaped strings.
    text: Vec<u8>,
    /// The head, then the outcomes.
    records: Vec<f64>,
    errors: JsErrors,
}

impl Batch {
    /// Append the outcome of `frame` (empty for a framing error), the frame's text
    /// first: its parts are placed there.
    #[inline(never)]
    fn add(&mut self, outcome: ClientOutcome<'_>, frame: &[u8]) {
        use outcome::*;
        let base = self.text.len();
        let mut r = [-1.0; STRIDE];
        let text = self.append(frame);
        if !frame.is_empty() {
            (r[TEXT], r[TEXT + 1]) = text;
        }
        let place = Place { frame, base };
        let n = NUMBERS;
        r[KIND] = match outcome {
            ClientOutcome::Greeting(g) => {
                r[n] = f64::from(u8::from(g.offers("oob")));
                if let Some(v) = g.version {
                    r[n] += 2.0;
                    (r[n + 1], r[n + 2], r[n + 3]) = match v.qemu {
                        QemuVersion::Triple {
                            major,
                            minor,
                            micro,
                        } => (major as f64, minor as f64, micro as f64),
                        _ => (f64::NAN, f64::NAN, f64::NAN),
                    };
                    if let Some(package) = v.package {
                        (r[NAME], r[NAME + 1]) = self.string(package, &place);
                    }
                }
                KIND_GREETING
            }
            ClientOutcome::Negotiated { oob } => {
                r[n] = f64::from(u8::from(oob));
                KIND_NEGOTIATED
            }
            ClientOutcome::NegotiationRefused(e) => {
                self.error(&mut r, &e, &place);
                KIND_REFUSED
            }
            ClientOutcome::Reply { ticket, message } => {
                r[n] = ticket.id() as f64;
                match message {
                    Message::Return(ret) => {
                        (r[PAYLOAD], r[PAYLOAD + 1]) = place.span(ret.value.as_bytes());
                        KIND_RETURN
                    }
                    Message::Error(e) => {
                        self.error(&mut r, &e, &place);
                        KIND_ERROR
                    }
                    _ => KIND_UNEXPECTED,
                }
            }
            ClientOutcome::ReplyTooLarge { ticket, error } => {
                (r[n], r[n + 1]) = (ticket.id() as f64, error.skipped() as f64);
                KIND_TOO_LARGE
            }
            ClientOutcome::Event(e) => {
                (r[NAME], r[NAME + 1]) = self.string(e.name, &place);
                if let Some(data) = e.data {
                    (r[PAYLOAD], r[PAYLOAD + 1]) = place.span(data.as_bytes());
                }
                r[n] = e.timestamp.seconds as f64;
                r[n + 1] = e.timestamp.microseconds as f64;
                KIND_EVENT
            }
            ClientOutcome::Resynced(_) => KIND_RESYNCED,
            ClientOutcome::IdlessError(e) => {
                self.error(&mut r, &e, &place);
                KIND_IDLESS_ERROR
            }
            ClientOutcome::UnknownReply(_) => KIND_UNKNOWN_REPLY,
            ClientOutcome::Framing(e) => self.fault(&mut r, error::framing(&e)),
            ClientOutcome::NotQmp(e) => self.fault(&mut r, error::not_qmp(&e)),
            _ => KIND_UNEXPECTED,
        };
        self.records.extend_from_slice(&r);
    }

    // Not inlined, here and below: several callers each (measured: 0.7 KB more inlined).
    #[inline(never)]
    fn error(&mut self, r: &mut [f64; outcome::STRIDE], e: &ErrorReply<'_>, place: &Place<'_>) {
        use outcome::{NAME, PAYLOAD};
        (r[NAME], r[NAME + 1]) = match e.class {
            ErrorClass::Other(name) => self.string(name, place),
            known => self.append(known.name().as_bytes()),
        };
        (r[PAYLOAD], r[PAYLOAD + 1]) = self.string(e.desc, place);
    }

    fn fault(&mut self, r: &mut [f64; outcome::STRIDE], error: JsValue) -> f64 {
        r[outcome::NUMBERS] = f64::from(self.errors.push(&error));
        outcome::KIND_FAULT
    }

    /// A JSON string's span: in the frame when it has no escapes, else appended
    /// unescaped.
    #[inline(never)]
    fn string(&mut self, s: JsonStr<'_>, place: &Place<'_>) -> (f64, f64) {
        if s.has_escapes() {
            self.append(s.chars().collect::<String>().as_bytes())
        } else {
            place.span(s.raw_bytes())
        }
    }

    #[inline(never)]
    fn append(&mut self, bytes: &[u8]) -> (f64, f64) {
        let start = self.text.len();
        self.text.extend_from_slice(bytes);
        (start as f64, self.text.len() as f64)
    }
}

/// Where a frame lies in the batch text, to place its parts there.
struct Place<'a> {
    frame: &'a [u8],
    /// The frame's start in the batch text.
    base: usize,
}

impl Place<'_> {
    /// Where `part`, bytes of this frame, lies in the batch text: start, end.
    fn span(&self, part: &[u8]) -> (f64, f64) {
        let start = self.base + (part.as_ptr().addr() - self.frame.as_ptr().addr());
        (start as f64, (start + part.len()) as f64)
    }
}
