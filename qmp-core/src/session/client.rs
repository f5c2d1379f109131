//! The client side: [`Client`], its outcomes and its errors.

use core::fmt;

use heapless::Vec;

use crate::describe::{self, Describe};
use crate::encode::{self, EncodeError, Id, Payload, Sink, Text};
use crate::frame::{Frame, FrameError};
use crate::message::{ErrorReply, EventMessage, Greeting, Message, MessageError};
use crate::schema::commands::{Command, QmpCapabilities, QmpCapability, ReplyError};
use crate::shell::ShellCommand;

/// What the client holds for a command it sent: the id it wrote, as a receipt.
///
/// A ticket comes back in [`ClientOutcome::Reply`] (or
/// [`ClientOutcome::ReplyTooLarge`]) exactly once, unless the connection ends first
/// ([`Client::handle_close`] hands back the tickets still open).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket(u64);

impl Ticket {
    /// The command's id, as written on the wire (a JSON number).
    pub const fn id(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "command {}", self.0)
    }
}

/// Where a [`Client`] stands. See the [module docs](super#client) for the transitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClientState {
    /// Connected; the server's greeting has not arrived yet.
    AwaitingGreeting,
    /// The greeting arrived: call [`Client::negotiate`].
    Greeted {
        /// Whether the greeting offered the `oob` capability.
        oob_offered: bool,
    },
    /// `qmp_capabilities` was sent; its reply has not arrived yet.
    Negotiating {
        /// Whether it asked for `oob`.
        oob: bool,
    },
    /// Command mode: commands may be sent.
    Ready {
        /// Whether `oob` is enabled (commands may go out of band).
        oob: bool,
    },
    /// The connection ended ([`Client::handle_close`]); [`Client::reset`] starts over.
    Closed,
}

impl ClientState {
    /// A short static description (also what `Display` writes).
    pub const fn description(self) -> &'static str {
        match self {
            Self::AwaitingGreeting => "awaiting the greeting",
            Self::Greeted { .. } => "greeted, not negotiated",
            Self::Negotiating { .. } => "negotiating",
            Self::Ready { .. } => "ready",
            Self::Closed => "closed",
        }
    }
}

impl fmt::Display for ClientState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl Describe for ClientState {
    fn describe(&self, out: &mut dyn FnMut(&str)) {
        out(self.description());
    }
}

/// The state with the data each state needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    AwaitingGreeting,
    Greeted {
        oob_offered: bool,
    },
    Negotiating {
        /// The id of the `qmp_capabilities` command.
        id: u64,
        oob: bool,
        /// Kept to go back to `Greeted` when the server refuses.
        oob_offered: bool,
    },
    Ready {
        oob: bool,
    },
    Closed,
}

/// A command sent and not answered yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pending {
    id: u64,
    /// Sent with `exec-oob`.
    oob: bool,
}

/// What one message (or framing error) from the server meant, from
/// [`Client::handle`]. None is fatal: the session goes on after each.
///
/// From [`Greeting`](Self::Greeting) to [`Resynced`](Self::Resynced), the protocol at
/// work; from [`UnknownReply`](Self::UnknownReply) on, the peer's faults (or a message
/// this client's buffer could not hold), reported so that nothing is dropped silently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientOutcome<'a> {
    /// The server's greeting, in any of its historical forms. Next: [`Client::negotiate`].
    Greeting(Greeting<'a>),
    /// The server accepted `qmp_capabilities`: commands may be sent.
    Negotiated {
        /// Whether `oob` is enabled.
        oob: bool,
    },
    /// The server refused `qmp_capabilities`. The client is back to
    /// [`ClientState::Greeted`], so [`Client::negotiate`] may be called again (e.g.
    /// without `oob`).
    NegotiationRefused(ErrorReply<'a>),
    /// The reply to a command: `message` is a [`Message::Return`] or a
    /// [`Message::Error`]. Decode it with [`Command::decode_reply`] (or
    /// [`decode_reply`](ClientOutcome::decode_reply)).
    Reply {
        /// The command answered.
        ticket: Ticket,
        /// The reply.
        message: Message<'a>,
    },
    /// The reply to a command was larger than the framer's buffer and was skipped; the
    /// command is no longer pending. See the [module docs](super#replies-too-large) for
    /// how the command is chosen.
    ReplyTooLarge {
        /// The command whose reply it must have been.
        ticket: Ticket,
        /// The framer's report ([`FrameError::TooLarge`]).
        error: FrameError,
    },
    /// An asynchronous event. It may come before the reply of the command that caused
    /// it, and even before the greeting: QEMU 10 sends an event to a connection it has
    /// accepted but not yet greeted (a `RESUME` as the VM starts, to a client that
    /// connected as the process came up).
    Event(EventMessage<'a>),
    /// The error that answers a [`Client::resync`] (an error without an id), absorbed:
    /// the server's parser is back in a known state.
    Resynced(ErrorReply<'a>),
    /// A reply whose id matches no pending command: an id this client never sent (or not
    /// a number), a reply to a command already answered, or a success without an id.
    UnknownReply(Message<'a>),
    /// An error without an id that no [`Client::resync`] asked for: the server could not
    /// read something it received (bytes that were not JSON, or not a request), and
    /// could not tell which command it was.
    IdlessError(ErrorReply<'a>),
    /// A message that has no place here: a reply before the greeting, a second
    /// greeting, a request sent to the client, or anything after
    /// [`Client::handle_close`].
    Unexpected(Message<'a>),
    /// Bytes the framer could not use: invalid JSON, or a message too large for its
    /// buffer that could not be attributed to a command.
    Framing(FrameError),
    /// A JSON text that is not a QMP message.
    NotQmp(MessageError),
}

impl<'a> ClientOutcome<'a> {
    /// The command this outcome settles: the ticket of a [`Reply`](Self::Reply) or
    /// [`ReplyTooLarge`](Self::ReplyTooLarge).
    pub const fn ticket(&self) -> Option<Ticket> {
        match *self {
            Self::Reply { ticket, .. } | Self::ReplyTooLarge { ticket, .. } => Some(ticket),
            _ => None,
        }
    }

    /// The typed result of command `C` if this outcome is the [`Reply`](Self::Reply) to
    /// `ticket`: [`Command::decode_reply`] of the message. `None` for any other outcome,
    /// [`ReplyTooLarge`](Self::ReplyTooLarge) included.
    pub fn decode_reply<C: Command>(
        &self,
        ticket: Ticket,
    ) -> Option<Result<C::Returns<'a>, ReplyError<'a>>> {
        match *self {
            Self::Reply { ticket: t, message } if t == ticket => Some(C::decode_reply(&message)),
            _ => None,
        }
    }
}

/// Why a [`Client`] call wrote nothing, or failed to write.
///
/// [`Busy`](Self::Busy) is flow control; [`Misuse`](Self::Misuse) is the caller's
/// fault; [`Encode`](Self::Encode) is the sink's (or the arguments', see
/// [`EncodeError`]). In every case the client's state is as before the call and no
/// command is pending for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClientError<E> {
    /// `N` commands are pending: wait for a reply. Nothing was written.
    Busy,
    /// The call does not fit the session's state. Nothing was written.
    Misuse(ClientMisuse),
    /// Writing the command failed. The sink may hold part of it: discard it, or, if
    /// bytes already went out, call [`Client::resync`].
    Encode(EncodeError<E>),
}

impl<E: fmt::Display> fmt::Display for ClientError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Busy => f.write_str(BUSY),
            Self::Misuse(m) => fmt::Display::fmt(m, f),
            Self::Encode(e) => write!(f, "{CANNOT_WRITE}{e}"),
        }
    }
}

const BUSY: &str = "too many commands pending: wait for a reply";
const CANNOT_WRITE: &str = "cannot write the command: ";

impl<E: Describe> Describe for ClientError<E> {
    fn describe(&self, out: &mut dyn FnMut(&str)) {
        match self {
            Self::Busy => out(BUSY),
            Self::Misuse(m) => m.describe(out),
            Self::Encode(e) => {
                out(CANNOT_WRITE);
                e.describe(out);
            }
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for ClientError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Encode(e) => Some(e),
            Self::Busy | Self::Misuse(_) => None,
        }
    }
}

/// A [`Client`] call made at the wrong time: the caller's fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClientMisuse {
    /// [`negotiate`](Client::negotiate) needs [`ClientState::Greeted`]; this is the
    /// state it was called in.
    CannotNegotiate(ClientState),
    /// Commands need [`ClientState::Ready`]; this is the state the call was made in.
    NotReady(ClientState),
    /// An out-of-band command, but `oob` is not enabled.
    OobNotEnabled,
    /// An out-of-band command whose type does not [allow it](Command::ALLOW_OOB).
    OobNotAllowed,
    /// [`resync`](Client::resync) after [`handle_close`](Client::handle_close).
    Closed,
}

impl fmt::Display for ClientMisuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        describe::display(self, f)
    }
}

impl Describe for ClientMisuse {
    fn describe(&self, out: &mut dyn FnMut(&str)) {
        let (what, state) = match *self {
            Self::CannotNegotiate(state) => (
                "negotiation needs a greeting and no negotiation yet (state: ",
                state,
            ),
            Self::NotReady(state) => ("commands need a negotiated session (state: ", state),
            Self::OobNotEnabled => return out("out-of-band commands need the oob capability"),
            Self::OobNotAllowed => {
                return out("this command does not allow out-of-band execution");
            }
            Self::Closed => return out("the connection is closed"),
        };
        out(what);
        out(state.description());
        out(")");
    }
}

impl core::error::Error for ClientMisuse {}

/// The sans-IO QMP client, with room for `N` pending commands (QEMU queues at most 8
/// in-band commands once `oob` is enabled). See the [module docs](super#client).
///
/// Against QEMU's own bytes: an out-of-band reply overtakes an in-band one, and each
/// still finds its command.
///
/// ```
/// use qmp_core::encode::SliceSink;
/// use qmp_core::frame::Framer;
/// use qmp_core::schema::commands::{MigratePause, QueryStatus};
/// use qmp_core::session::{Client, ClientOutcome};
///
/// let mut client: Client = Client::new();
/// let mut framer = Framer::new([0u8; 512]);
/// let mut buf = [0u8; 128];
///
/// framer.feed(
///     b"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}, \
///       \"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n",
///     |item| assert!(matches!(client.handle(item), ClientOutcome::Greeting(_))),
/// );
/// client.negotiate(true, &mut SliceSink::new(&mut buf))?;
/// framer.feed(b"{\"return\": {}, \"id\": 0}\r\n", |item| {
///     assert_eq!(client.handle(item), ClientOutcome::Negotiated { oob: true });
/// });
///
/// let mut sink = SliceSink::new(&mut buf);
/// let status = client.execute(&QueryStatus, &mut sink)?;
/// let pause = client.execute_oob(&MigratePause, &mut sink)?;
/// assert_eq!(
///     sink.written(),
///     br#"{"execute":"query-status","id":1}{"exec-oob":"migrate-pause","id":2}"#,
/// );
///
/// let mut order = Vec::new();
/// framer.feed(
///     b"{\"id\": 2, \"error\": {\"class\": \"GenericError\", \"desc\": \"There is no \
///       postcopy migration in progress\"}}\r\n\
///       {\"return\": {\"status\": \"running\", \"running\": true}, \"id\": 1}\r\n",
///     |item| order.extend(client.handle(item).ticket()),
/// );
/// assert_eq!(order, [pause, status]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Client<const N: usize = 8> {
    state: State,
    /// Pending commands, oldest first.
    pending: Vec<Pending, N>,
    next_id: u64,
    /// Id-less errors that resyncs asked for and that have not arrived yet.
    resyncs: u32,
}

impl<const N: usize> Default for Client<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Client<N> {
    /// A client for a new connection, awaiting the greeting. Ids start at 0.
    ///
    /// `N` must be at least 1, which is checked at compile time:
    ///
    /// ```compile_fail
    /// let client = qmp_core::session::Client::<0>::new();
    /// ```
    pub const fn new() -> Self {
        const {
            assert!(
                N > 0,
                "a Client needs room for at least one pending command"
            )
        };
        Self {
            state: State::AwaitingGreeting,
            pending: Vec::new(),
            next_id: 0,
            resyncs: 0,
        }
    }

    /// Where the session stands.
    pub const fn state(&self) -> ClientState {
        match self.state {
            State::AwaitingGreeting => ClientState::AwaitingGreeting,
            State::Greeted { oob_offered } => ClientState::Greeted { oob_offered },
            State::Negotiating { oob, .. } => ClientState::Negotiating { oob },
            State::Ready { oob } => ClientState::Ready { oob },
            State::Closed => ClientState::Closed,
        }
    }

    /// Whether `oob` is enabled (only once negotiated).
    pub const fn oob_enabled(&self) -> bool {
        matches!(self.state, State::Ready { oob: true })
    }

    /// How many commands await their reply.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Whether `ticket` still awaits its reply.
    pub fn is_pending(&self, ticket: Ticket) -> bool {
        self.pending.iter().any(|p| p.id == ticket.0)
    }

    /// The most commands that can be pending at once: `N`.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Send `qmp_capabilities`, asking for `oob` if `oob` is true **and** the greeting
    /// offered it. Returns whether `oob` was asked for; the reply comes as
    /// [`ClientOutcome::Negotiated`] (or [`ClientOutcome::NegotiationRefused`]).
    ///
    /// Only in [`ClientState::Greeted`].
    pub fn negotiate<S: Sink + ?Sized>(
        &mut self,
        oob: bool,
        sink: &mut S,
    ) -> Result<bool, ClientError<S::Error>> {
        let State::Greeted { oob_offered } = self.state else {
            return Err(ClientError::Misuse(ClientMisuse::CannotNegotiate(
                self.state(),
            )));
        };
        let oob = oob && oob_offered;
        let id = self.allocate_id();
        let enable = [QmpCapability::Oob];
        let command = QmpCapabilities {
            enable: oob.then_some(&enable[..]),
        };
        command
            .encode(sink, Some(Id::U64(id)))
            .map_err(ClientError::Encode)?;
        self.state = State::Negotiating {
            id,
            oob,
            oob_offered,
        };
        Ok(oob)
    }

    /// Write the typed command `command` (`execute`) and return its ticket.
    ///
    /// Only in [`ClientState::Ready`]. With `N` commands pending: [`ClientError::Busy`]
    /// and nothing written. If the sink fails, nothing is pending either.
    pub fn execute<C: Command, S: Sink + ?Sized>(
        &mut self,
        command: &C,
        sink: &mut S,
    ) -> Result<Ticket, ClientError<S::Error>> {
        self.send(false, sink, |sink, id| command.encode(sink, Some(id)))
    }

    /// Write the typed command `command` out of band (`exec-oob`). Needs `oob` enabled
    /// and a command that [allows it](Command::ALLOW_OOB); otherwise as
    /// [`execute`](Self::execute). Its reply may overtake the replies of in-band
    /// commands sent before it.
    pub fn execute_oob<C: Command, S: Sink + ?Sized>(
        &mut self,
        command: &C,
        sink: &mut S,
    ) -> Result<Ticket, ClientError<S::Error>> {
        if !C::ALLOW_OOB {
            return Err(ClientError::Misuse(ClientMisuse::OobNotAllowed));
        }
        self.send(true, sink, |sink, id| command.encode_oob(sink, Some(id)))
    }

    /// Write the command `name` with `arguments` (any [`Payload`]: `()` for none, an
    /// object otherwise), as [`execute`](Self::execute) does.
    pub fn execute_raw<'n, S: Sink + ?Sized>(
        &mut self,
        name: impl Into<Text<'n>>,
        arguments: impl Payload,
        sink: &mut S,
    ) -> Result<Ticket, ClientError<S::Error>> {
        let name = name.into();
        self.send(false, sink, |sink, id| {
            encode::command(sink, name, arguments, Some(id))
        })
    }

    /// [`execute_raw`](Self::execute_raw) out of band. Needs `oob` enabled; whether the
    /// server allows the command out of band is for the server to say.
    pub fn execute_raw_oob<'n, S: Sink + ?Sized>(
        &mut self,
        name: impl Into<Text<'n>>,
        arguments: impl Payload,
        sink: &mut S,
    ) -> Result<Ticket, ClientError<S::Error>> {
        let name = name.into();
        self.send(true, sink, |sink, id| {
            encode::command_oob(sink, name, arguments, Some(id))
        })
    }

    /// Write a command typed in the [human syntax](crate::shell) (`execute`), as
    /// [`execute`](Self::execute) does.
    ///
    /// ```
    /// use qmp_core::shell::ShellCommand;
    /// # use qmp_core::session::{Client, ClientOutcome};
    /// # use qmp_core::frame::Framer;
    /// # let mut client: Client = Client::new();
    /// # let mut framer = Framer::new([0u8; 256]);
    /// # framer.feed(br#"{"QMP": {"version": {"qemu": {"micro": 2, "minor": 0, "major": 10}, "package": ""}, "capabilities": []}}{"return": {}, "id": 0}"#, |item| {
    /// #     if let ClientOutcome::Greeting(_) = client.handle(item) {
    /// #         client.negotiate(false, &mut heapless::Vec::<u8, 128>::new()).unwrap();
    /// #     }
    /// # });
    /// let mut out = heapless::Vec::<u8, 128>::new();
    /// let line = ShellCommand::parse("device_del id=net0")?;
    /// let ticket = client.execute_shell(&line, &mut out)?;
    /// assert_eq!(&out[..], br#"{"execute":"device_del","arguments":{"id":"net0"},"id":1}"#);
    /// # assert!(client.is_pending(ticket));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn execute_shell<S: Sink + ?Sized>(
        &mut self,
        command: &ShellCommand<'_>,
        sink: &mut S,
    ) -> Result<Ticket, ClientError<S::Error>> {
        self.send(false, sink, |sink, id| command.encode(sink, Some(id)))
    }

    /// [`execute_shell`](Self::execute_shell) out of band (`exec-oob`). Needs `oob`
    /// enabled; whether the server allows the command out of band is for the server to
    /// say.
    pub fn execute_shell_oob<S: Sink + ?Sized>(
        &mut self,
        command: &ShellCommand<'_>,
        sink: &mut S,
    ) -> Result<Ticket, ClientError<S::Error>> {
        self.send(true, sink, |sink, id| command.encode_oob(sink, Some(id)))
    }

    /// Write the byte that resets the server's JSON parser (`0xFF`, see
    /// [`encode::resync`]) after a partial or garbled write. The server answers with one
    /// error without an id, which comes back as [`ClientOutcome::Resynced`] instead of
    /// [`ClientOutcome::IdlessError`]. Pending commands stay pending.
    ///
    /// In any state but [`ClientState::Closed`].
    pub fn resync<S: Sink + ?Sized>(&mut self, sink: &mut S) -> Result<(), ClientError<S::Error>> {
        if self.state == State::Closed {
            return Err(ClientError::Misuse(ClientMisuse::Closed));
        }
        encode::resync(sink).map_err(|e| ClientError::Encode(EncodeError::Sink(e)))?;
        self.resyncs = self.resyncs.saturating_add(1);
        Ok(())
    }

    /// Take one item from the framer: what it means, borrowing the frame. Call it for
    /// every item, in order.
    pub fn handle<'a>(&mut self, item: Result<Frame<'a>, FrameError>) -> ClientOutcome<'a> {
        match item {
            Ok(frame) => match Message::parse(frame) {
                Ok(message) => self.handle_message(message),
                Err(error) => ClientOutcome::NotQmp(error),
            },
            Err(error @ FrameError::TooLarge { .. }) => self.too_large(error),
            Err(error) => ClientOutcome::Framing(error),
        }
    }

    /// Take a message parsed elsewhere (not from a framer), as [`handle`](Self::handle)
    /// does.
    pub fn handle_message<'a>(&mut self, message: Message<'a>) -> ClientOutcome<'a> {
        match (self.state, message) {
            (State::AwaitingGreeting, Message::Greeting(greeting)) => {
                self.state = State::Greeted {
                    oob_offered: greeting.offers("oob"),
                };
                ClientOutcome::Greeting(greeting)
            }
            (State::Closed, _)
            | (_, Message::Greeting(_) | Message::Request(_))
            | (State::AwaitingGreeting, Message::Return(_) | Message::Error(_)) => {
                ClientOutcome::Unexpected(message)
            }
            // Also before the greeting: QEMU sends events to a connection it has
            // accepted but not yet greeted.
            (_, Message::Event(event)) => ClientOutcome::Event(event),
            (_, Message::Return(_) | Message::Error(_)) => self.reply(message),
        }
    }

    /// The transport closed: the session ends. Returns the tickets that will never be
    /// answered, oldest first. Afterwards commands are refused and messages are
    /// [`ClientOutcome::Unexpected`] until [`reset`](Self::reset).
    pub fn handle_close(&mut self) -> Unanswered<N> {
        self.state = State::Closed;
        self.take_pending()
    }

    /// Start over for a new connection: await a greeting. Returns the tickets still
    /// pending (none after [`handle_close`](Self::handle_close)). Ids go on from where
    /// they were, so a late reply from the old connection cannot match a new command.
    pub fn reset(&mut self) -> Unanswered<N> {
        self.state = State::AwaitingGreeting;
        self.take_pending()
    }

    fn take_pending(&mut self) -> Unanswered<N> {
        self.resyncs = 0;
        Unanswered {
            pending: core::mem::replace(&mut self.pending, Vec::new()),
            next: 0,
        }
    }

    /// Check the state and the room, write with `write` under a fresh id, and only then
    /// record the command as pending.
    fn send<S, F>(
        &mut self,
        oob: bool,
        sink: &mut S,
        write: F,
    ) -> Result<Ticket, ClientError<S::Error>>
    where
        S: Sink + ?Sized,
        F: FnOnce(&mut S, Id<'static>) -> Result<(), EncodeError<S::Error>>,
    {
        let State::Ready { oob: oob_enabled } = self.state else {
            return Err(ClientError::Misuse(ClientMisuse::NotReady(self.state())));
        };
        if oob && !oob_enabled {
            return Err(ClientError::Misuse(ClientMisuse::OobNotEnabled));
        }
        if self.pending.is_full() {
            return Err(ClientError::Busy);
        }
        let id = self.allocate_id();
        write(sink, Id::U64(id)).map_err(ClientError::Encode)?;
        // Cannot fail: the table had room and nothing else ran since.
        self.pending
            .push(Pending { id, oob })
            .map_err(|_| ClientError::Busy)?;
        Ok(Ticket(id))
    }

    /// The next id not in use. The counter would take centuries to wrap; if it does,
    /// ids still pending are skipped (at most `N` of them). The negotiation's id needs
    /// no check: nothing else is sent while it is in use.
    fn allocate_id(&mut self) -> u64 {
        loop {
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1);
            if !self.pending.iter().any(|p| p.id == id) {
                return id;
            }
        }
    }

    /// A return or an error: match it by id.
    fn reply<'a>(&mut self, message: Message<'a>) -> ClientOutcome<'a> {
        let Some(id) = message.id() else {
            return match message {
                Message::Error(error) if self.resyncs > 0 => {
                    self.resyncs -= 1;
                    ClientOutcome::Resynced(error)
                }
                Message::Error(error) => ClientOutcome::IdlessError(error),
                _ => ClientOutcome::UnknownReply(message),
            };
        };
        let Some(id) = id.as_u64() else {
            return ClientOutcome::UnknownReply(message);
        };
        if let State::Negotiating {
            id: negotiation,
            oob,
            oob_offered,
        } = self.state
        {
            if negotiation == id {
                return match message {
                    Message::Error(error) => {
                        self.state = State::Greeted { oob_offered };
                        ClientOutcome::NegotiationRefused(error)
                    }
                    _ => {
                        self.state = State::Ready { oob };
                        ClientOutcome::Negotiated { oob }
                    }
                };
            }
        }
        // `any` + `retain` rather than `position` + `remove`: `remove` links a `memmove`
        // that cost a firmware image 1.4 KB (footprint/README.md). Ids are unique.
        if !self.pending.iter().any(|p| p.id == id) {
            return ClientOutcome::UnknownReply(message);
        }
        self.pending.retain(|p| p.id != id);
        ClientOutcome::Reply {
            ticket: Ticket(id),
            message,
        }
    }

    /// A message larger than the buffer: the oldest in-band command's reply, when no
    /// out-of-band command is pending (see the module docs).
    fn too_large<'a>(&mut self, error: FrameError) -> ClientOutcome<'a> {
        let attributable =
            matches!(self.state, State::Ready { .. }) && !self.pending.iter().any(|p| p.oob);
        match self.pending.first().copied() {
            Some(oldest) if attributable => {
                self.pending.retain(|p| p.id != oldest.id);
                ClientOutcome::ReplyTooLarge {
                    ticket: Ticket(oldest.id),
                    error,
                }
            }
            _ => ClientOutcome::Framing(error),
        }
    }

    /// Set the id counter, for tests of the wrap-around.
    #[cfg(test)]
    pub(super) fn set_next_id(&mut self, next_id: u64) {
        self.next_id = next_id;
    }
}

/// The tickets a closed or reset [`Client`] will never see answered, oldest first.
#[derive(Clone, Debug)]
pub struct Unanswered<const N: usize> {
    pending: Vec<Pending, N>,
    next: usize,
}

impl<const N: usize> Iterator for Unanswered<N> {
    type Item = Ticket;

    fn next(&mut self) -> Option<Ticket> {
        let pending = self.pending.get(self.next)?;
        self.next += 1;
        Some(Ticket(pending.id))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.pending.len().saturating_sub(self.next);
        (n, Some(n))
    }
}

impl<const N: usize> ExactSizeIterator for Unanswered<N> {}
