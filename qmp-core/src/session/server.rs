//! The server side: [`Server`], the [`Handler`] it dispatches to, its outcomes and its
//! errors.

use core::fmt;

use super::json_input::{repeats_a_key, JsonFault, JsonInput, JsonRefusal, Verdict};
use crate::encode::{self, EmptyObject, EncodeError, Id, Payload, Ser, Sink, Text};
use crate::frame::{Frame, FrameError, Framer};
use crate::json::{JsonStr, Kind, RawJson};
use crate::message::{
    parse_request, ErrorClass, Refused, Request, RequestError, Timestamp, Version,
};
use crate::scan::{ScanError, ScanErrorKind};
use crate::schema::commands::QmpCapability;

/// QEMU's line ending after every message it sends.
const CRLF: &[u8] = b"\r\n";

/// Where a [`Server`] stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ServerState {
    /// A new connection: write the greeting with [`Server::greet`].
    Start,
    /// Capabilities negotiation mode: only `qmp_capabilities` runs.
    Negotiation,
    /// Command mode: requests go to the [`Handler`].
    Command {
        /// Whether the client enabled `oob`.
        oob: bool,
    },
}

impl fmt::Display for ServerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Start => "not greeted",
            Self::Negotiation => "capabilities negotiation mode",
            Self::Command { .. } => "command mode",
        })
    }
}

/// The sans-IO QMP server: QEMU's side of the protocol. See the
/// [module docs](super#server).
///
/// Two ways in. [`feed`](Self::feed) takes the client's bytes, reads them through a
/// framer set up for a server (`Framer::with_config(buf, ScanConfig::qmp_server())`) and
/// follows QEMU's JSON input engine beside it, so that bad bytes get QEMU's exact errors,
/// as many as QEMU sends, and the next request is taken up where QEMU takes it up.
/// [`handle`](Self::handle) takes framer items one by one (the example below): every
/// request is answered as by `feed`, but a bad region of bytes gets one error whose desc
/// names the fault as the framer's strict scanner saw it (`JSON parse error, unexpected
/// byte` where QEMU says `stray '%'` or `expecting value`), since a
/// [`FrameError`] does not carry the bytes. Use a framer with
/// [`ScanConfig::qmp_server`](crate::scan::ScanConfig::qmp_server) for it too: after
/// bad bytes it takes up the next `{` wherever it is, where the client-side default waits
/// for one at the start of a line (clients send requests back to back, without newlines,
/// and would otherwise get no answer and lose the next request).
///
/// # Differences from QEMU
///
/// Checked against QEMU 10.0.2 by the live tests (`tests/live_qemu.rs`: every case of
/// its error table, the resync byte and 1 100 nested brackets go to QEMU and, in the same
/// run, through `feed` to a server in the same phase; `SERVER_DIFFERS` lists what
/// differs, asserted both ways; it is empty). Requests, negotiation, the refusals of
/// JSON texts and, through `feed`, the errors for bad bytes (text, count, order, no id)
/// are QEMU's, a key repeated in one object included (`JSON parse error, duplicate
/// key`: `feed` compares the keys of each object of a message pairwise, without
/// memory, in time quadratic in the keys of one object). What differs (asserted by the
/// live test `server_differs_where_qemu_is_lenient_or_unbounded`, the limits excepted):
///
/// - **What QEMU takes and the strict framer does not.** QEMU also reads single-quoted
///   strings and the overlong `C0 80` (as U+0000), and runs such a request; the server
///   cannot parse it and answers the framer's error (`JSON parse error, unexpected
///   byte`, or the kind of fault found) in its place.
/// - **Long tokens.** QEMU quotes the whole token in `stray '…'` and `invalid keyword
///   '…'`; the server quotes its first [`TEXT_MAX`](super::TEXT_MAX) (64) bytes.
/// - **Limits.** A message larger than the framer's buffer is refused with QEMU's `JSON
///   token size limit exceeded`, which QEMU sends at 64 MiB; QEMU's count limit (2 Mi
///   tokens per message) is not checked. The nesting limit (1 024) is QEMU's.
///
/// ```
/// use qmp_core::frame::Framer;
/// use qmp_core::json::RawJson;
/// use qmp_core::message::Version;
/// use qmp_core::scan::ScanConfig;
/// use qmp_core::session::{handler_fn, Server, ServerOutcome, ServerRefusal};
///
/// let mut server = Server::new(Some(Version::new(10, 0, 2)), &[]);
/// let name = RawJson::parse(br#"{"name": "agent"}"#)?;
/// let mut handler = handler_fn(|request, responder| match request.name.as_str() {
///     Some("query-name") => responder.success(name),
///     _ => responder.command_not_found(),
/// });
/// let mut out = heapless::Vec::<u8, 1024>::new();
/// server.greet(&mut out)?;
///
/// // A command before negotiation, negotiation (oob is not offered), a command, and
/// // a byte that is not JSON.
/// let mut framer = Framer::with_config([0u8; 256], ScanConfig::qmp_server());
/// let input = b"{\"execute\": \"query-name\", \"id\": \"a\"}\
///               {\"execute\": \"qmp_capabilities\", \"id\": \"b\"}\
///               {\"execute\": \"query-name\", \"id\": \"c\"}\xff";
/// let mut outcomes = Vec::new();
/// framer.feed(input, |item| match server.handle(item, &mut handler, &mut out) {
///     Ok(ServerOutcome::Refused(ServerRefusal::NegotiationExpected(_))) => outcomes.push("refused"),
///     Ok(ServerOutcome::Negotiated { oob: false }) => outcomes.push("negotiated"),
///     Ok(ServerOutcome::Executed(_)) => outcomes.push("executed"),
///     Ok(ServerOutcome::Refused(ServerRefusal::NotJson(_))) => outcomes.push("not JSON"),
///     other => panic!("{other:?}"),
/// });
/// assert_eq!(outcomes, ["refused", "negotiated", "executed", "not JSON"]);
///
/// // Every message ends with CRLF.
/// let text = core::str::from_utf8(&out)?;
/// assert_eq!(text.matches("\r\n").count(), 5);
/// assert_eq!(text.lines().collect::<Vec<_>>(), [
///     r#"{"QMP":{"version":{"qemu":{"micro":2,"minor":0,"major":10},"package":""},"capabilities":[]}}"#,
///     r#"{"id":"a","error":{"class":"CommandNotFound","desc":"Expecting capabilities negotiation with 'qmp_capabilities'"}}"#,
///     r#"{"return":{},"id":"b"}"#,
///     r#"{"return":{"name":"agent"},"id":"c"}"#,
///     r#"{"error":{"class":"GenericError","desc":"JSON parse error, unexpected byte"}}"#,
/// ]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Server<'c> {
    version: Option<Version<'c>>,
    capabilities: &'c [QmpCapability<'c>],
    state: ServerState,
    /// QEMU's JSON input engine, followed by [`Server::feed`].
    input: JsonInput,
}

impl<'c> Server<'c> {
    /// A server that announces `version` (`None`: the 0.12 development greeting without
    /// one) and offers `capabilities` (QEMU offers `[QmpCapability::Oob]` when its
    /// monitor runs in an I/O thread, else nothing).
    ///
    /// The server acts on `oob` only; another capability it offers may be enabled and is
    /// otherwise ignored.
    pub const fn new(version: Option<Version<'c>>, capabilities: &'c [QmpCapability<'c>]) -> Self {
        Self {
            version,
            capabilities,
            state: ServerState::Start,
            input: JsonInput::new(),
        }
    }

    /// Where the session stands.
    pub const fn state(&self) -> ServerState {
        self.state
    }

    /// Whether the client enabled `oob`.
    pub const fn oob_enabled(&self) -> bool {
        matches!(self.state, ServerState::Command { oob: true })
    }

    /// Start over for a new connection, as QEMU does on every connect: capabilities are
    /// reset and the greeting is due again.
    pub fn reset(&mut self) {
        self.state = ServerState::Start;
        self.input = JsonInput::new();
    }

    /// Write the greeting, then CRLF. Only in [`ServerState::Start`]; afterwards the
    /// server is in negotiation mode.
    pub fn greet<S: Sink + ?Sized>(&mut self, sink: &mut S) -> Result<(), ServerError<S::Error>> {
        if self.state != ServerState::Start {
            return Err(ServerError::Misuse(ServerMisuse::AlreadyGreeted));
        }
        encode::greeting(sink, self.version, Ser(self.capabilities))
            .map_err(ServerError::Encode)?;
        line_end(sink)?;
        self.state = ServerState::Negotiation;
        Ok(())
    }

    /// Write an event, then CRLF. Only in command mode: QEMU delivers no event during
    /// negotiation. Time is the caller's (`Timestamp { seconds: -1, microseconds: -1 }`
    /// is what QEMU writes when it cannot read the clock).
    pub fn event<'n, S: Sink + ?Sized>(
        &mut self,
        name: impl Into<Text<'n>>,
        data: impl Payload,
        timestamp: Timestamp,
        sink: &mut S,
    ) -> Result<(), ServerError<S::Error>> {
        if !matches!(self.state, ServerState::Command { .. }) {
            return Err(ServerError::Misuse(ServerMisuse::NotNegotiated));
        }
        encode::event(sink, name, data, timestamp).map_err(ServerError::Encode)?;
        line_end(sink)
    }

    /// Take one item from the framer and answer it into `sink`: exactly one reply
    /// (unless the handler chooses [`Responder::no_response`]), each followed by CRLF.
    /// Returns what happened, borrowing the frame.
    ///
    /// Bad bytes get QEMU's error without an id; requests QEMU would refuse get its
    /// error (with the request's id when it had one); `qmp_capabilities` is handled
    /// here; every other request in command mode goes to `handler`.
    pub fn handle<'a, S, H>(
        &mut self,
        item: Result<Frame<'a>, FrameError>,
        handler: &mut H,
        sink: &mut S,
    ) -> Result<ServerOutcome<'a>, ServerError<S::Error>>
    where
        S: Sink + ?Sized,
        H: Handler<S> + ?Sized,
    {
        let command_oob = match self.state {
            ServerState::Start => return Err(ServerError::Misuse(ServerMisuse::NotGreeted)),
            ServerState::Negotiation => None,
            ServerState::Command { oob } => Some(oob),
        };
        let frame = match item {
            Ok(frame) => frame,
            Err(error) => return refuse(sink, ServerRefusal::NotJson(error)),
        };
        let request = match parse_request(frame, command_oob == Some(true)) {
            Ok(request) => request,
            Err(refused) => return refuse(sink, ServerRefusal::Invalid(refused)),
        };
        let capabilities = request.name == "qmp_capabilities";
        match command_oob {
            None if !capabilities => refuse(sink, ServerRefusal::NegotiationExpected(request)),
            None => match self.accept(request.arguments) {
                Ok(oob) => {
                    encode::success(sink, EmptyObject, request.id.map(Id::Raw))
                        .map_err(ServerError::Encode)?;
                    line_end(sink)?;
                    self.state = ServerState::Command { oob };
                    Ok(ServerOutcome::Negotiated { oob })
                }
                Err(problem) => refuse(sink, ServerRefusal::Capabilities { request, problem }),
            },
            Some(_) if capabilities && request.oob => {
                refuse(sink, ServerRefusal::OobNotSupported(request))
            }
            Some(_) if capabilities => refuse(sink, ServerRefusal::AlreadyNegotiated(request)),
            Some(_) => {
                let responder = Responder {
                    sink,
                    id: request.id,
                    name: request.name,
                };
                let Answered(()) = handler
                    .execute(&request, responder)
                    .map_err(ServerError::Encode)?;
                Ok(ServerOutcome::Executed(request))
            }
        }
    }

    /// Read `bytes` through `framer` and answer them as QEMU would, bad bytes included:
    /// the request path of [`handle`](Self::handle), with QEMU's exact errors for input
    /// that is not JSON. `on_outcome` gets what happened to each message or error, in
    /// stream order. Use the framer only through this method (with
    /// [`ScanConfig::qmp_server`](crate::scan::ScanConfig::qmp_server)), from the start
    /// of the connection.
    ///
    /// Beside the framer, the server follows QEMU's JSON input engine byte by byte
    /// (lexer, bracket-counting streamer, parser), which decides what QEMU takes as one
    /// message and which of them it refuses, with which text and how many errors; the
    /// framer's frames that QEMU takes as messages are then handled as by `handle`. A
    /// message QEMU accepts but the strict framer does not (single-quoted strings, the
    /// overlong `C0 80`) is refused with the framer's text; see "Differences from QEMU".
    ///
    /// Takes the bytes one at a time (a server reads requests, not bulk data). On a
    /// sink error it stops: the rest of `bytes` is not read, and the connection is best
    /// dropped.
    ///
    /// ```
    /// use qmp_core::frame::Framer;
    /// use qmp_core::message::Version;
    /// use qmp_core::scan::ScanConfig;
    /// use qmp_core::session::{handler_fn, Server};
    ///
    /// let mut server = Server::new(Some(Version::new(10, 0, 2)), &[]);
    /// let mut handler = handler_fn(|_, responder| responder.command_not_found());
    /// let mut framer = Framer::with_config([0u8; 256], ScanConfig::qmp_server());
    /// let mut out = heapless::Vec::<u8, 1024>::new();
    /// server.greet(&mut out)?;
    /// out.clear();
    /// let input = b"{\"execute\": \"qmp_capabilities\"}%{\"id\": 01}[tru]";
    /// server.feed(&mut framer, input, &mut handler, &mut out, |_| {})?;
    /// let text = core::str::from_utf8(&out)?;
    /// assert_eq!(text.lines().collect::<Vec<_>>(), [
    ///     r#"{"return":{}}"#,
    ///     r#"{"error":{"class":"GenericError","desc":"JSON parse error, stray '%'"}}"#,
    ///     r#"{"error":{"class":"GenericError","desc":"JSON parse error, stray '01'"}}"#,
    ///     r#"{"error":{"class":"GenericError","desc":"JSON parse error, expecting value"}}"#,
    ///     r#"{"error":{"class":"GenericError","desc":"JSON parse error, invalid keyword 'tru'"}}"#,
    /// ]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn feed<B, S, H>(
        &mut self,
        framer: &mut Framer<B>,
        bytes: &[u8],
        handler: &mut H,
        sink: &mut S,
        mut on_outcome: impl FnMut(ServerOutcome<'_>),
    ) -> Result<(), ServerError<S::Error>>
    where
        B: AsRef<[u8]> + AsMut<[u8]>,
        S: Sink + ?Sized,
        H: Handler<S> + ?Sized,
    {
        if self.state == ServerState::Start {
            return Err(ServerError::Misuse(ServerMisuse::NotGreeted));
        }
        for &byte in bytes {
            let mut verdicts: [Option<Verdict>; 2] = [None, None];
            let mut n = 0;
            self.input.push(byte, &mut |verdict| {
                if let Some(slot) = verdicts.get_mut(n) {
                    *slot = Some(verdict);
                    n += 1;
                }
            });
            // Room for one byte: the framer was drained.
            let _ = framer.push(core::slice::from_ref(&byte));
            let mut done = 0;
            let mut framing = None;
            while let Some(item) = framer.next() {
                let frame = match item {
                    Ok(frame) => frame,
                    Err(error) => {
                        framing = Some(error);
                        continue;
                    }
                };
                let span = (frame.offset(), frame.offset() + frame.len() as u64);
                let matched = verdicts.iter().enumerate().skip(done).find_map(|(k, v)| {
                    matches!(v, Some(Verdict::Message { start, end, .. }) if (*start, *end) == span)
                        .then_some(k)
                });
                // A frame QEMU does not take as a message (it refused it, or it lies
                // inside a message QEMU refuses) is dropped.
                let Some(k) = matched else { continue };
                for verdict in verdicts.iter().take(k).skip(done).flatten() {
                    on_outcome(self.answer_verdict(*verdict, None, sink)?);
                }
                let outcome = if repeats_a_key(frame.as_bytes()) {
                    let refusal = JsonRefusal::new(JsonFault::DuplicateKey);
                    refuse(sink, ServerRefusal::Json(refusal))?
                } else {
                    self.handle(Ok(frame), handler, sink)?
                };
                on_outcome(outcome);
                done = k + 1;
            }
            for verdict in verdicts.iter().take(n).skip(done).flatten() {
                on_outcome(self.answer_verdict(*verdict, framing, sink)?);
            }
        }
        Ok(())
    }

    /// Answer a verdict of QEMU's input engine that no frame stands for.
    fn answer_verdict<'a, S: Sink + ?Sized>(
        &mut self,
        verdict: Verdict,
        framing: Option<FrameError>,
        sink: &mut S,
    ) -> Result<ServerOutcome<'a>, ServerError<S::Error>> {
        let refusal = match verdict {
            Verdict::Refused(refusal) => ServerRefusal::Json(refusal),
            Verdict::Message {
                start,
                object: false,
                ..
            } => ServerRefusal::Invalid(Refused {
                error: RequestError::NotAnObject,
                id: None,
                offset: start,
            }),
            // QEMU parses it; the framer refused it (or it outgrew the buffer).
            Verdict::Message { start, end, .. } => {
                ServerRefusal::NotJson(framing.unwrap_or(FrameError::Invalid {
                    error: ScanError {
                        kind: ScanErrorKind::UnexpectedByte,
                        offset: start,
                    },
                    start,
                    skipped: end - start,
                }))
            }
        };
        refuse(sink, refusal)
    }

    /// Check `qmp_capabilities`' arguments as QEMU's argument visitor and
    /// `qmp_caps_accept` do, in their order; `Ok` says whether `oob` is enabled.
    fn accept<'a>(&self, arguments: Option<RawJson<'a>>) -> Result<bool, CapabilityRefusal<'a>> {
        let Some(arguments) = arguments else {
            return Ok(false);
        };
        let mut enable = None;
        let mut unexpected = None;
        for (name, value) in arguments.members() {
            if name == "enable" {
                enable = Some(value);
            } else {
                unexpected = unexpected.or(Some(name));
            }
        }
        let offers = |name: JsonStr<'_>| self.capabilities.iter().any(|c| name == c.name());
        let (mut oob, mut unavailable) = (false, 0);
        if let Some(enable) = enable {
            if enable.kind() != Kind::Array {
                return Err(CapabilityRefusal::NotAnArray);
            }
            for (index, element) in enable.elements().enumerate() {
                let Some(name) = element.as_json_str() else {
                    return Err(CapabilityRefusal::NotAString { index });
                };
                match (name == "oob", offers(name)) {
                    (true, true) => oob = true,
                    (true, false) => unavailable += 1,
                    (false, true) => {}
                    (false, false) => {
                        return Err(CapabilityRefusal::Unknown { index, value: name })
                    }
                }
            }
        }
        if let Some(name) = unexpected {
            return Err(CapabilityRefusal::Unexpected(name));
        }
        if unavailable > 0 {
            return Err(CapabilityRefusal::NotAvailable { count: unavailable });
        }
        Ok(oob)
    }
}

/// Write `refusal`'s error reply and report it.
fn refuse<'a, S: Sink + ?Sized>(
    sink: &mut S,
    refusal: ServerRefusal<'a>,
) -> Result<ServerOutcome<'a>, ServerError<S::Error>> {
    encode::error_fmt(sink, refusal.class(), refusal, refusal.id().map(Id::Raw))
        .map_err(ServerError::Encode)?;
    line_end(sink)?;
    Ok(ServerOutcome::Refused(refusal))
}

fn line_end<S: Sink + ?Sized>(sink: &mut S) -> Result<(), ServerError<S::Error>> {
    sink.write(CRLF)
        .map_err(|e| ServerError::Encode(EncodeError::Sink(e)))
}

/// What [`Server::handle`] did with one item. Every case wrote its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerOutcome<'a> {
    /// `qmp_capabilities` was accepted: command mode.
    Negotiated {
        /// Whether `oob` is enabled.
        oob: bool,
    },
    /// The request went to the handler, which answered it.
    Executed(Request<'a>),
    /// The server answered an error itself, as QEMU would.
    Refused(ServerRefusal<'a>),
}

/// A request (or bytes) the server refused itself, with the error QEMU answers: the
/// class is [`class`](Self::class), the `desc` is the `Display` text, the id is
/// [`id`](Self::id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerRefusal<'a> {
    /// Bytes that are not JSON, or a message larger than the buffer, as the framer
    /// reported them to [`Server::handle`]: `GenericError` without an id. The desc
    /// starts with QEMU's `JSON parse error, ` and names the fault as the framer saw
    /// it; QEMU's text often quotes the offending token or names its parser's position
    /// instead, which [`Server::feed`] answers ([`Json`](Self::Json)). The limits use
    /// QEMU's texts.
    NotJson(FrameError),
    /// Input QEMU's JSON engine refuses, found by [`Server::feed`]: `GenericError`
    /// without an id, QEMU's exact desc ([`JsonRefusal`]'s `Display`).
    Json(JsonRefusal),
    /// A JSON text that is not a valid request (not an object, wrong member types,
    /// unexpected members, no `execute`): `GenericError` with
    /// [`RequestError`](crate::message::RequestError)'s text.
    Invalid(Refused<'a>),
    /// A command other than `qmp_capabilities` in negotiation mode: `CommandNotFound`,
    /// "Expecting capabilities negotiation with 'qmp_capabilities'".
    NegotiationExpected(Request<'a>),
    /// `qmp_capabilities` in command mode: `CommandNotFound`, "Capabilities negotiation
    /// is already complete, command ignored".
    AlreadyNegotiated(Request<'a>),
    /// `qmp_capabilities` sent with `exec-oob`: `GenericError`, "The command
    /// qmp_capabilities does not support OOB".
    OobNotSupported(Request<'a>),
    /// `qmp_capabilities` with arguments QEMU refuses: `GenericError`.
    Capabilities {
        /// The request.
        request: Request<'a>,
        /// What is wrong with its arguments.
        problem: CapabilityRefusal<'a>,
    },
}

impl<'a> ServerRefusal<'a> {
    /// The error class of the reply.
    pub const fn class(&self) -> ErrorClass<'static> {
        match self {
            Self::NegotiationExpected(_) | Self::AlreadyNegotiated(_) => {
                ErrorClass::CommandNotFound
            }
            _ => ErrorClass::GenericError,
        }
    }

    /// The id echoed in the reply: the request's, when the input was an object.
    pub const fn id(&self) -> Option<RawJson<'a>> {
        match self {
            Self::NotJson(_) | Self::Json(_) => None,
            Self::Invalid(refused) => refused.id,
            Self::NegotiationExpected(request)
            | Self::AlreadyNegotiated(request)
            | Self::OobNotSupported(request)
            | Self::Capabilities { request, .. } => request.id,
        }
    }
}

/// The reply's `desc`, QEMU's text.
impl fmt::Display for ServerRefusal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotJson(FrameError::Invalid { error, .. }) => match error.kind {
                ScanErrorKind::TooDeep => f.write_str("JSON nesting depth limit exceeded"),
                ScanErrorKind::InvalidEscape => {
                    f.write_str("JSON parse error, invalid escape sequence in string")
                }
                ScanErrorKind::InvalidUtf8 => {
                    f.write_str("JSON parse error, invalid UTF-8 sequence in string")
                }
                ScanErrorKind::UnexpectedEnd => f.write_str("JSON parse error, premature EOI"),
                kind => write!(f, "JSON parse error, {kind}"),
            },
            Self::NotJson(_) => f.write_str("JSON token size limit exceeded"),
            Self::Json(refusal) => fmt::Display::fmt(refusal, f),
            Self::Invalid(refused) => fmt::Display::fmt(&refused.error, f),
            Self::NegotiationExpected(_) => {
                f.write_str("Expecting capabilities negotiation with 'qmp_capabilities'")
            }
            Self::AlreadyNegotiated(_) => {
                f.write_str("Capabilities negotiation is already complete, command ignored")
            }
            Self::OobNotSupported(request) => {
                write!(f, "The command {} does not support OOB", request.name)
            }
            Self::Capabilities { problem, .. } => fmt::Display::fmt(problem, f),
        }
    }
}

/// What is wrong with the arguments of a `qmp_capabilities` request, checked in QEMU's
/// order: the type of `enable`, each element in turn, unexpected arguments, then
/// availability. Each variant's desc (its `Display`) is QEMU 10.0's, as it answers on the
/// wire: a type error names the element by its `enable[I]` path, an unknown name names
/// no parameter at all (QEMU's enum visitor is given no name for list elements and
/// writes `'null'`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CapabilityRefusal<'a> {
    /// `Invalid parameter type for 'enable', expected: array`.
    NotAnArray,
    /// `Invalid parameter type for 'enable[I]', expected: string`.
    NotAString {
        /// The element's index.
        index: usize,
    },
    /// `Parameter 'null' does not accept value 'V'`: a name that is neither `oob` nor
    /// offered.
    Unknown {
        /// The element's index (QEMU's text does not say it).
        index: usize,
        /// The name.
        value: JsonStr<'a>,
    },
    /// `Parameter 'NAME' is unexpected`: an argument other than `enable`.
    Unexpected(JsonStr<'a>),
    /// `Capability oob not available`: `oob` asked for but not offered (QEMU names each
    /// element that asked for it, joined with `, `).
    NotAvailable {
        /// How many elements asked for it.
        count: usize,
    },
}

impl fmt::Display for CapabilityRefusal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAnArray => f.write_str("Invalid parameter type for 'enable', expected: array"),
            Self::NotAString { index } => write!(
                f,
                "Invalid parameter type for 'enable[{index}]', expected: string"
            ),
            Self::Unknown { value, .. } => {
                write!(f, "Parameter 'null' does not accept value '{value}'")
            }
            Self::Unexpected(name) => write!(f, "Parameter '{name}' is unexpected"),
            Self::NotAvailable { count } => {
                f.write_str("Capability oob")?;
                for _ in 1..*count {
                    f.write_str(", oob")?;
                }
                f.write_str(" not available")
            }
        }
    }
}

/// Why a [`Server`] call wrote nothing, or failed to write.
///
/// [`Misuse`](Self::Misuse) is the caller's fault; [`Encode`](Self::Encode) is the
/// sink's (or a payload's, see [`EncodeError`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ServerError<E> {
    /// The call does not fit the session's state. Nothing was written.
    Misuse(ServerMisuse),
    /// Writing failed. The sink may hold part of a message: discard it. The server's
    /// state is as before the item (or call), except that a request the handler failed
    /// to answer counts as handled.
    Encode(EncodeError<E>),
}

impl<E: fmt::Display> fmt::Display for ServerError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Misuse(m) => fmt::Display::fmt(m, f),
            Self::Encode(e) => write!(f, "cannot write the reply: {e}"),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for ServerError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Encode(e) => Some(e),
            Self::Misuse(_) => None,
        }
    }
}

/// A [`Server`] call made at the wrong time: the caller's fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ServerMisuse {
    /// [`Server::handle`] before [`Server::greet`]: QEMU greets first.
    NotGreeted,
    /// [`Server::greet`] a second time on one connection.
    AlreadyGreeted,
    /// [`Server::event`] before negotiation completed.
    NotNegotiated,
}

impl fmt::Display for ServerMisuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotGreeted => "the greeting must be written first",
            Self::AlreadyGreeted => "the greeting was already written",
            Self::NotNegotiated => "events are only sent once capabilities are negotiated",
        })
    }
}

impl core::error::Error for ServerMisuse {}

/// The commands a [`Server`] serves in command mode: given each request (arguments
/// still raw, [`Request::oob`] set for `exec-oob`), answer it through the
/// [`Responder`], which echoes the id and ends the line.
///
/// Implement it, or wrap a closure with [`handler_fn`]. Decode arguments with
/// [`RawJson::decode`] (serde) or the `RawJson` accessors; answer with any
/// [`Payload`] (`Ser(&value)` for a `Serialize` type).
pub trait Handler<S: Sink + ?Sized> {
    /// Answer `request`.
    fn execute(
        &mut self,
        request: &Request<'_>,
        responder: Responder<'_, S>,
    ) -> Result<Answered, EncodeError<S::Error>>;
}

impl<S: Sink + ?Sized, H: Handler<S> + ?Sized> Handler<S> for &mut H {
    fn execute(
        &mut self,
        request: &Request<'_>,
        responder: Responder<'_, S>,
    ) -> Result<Answered, EncodeError<S::Error>> {
        (**self).execute(request, responder)
    }
}

/// A [`Handler`] made from a closure, by [`handler_fn`].
#[derive(Clone, Copy, Debug)]
pub struct HandlerFn<F>(F);

/// A [`Handler`] that calls `f` (the bound lets the closure's argument types be
/// inferred).
pub fn handler_fn<S, F>(f: F) -> HandlerFn<F>
where
    S: Sink + ?Sized,
    F: FnMut(&Request<'_>, Responder<'_, S>) -> Result<Answered, EncodeError<S::Error>>,
{
    HandlerFn(f)
}

impl<S, F> Handler<S> for HandlerFn<F>
where
    S: Sink + ?Sized,
    F: FnMut(&Request<'_>, Responder<'_, S>) -> Result<Answered, EncodeError<S::Error>>,
{
    fn execute(
        &mut self,
        request: &Request<'_>,
        responder: Responder<'_, S>,
    ) -> Result<Answered, EncodeError<S::Error>> {
        (self.0)(request, responder)
    }
}

/// The one answer to a request: consumed by the method that writes it, which echoes
/// the request's id and ends the line with CRLF.
#[derive(Debug)]
pub struct Responder<'r, S: ?Sized> {
    sink: &'r mut S,
    id: Option<RawJson<'r>>,
    name: JsonStr<'r>,
}

/// Proof that a [`Responder`] answered (only its methods make one).
#[derive(Debug)]
#[must_use = "return it from the handler"]
pub struct Answered(());

impl<S: Sink + ?Sized> Responder<'_, S> {
    /// `{"return": VALUE, "id": ID}`: `EmptyObject` for commands that return nothing.
    pub fn success(self, value: impl Payload) -> Result<Answered, EncodeError<S::Error>> {
        encode::success(self.sink, value, self.id.map(Id::Raw))?;
        self.end()
    }

    /// `{"id": ID, "error": {"class": CLASS, "desc": DESC}}`.
    pub fn error<'c, 'd>(
        self,
        class: impl Into<Text<'c>>,
        desc: impl Into<Text<'d>>,
    ) -> Result<Answered, EncodeError<S::Error>> {
        encode::error(self.sink, class, desc, self.id.map(Id::Raw))?;
        self.end()
    }

    /// An error whose desc is formatted as it is written (see [`encode::error_fmt`]).
    pub fn error_fmt<'c>(
        self,
        class: impl Into<Text<'c>>,
        desc: impl fmt::Display,
    ) -> Result<Answered, EncodeError<S::Error>> {
        encode::error_fmt(self.sink, class, desc, self.id.map(Id::Raw))?;
        self.end()
    }

    /// QEMU's answer to a command it does not have: `CommandNotFound`, "The command
    /// NAME has not been found".
    pub fn command_not_found(self) -> Result<Answered, EncodeError<S::Error>> {
        let name = self.name;
        self.error_fmt(
            ErrorClass::CommandNotFound,
            format_args!("The command {name} has not been found"),
        )
    }

    /// QEMU's answer to `exec-oob` of a command that does not allow it: `GenericError`,
    /// "The command NAME does not support OOB".
    pub fn oob_not_supported(self) -> Result<Answered, EncodeError<S::Error>> {
        let name = self.name;
        self.error_fmt(
            ErrorClass::GenericError,
            format_args!("The command {name} does not support OOB"),
        )
    }

    /// No reply at all, as for QEMU's commands without a success response (QGA's
    /// `guest-shutdown`). Nothing is written.
    pub fn no_response(self) -> Answered {
        Answered(())
    }

    fn end(self) -> Result<Answered, EncodeError<S::Error>> {
        self.sink.write(CRLF)?;
        Ok(Answered(()))
    }
}
