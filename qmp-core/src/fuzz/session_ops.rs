//! [`session_ops`]: operation sequences against the sans-IO sessions. A client driven by
//! arbitrary server bytes and calls, a server fed arbitrary client bytes, and a
//! client/server pair that must answer every command exactly once.

use heapless::Vec;
use serde::Serialize;

use super::oracle::{assert_compact_ascii, opt_json_eq};
use crate::encode::{EmptyObject, Ser, SliceSink};
use crate::frame::{Frame, FrameError, Framer};
use crate::json::RawJson;
use crate::message::{parse_request, Message, Timestamp, Version};
use crate::scan::ScanConfig;
use crate::schema::commands::{MigratePause, QmpCapability, QueryStatus};
use crate::session::{
    handler_fn, Client, ClientError, ClientMisuse, ClientOutcome, ClientState, Server,
    ServerOutcome, ServerState, Ticket,
};

/// The framer buffer sizes the settings choose from: the small ones make greetings and
/// replies `TooLarge`.
const FRAMER_SIZES: [usize; 4] = [8, 48, 160, 1024];
/// The command names the client sends (one allowed out of band by QEMU, one unknown).
const NAMES: [&str; 4] = ["query-status", "migrate-pause", "x-unknown", "device_del"];
/// Room for what the client writes in one call.
const OUT: usize = 512;
/// Room for one server reply: an echoed id or arguments from a 1024-byte frame, with
/// non-ASCII escaped (at most threefold), and the error texts around them.
const REPLY: usize = 8 * 1024;
/// Pair mode: at most this many commands and events, so that neither direction's
/// buffer (`WIRE`) can fill up however late the fuzzer delivers.
const PAIR_MAX: u64 = 48;
const WIRE: usize = 16 * 1024;

/// What the checks saw, so that the unit tests can tell they were exercised.
#[derive(Clone, Copy, Debug, Default)]
#[cfg_attr(not(test), allow(dead_code))]
struct Stats {
    replies: usize,
    too_large: usize,
    busy: usize,
    refused: usize,
    sink_failed: usize,
    closed_with_pending: usize,
    server_replies: usize,
    server_returns: usize,
    /// Replies written by `Server::feed`.
    fed_replies: usize,
    pair_commands: usize,
    pair_events: usize,
}

#[cfg_attr(not(test), allow(dead_code))]
impl Stats {
    fn add(&mut self, o: Stats) {
        self.replies += o.replies;
        self.too_large += o.too_large;
        self.busy += o.busy;
        self.refused += o.refused;
        self.sink_failed += o.sink_failed;
        self.closed_with_pending += o.closed_with_pending;
        self.server_replies += o.server_replies;
        self.server_returns += o.server_returns;
        self.fed_replies += o.fed_replies;
        self.pair_commands += o.pair_commands;
        self.pair_events += o.pair_events;
    }
}

/// A byte reader over the input; reads past the end give zeros.
struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let (a, b) = self.data.split_at(n.min(self.data.len()));
        self.data = b;
        a
    }
}

/// Run the mode the first byte chooses (`byte % 3`: 0 client, 1 server, 2 pair), with
/// settings from its other bits, on the rest of the input.
///
/// - **Client** (`[settings, op…]`): `Client<1>` or `Client<4>` (bit 4), a framer of
///   8 to 1024 bytes (bits 2–3). Each op byte picks a call — feed the next `k` bytes
///   (the next byte; 0: end of input) to the framer and `handle`, `negotiate`,
///   `execute_raw`, `execute_raw_oob`, `execute_oob`, `execute`, `resync`,
///   `handle_close`, `reset` — writing into a sink that fails when bit 7 is set. Checks:
///   `pending() <= N` and equals the tickets issued and not settled; every `Reply` /
///   `ReplyTooLarge` ticket is one of those (so settled at most once), a
///   `ReplyTooLarge` the oldest, a `Reply` a return or error with the ticket's id;
///   `Busy` exactly when `N` are pending (and the call is otherwise allowed); a refused
///   or failed call leaves `pending()` unchanged; a misuse matches the state; what a
///   call writes is one request `parse_request` accepts, with the ticket's id; `close`
///   and `reset` hand back exactly the open tickets, oldest first.
/// - **Server** (`[settings, bytes…]`): offers `oob` (bit 2) or not, with or without a
///   version (bit 3), framer size (bits 4–5). Greets, then frames the bytes into
///   `handle` with a handler that answers success (echoing the arguments). Checks: every
///   item writes exactly one line ending in CRLF; the line is compact ASCII JSON that
///   `Message::parse` classifies as a return (only for an accepted request) or an error;
///   its id is the request's id (as `parse_request` finds it), none for bad bytes. Then
///   the same bytes go to a fresh server through `Server::feed`, one byte per call: each
///   call writes one compact ASCII QMP message, CRLF-ended, per outcome it reports.
/// - **Pair** (`[settings, op…]`): a `Client<4>` and a `Server` (oob offered: bit 2)
///   joined by two byte pipes. Op bytes send a command (negotiating first when due; out
///   of band when bit 3 of the op is set and `oob` is on), write a server event, or
///   deliver a fuzzer-sized chunk one way or the other. At the end everything is
///   delivered; every command must have come back exactly once, with its own reply
///   (the handler echoes the command's arguments), every event in order, nothing else.
pub fn session_ops(input: &[u8]) {
    let _ = run(input);
}

fn run(input: &[u8]) -> Stats {
    let Some((&settings, rest)) = input.split_first() else {
        return Stats::default();
    };
    let r = Reader { data: rest };
    match settings % 3 {
        0 if settings & 0x10 == 0 => client_ops::<1>(settings, r),
        0 => client_ops::<4>(settings, r),
        1 => server_bytes(settings, rest),
        _ => pair(settings, r),
    }
}

// Client against arbitrary server bytes and calls

/// The tickets issued and not settled, oldest first: the model of the pending table.
struct Model<const N: usize> {
    open: Vec<Ticket, N>,
    /// The highest id issued (ids only grow).
    last: Option<u64>,
    stats: Stats,
}

impl<const N: usize> Model<N> {
    /// A new id from the client: never seen before.
    fn fresh(&mut self, id: u64) {
        assert!(
            self.last.is_none_or(|last| id > last),
            "id {id} reused (last {:?})",
            self.last
        );
        self.last = Some(id);
    }

    fn settle(&mut self, ticket: Ticket, oldest: bool) {
        let at = self
            .open
            .iter()
            .position(|&t| t == ticket)
            .unwrap_or_else(|| panic!("{ticket} settled but not open: {:?}", self.open));
        if oldest {
            assert_eq!(at, 0, "a reply too large settled {ticket}, not the oldest");
        }
        self.open.remove(at);
    }

    fn check<const M: usize>(&self, client: &Client<M>) {
        assert!(client.pending() <= M, "{} pending of {M}", client.pending());
        assert_eq!(client.pending(), self.open.len(), "pending vs issued");
        for &t in &self.open {
            assert!(client.is_pending(t), "{t} issued, unsettled, not pending");
        }
    }
}

/// What a call that writes a command returned: check it against the model.
fn sent<const N: usize, E>(
    client: &Client<N>,
    model: &mut Model<N>,
    result: Result<Ticket, ClientError<E>>,
    before: usize,
    oob: bool,
    written: Option<&[u8]>,
) {
    let state = client.state();
    let allowed = match state {
        ClientState::Ready { oob: enabled } => enabled || !oob,
        _ => false,
    };
    match result {
        Ok(ticket) => {
            assert!(allowed, "a command sent in {state:?}");
            assert!(before < N, "a command sent with {before} of {N} pending");
            assert_eq!(client.pending(), before + 1);
            model.fresh(ticket.id());
            model.open.push(ticket).expect("room was checked");
            if let Some(written) = written {
                let request = parse_request(RawJson::parse(written).expect("valid JSON"), true)
                    .expect("the client wrote a valid request");
                assert_eq!(request.oob, oob);
                assert_eq!(request.id.and_then(|id| id.as_u64()), Some(ticket.id()));
            }
        }
        Err(e) => {
            assert_eq!(client.pending(), before, "a failed call changed pending");
            match e {
                ClientError::Busy => {
                    assert!(allowed && before == N, "Busy with {before} of {N}");
                    model.stats.busy += 1;
                }
                ClientError::Misuse(m) => {
                    assert!(!allowed, "{m:?} in {state:?}");
                    model.stats.refused += 1;
                }
                ClientError::Encode(_) => {
                    assert!(allowed && before < N, "the sink was asked in {state:?}");
                    assert!(written.is_none(), "a sink with room failed");
                    model.stats.sink_failed += 1;
                }
            }
        }
    }
}

/// One outcome of `handle`, against the model.
fn handled<const N: usize>(
    client: &Client<N>,
    model: &mut Model<N>,
    outcome: ClientOutcome<'_>,
    before: usize,
) {
    match outcome {
        ClientOutcome::Reply { ticket, message } => {
            model.settle(ticket, false);
            assert!(
                matches!(message, Message::Return(_) | Message::Error(_)),
                "a reply that is {message:?}"
            );
            let id = message.id().and_then(|id| id.as_u64());
            assert_eq!(id, Some(ticket.id()), "the reply's id is not its ticket's");
            assert_eq!(client.pending() + 1, before);
            model.stats.replies += 1;
        }
        ClientOutcome::ReplyTooLarge { ticket, error } => {
            assert!(matches!(error, FrameError::TooLarge { .. }), "{error:?}");
            model.settle(ticket, true);
            assert_eq!(client.pending() + 1, before);
            model.stats.too_large += 1;
        }
        ClientOutcome::Negotiated { oob } => {
            assert_eq!(client.state(), ClientState::Ready { oob });
            assert_eq!(client.pending(), before);
        }
        ClientOutcome::NegotiationRefused(_) => {
            assert!(matches!(client.state(), ClientState::Greeted { .. }));
            assert_eq!(client.pending(), before);
        }
        ClientOutcome::Greeting(greeting) => {
            let oob_offered = greeting.offers("oob");
            assert_eq!(client.state(), ClientState::Greeted { oob_offered });
        }
        _ => assert_eq!(client.pending(), before, "{outcome:?} changed pending"),
    }
}

fn client_ops<const N: usize>(settings: u8, mut r: Reader<'_>) -> Stats {
    let size = FRAMER_SIZES[usize::from(settings >> 2) & 3];
    let mut buf = [0u8; 1024];
    let mut framer = Framer::new(&mut buf[..size]);
    let mut client = Client::<N>::new();
    let mut model = Model::<N> {
        open: Vec::new(),
        last: None,
        stats: Stats::default(),
    };
    let mut out: Vec<u8, OUT> = Vec::new();
    let mut short = [0u8; 3];
    while !r.data.is_empty() {
        let op = r.byte();
        let failing = op & 0x80 != 0;
        let mut short_sink = SliceSink::new(&mut short[..usize::from(op >> 5) & 3]);
        out.clear();
        let before = client.pending();
        // The bytes written, when the sink could hold them.
        macro_rules! call {
            ($call:ident $(, $arg:expr)*) => {
                if failing {
                    (client.$call($($arg,)* &mut short_sink), None)
                } else {
                    let result = client.$call($($arg,)* &mut out);
                    (result, Some(&out[..]))
                }
            };
        }
        match op & 0x0F {
            0..=3 => {
                let k = usize::from(r.byte());
                let chunk = r.take(k);
                let mut on_item = |item: Result<Frame<'_>, FrameError>| {
                    let before = client.pending();
                    let outcome = client.handle(item);
                    handled(&client, &mut model, outcome, before);
                };
                framer.feed(chunk, &mut on_item);
                if k == 0 {
                    framer.finish();
                    framer.drain(&mut on_item);
                }
            }
            4 => {
                let state = client.state();
                let (result, written) = call!(negotiate, op & 0x40 != 0);
                assert_eq!(client.pending(), before);
                match result {
                    Ok(oob) => {
                        assert!(matches!(state, ClientState::Greeted { .. }));
                        assert_eq!(client.state(), ClientState::Negotiating { oob });
                        if let Some(written) = written {
                            let request = parse_request(RawJson::parse(written).unwrap(), false)
                                .expect("qmp_capabilities is a valid request");
                            assert!(request.name == "qmp_capabilities");
                            model.fresh(request.id.and_then(|id| id.as_u64()).unwrap());
                        }
                    }
                    Err(ClientError::Misuse(_)) => {
                        assert!(!matches!(state, ClientState::Greeted { .. }));
                    }
                    Err(ClientError::Encode(_)) => {
                        assert!(written.is_none(), "a sink with room failed");
                        assert_eq!(client.state(), state);
                    }
                    Err(ClientError::Busy) => panic!("negotiate is never Busy"),
                }
            }
            5 | 6 => {
                let name = NAMES[usize::from(op >> 4) & 3];
                let (result, written) = call!(execute_raw, name, ());
                sent(&client, &mut model, result, before, false, written);
            }
            7 => {
                let name = NAMES[usize::from(op >> 4) & 3];
                let (result, written) = call!(execute_raw_oob, name, ());
                sent(&client, &mut model, result, before, true, written);
            }
            8 => {
                let (result, written) = call!(execute_oob, &MigratePause);
                sent(&client, &mut model, result, before, true, written);
            }
            9 => {
                let (result, written) = call!(execute, &QueryStatus);
                sent(&client, &mut model, result, before, false, written);
            }
            10 | 11 => {
                let closed = client.state() == ClientState::Closed;
                let (result, written) = call!(resync);
                assert_eq!(client.pending(), before);
                match result {
                    Ok(()) => {
                        assert!(!closed);
                        if let Some(written) = written {
                            assert_eq!(written, b"\xff");
                        }
                    }
                    Err(ClientError::Misuse(ClientMisuse::Closed)) => assert!(closed),
                    Err(ClientError::Encode(_)) => assert!(written.is_none()),
                    Err(e) => panic!("resync: {e:?}"),
                }
            }
            12 | 13 => {
                let tickets = if op & 1 == 0 {
                    let t = client.handle_close();
                    assert_eq!(client.state(), ClientState::Closed);
                    t
                } else {
                    let t = client.reset();
                    assert_eq!(client.state(), ClientState::AwaitingGreeting);
                    framer.reset();
                    t
                };
                assert_eq!(tickets.len(), model.open.len());
                assert!(tickets.eq(model.open.iter().copied()), "unanswered tickets");
                if !model.open.is_empty() {
                    model.stats.closed_with_pending += 1;
                }
                model.open.clear();
                assert_eq!(client.pending(), 0);
            }
            _ => {
                // A late finish: whatever the framer holds ends.
                framer.finish();
                framer.drain(|item| {
                    let before = client.pending();
                    let outcome = client.handle(item);
                    handled(&client, &mut model, outcome, before);
                });
            }
        }
        model.check(&client);
    }
    model.stats
}

// Server against arbitrary client bytes

fn server_bytes(settings: u8, input: &[u8]) -> Stats {
    let mut stats = Stats::default();
    let offered = [QmpCapability::Oob];
    let capabilities = if settings & 0x04 != 0 {
        &offered[..]
    } else {
        &[]
    };
    let version = (settings & 0x08 != 0).then(|| Version::new(10, 0, 2));
    let mut server = Server::new(version, capabilities);
    let mut out: Vec<u8, REPLY> = Vec::new();
    server.greet(&mut out).expect("the greeting fits");
    let greeting = out
        .strip_suffix(b"\r\n")
        .expect("the greeting ends with CRLF");
    assert_compact_ascii(greeting);
    assert!(matches!(
        Message::parse(RawJson::parse(greeting).expect("valid JSON")),
        Ok(Message::Greeting(g)) if g.offers("oob") == (settings & 0x04 != 0)
    ));

    let size = FRAMER_SIZES[usize::from(settings >> 4) & 3];
    let mut buf = [0u8; 1024];
    let mut framer = Framer::new(&mut buf[..size]);
    let mut handler = handler_fn(|request, responder| match request.arguments {
        Some(arguments) => responder.success(arguments),
        None => responder.success(EmptyObject),
    });
    let mut on_item = |item: Result<Frame<'_>, FrameError>| {
        out.clear();
        // The id the reply must carry, as QEMU's rules find it, before the server acts.
        let oob = server.oob_enabled();
        let expected_id = match item {
            Ok(frame) => match parse_request(frame, oob) {
                Ok(request) => request.id,
                Err(refused) => refused.id,
            },
            Err(_) => None,
        };
        let was = server.state();
        let outcome = server
            .handle(item, &mut handler, &mut out)
            .expect("the reply fits");
        let line = out.strip_suffix(b"\r\n").expect("the reply ends with CRLF");
        assert!(
            !line.windows(2).any(|w| w == b"\r\n"),
            "more than one line for one item"
        );
        assert_compact_ascii(line);
        let reply = RawJson::parse(line).expect("the reply is valid JSON");
        let message = Message::parse(reply).expect("the reply is a QMP message");
        let returned = match message {
            Message::Return(_) => true,
            Message::Error(_) => false,
            other => panic!("a reply that is {other:?}"),
        };
        assert!(
            opt_json_eq(message.id(), expected_id),
            "reply id {:?}, request id {expected_id:?}",
            message.id()
        );
        match outcome {
            ServerOutcome::Negotiated { oob } => {
                assert!(returned);
                assert_eq!(was, ServerState::Negotiation);
                assert_eq!(server.state(), ServerState::Command { oob });
                assert!(!oob || settings & 0x04 != 0, "oob enabled, not offered");
            }
            ServerOutcome::Executed(request) => {
                assert!(returned);
                assert!(matches!(was, ServerState::Command { .. }));
                if let (Message::Return(r), Some(arguments)) = (message, request.arguments) {
                    assert!(super::oracle::json_eq(
                        r.value.as_bytes(),
                        arguments.as_bytes()
                    ));
                }
            }
            ServerOutcome::Refused(_) => {
                assert!(!returned, "a refusal returned");
                assert_eq!(server.state(), was, "a refusal changed the state");
            }
        }
        stats.server_replies += 1;
        stats.server_returns += usize::from(returned);
    };
    framer.feed(input, &mut on_item);
    framer.finish();
    framer.drain(&mut on_item);

    // The same bytes through `Server::feed` (QEMU's JSON engine beside a server
    // framer), a byte per call: every call writes one valid, compact, ASCII reply per
    // outcome.
    let mut server = Server::new(version, capabilities);
    out.clear();
    server.greet(&mut out).expect("the greeting fits");
    let mut buf = [0u8; 1024];
    let mut framer = Framer::with_config(&mut buf[..size], ScanConfig::qmp_server());
    for byte in input {
        out.clear();
        let mut outcomes = 0;
        server
            .feed(
                &mut framer,
                core::slice::from_ref(byte),
                &mut handler,
                &mut out,
                |_| outcomes += 1,
            )
            .expect("the replies fit");
        let mut lines = 0;
        let mut rest = &out[..];
        while !rest.is_empty() {
            let end = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .expect("every reply ends with CRLF");
            let line = &rest[..end];
            assert_compact_ascii(line);
            let reply = RawJson::parse(line).expect("the reply is valid JSON");
            assert!(Message::parse(reply).is_ok(), "the reply is a QMP message");
            rest = &rest[end + 2..];
            lines += 1;
        }
        assert_eq!(lines, outcomes, "one reply per outcome");
        stats.fed_replies += lines;
    }
    stats
}

// A client and a server through two pipes

#[derive(Serialize)]
struct Arg {
    n: u64,
}

#[derive(Serialize)]
struct Seq {
    seq: u64,
}

/// One direction of the connection: bytes written, and how far they were delivered.
struct Pipe {
    bytes: Vec<u8, WIRE>,
    read: usize,
}

impl Pipe {
    /// The next `k` undelivered bytes (all of them for 0); the pipe empties once read.
    fn take(&mut self, k: usize, out: &mut [u8; WIRE]) -> usize {
        let left = self.bytes.len() - self.read;
        let n = if k == 0 { left } else { k.min(left) };
        out[..n].copy_from_slice(&self.bytes[self.read..self.read + n]);
        self.read += n;
        if self.read == self.bytes.len() {
            self.bytes.clear();
            self.read = 0;
        }
        n
    }

    fn is_empty(&self) -> bool {
        self.bytes.len() == self.read
    }
}

/// The pair's state: what was sent, what came back.
struct Pair {
    client: Client<4>,
    server: Server<'static>,
    to_server: Pipe,
    to_client: Pipe,
    client_framer: Framer<[u8; 1024]>,
    server_framer: Framer<[u8; 1024]>,
    /// Per command `n` (its argument): the ticket, and whether its reply came.
    sent: Vec<(Ticket, bool), { PAIR_MAX as usize }>,
    events: u64,
    events_seen: u64,
    scratch: [u8; WIRE],
}

const OOB: [QmpCapability<'static>; 1] = [QmpCapability::Oob];

impl Pair {
    fn deliver_to_server(&mut self, k: usize) {
        let n = self.to_server.take(k, &mut self.scratch);
        let (server, out) = (&mut self.server, &mut self.to_client.bytes);
        let mut handler = handler_fn(|request, responder| match request.arguments {
            Some(arguments) => responder.success(arguments),
            None => responder.success(EmptyObject),
        });
        self.server_framer.feed(&self.scratch[..n], |item| {
            let outcome = server.handle(item, &mut handler, out).expect("fits");
            assert!(
                matches!(
                    outcome,
                    ServerOutcome::Negotiated { .. } | ServerOutcome::Executed(_)
                ),
                "the server refused the client: {outcome:?}"
            );
        });
    }

    fn deliver_to_client(&mut self, k: usize) {
        let n = self.to_client.take(k, &mut self.scratch);
        let (client, sent) = (&mut self.client, &mut self.sent);
        let events_seen = &mut self.events_seen;
        self.client_framer
            .feed(&self.scratch[..n], |item| match client.handle(item) {
                ClientOutcome::Greeting(_) | ClientOutcome::Negotiated { .. } => {}
                ClientOutcome::Reply {
                    ticket,
                    message: Message::Return(ret),
                } => {
                    let n = ret
                        .value
                        .members()
                        .find(|(k, _)| *k == "n")
                        .and_then(|(_, v)| v.as_u64())
                        .expect("the echo of the argument");
                    let entry = usize::try_from(n)
                        .ok()
                        .and_then(|n| sent.get_mut(n))
                        .expect("a reply to a command never sent");
                    assert_eq!(entry.0, ticket, "command {n} got another's reply");
                    assert!(!entry.1, "command {n} answered twice");
                    entry.1 = true;
                }
                ClientOutcome::Event(event) => {
                    let seq = event
                        .data
                        .and_then(|d| d.members().find(|(k, _)| *k == "seq"))
                        .and_then(|(_, v)| v.as_u64());
                    assert_eq!(seq, Some(*events_seen), "events out of order");
                    *events_seen += 1;
                }
                other => panic!("the pair saw {other:?}"),
            });
    }

    /// Send a command, negotiating first when the greeting is in.
    fn command(&mut self, oob: bool) {
        let n = self.sent.len() as u64;
        if n == PAIR_MAX {
            return;
        }
        let out = &mut self.to_server.bytes;
        match self.client.state() {
            ClientState::Greeted { .. } => {
                self.client.negotiate(oob, out).expect("negotiate fits");
            }
            ClientState::Ready { oob: enabled } if self.client.pending() < 4 => {
                let arg = Ser(Arg { n });
                let ticket = if oob && enabled {
                    self.client.execute_raw_oob("echo", arg, out)
                } else {
                    self.client.execute_raw("echo", arg, out)
                };
                let ticket = ticket.expect("a command fits");
                self.sent.push((ticket, false)).expect("room was checked");
            }
            _ => {}
        }
    }

    fn event(&mut self) {
        if self.events == PAIR_MAX || !matches!(self.server.state(), ServerState::Command { .. }) {
            return;
        }
        let at = Timestamp {
            seconds: 1_755_977_653,
            microseconds: 248_749,
        };
        let data = Ser(Seq { seq: self.events });
        self.server
            .event("ECHO", data, at, &mut self.to_client.bytes)
            .expect("an event fits");
        self.events += 1;
    }
}

fn pair(settings: u8, mut r: Reader<'_>) -> Stats {
    let capabilities: &'static [QmpCapability<'static>] =
        if settings & 0x04 != 0 { &OOB } else { &[] };
    let mut p = Pair {
        client: Client::new(),
        server: Server::new(Some(Version::new(10, 0, 2)), capabilities),
        to_server: Pipe {
            bytes: Vec::new(),
            read: 0,
        },
        to_client: Pipe {
            bytes: Vec::new(),
            read: 0,
        },
        client_framer: Framer::new([0u8; 1024]),
        server_framer: Framer::new([0u8; 1024]),
        sent: Vec::new(),
        events: 0,
        events_seen: 0,
        scratch: [0u8; WIRE],
    };
    p.server.greet(&mut p.to_client.bytes).expect("fits");
    while !r.data.is_empty() {
        let op = r.byte();
        match op & 7 {
            0..=2 => p.command(op & 0x08 != 0),
            3 => p.event(),
            4 | 5 => p.deliver_to_server(usize::from(op >> 3)),
            _ => p.deliver_to_client(usize::from(op >> 3)),
        }
        assert!(p.client.pending() <= 4);
    }
    // Deliver everything; a greeting still unanswered is negotiated.
    for _ in 0..3 {
        p.deliver_to_client(0);
        p.command(false);
        p.deliver_to_server(0);
        p.deliver_to_client(0);
    }
    assert!(p.to_server.is_empty() && p.to_client.is_empty());
    assert_eq!(p.client.pending(), 0, "commands left unanswered");
    for (n, (ticket, answered)) in p.sent.iter().enumerate() {
        assert!(answered, "command {n} ({ticket}) got no reply");
    }
    assert_eq!(p.events_seen, p.events, "events lost");
    assert!(
        matches!(p.client.state(), ClientState::Ready { .. }),
        "not negotiated"
    );
    Stats {
        pair_commands: p.sent.len(),
        pair_events: usize::try_from(p.events).unwrap_or(usize::MAX),
        ..Stats::default()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::vec::Vec;

    use super::*;

    /// The first settings byte with mode `mode` whose bits under `mask` are `bits`.
    fn settings(mode: u8, mask: u8, bits: u8) -> u8 {
        (0..=255u8)
            .find(|s| s % 3 == mode && s & mask == bits)
            .expect("such settings exist")
    }

    // Client ops (see `client_ops`).
    const NEGOTIATE: u8 = 0x04;
    const NEGOTIATE_OOB: u8 = 0x44;
    const EXECUTE_RAW: u8 = 0x05;
    const EXECUTE_RAW_OOB: u8 = 0x17; // migrate-pause
    const EXECUTE_OOB: u8 = 0x08;
    const EXECUTE: u8 = 0x09;
    /// `execute_raw` into a sink with no room.
    const EXECUTE_FAILING: u8 = 0x85;
    const RESYNC: u8 = 0x0A;
    const CLOSE: u8 = 0x0C;
    const RESET: u8 = 0x0D;
    const FINISH: u8 = 0x0E;

    /// A client program: ops, and server bytes fed in chunks of at most 255.
    #[derive(Default)]
    struct Program(Vec<u8>);

    impl Program {
        fn op(mut self, op: u8) -> Self {
            self.0.push(op);
            self
        }

        fn feed(mut self, bytes: &[u8]) -> Self {
            for chunk in bytes.chunks(255) {
                self.0.push(0);
                self.0.push(chunk.len() as u8);
                self.0.extend_from_slice(chunk);
            }
            self
        }
    }

    const GREETING_OOB: &[u8] = b"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}, \"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n";

    fn ret(id: u64) -> std::string::String {
        std::format!("{{\"return\": {{}}, \"id\": {id}}}\r\n")
    }

    fn client(settings: u8, program: Program) -> Stats {
        let mut input = std::vec![settings];
        input.extend_from_slice(&program.0);
        run(&input)
    }

    #[test]
    fn client_crafted_programs() {
        let n4_big = settings(0, 0x1C, 0x1C);
        let mut stats = client(
            n4_big,
            Program::default()
                .op(EXECUTE)
                .feed(GREETING_OOB)
                .op(NEGOTIATE_OOB)
                .feed(ret(0).as_bytes())
                .op(EXECUTE_RAW)
                .op(EXECUTE)
                .op(EXECUTE_RAW_OOB)
                .op(EXECUTE_FAILING) // the sink fails
                .op(EXECUTE_OOB)
                .op(EXECUTE_RAW) // Busy
                .op(EXECUTE_FAILING) // Busy before the sink is asked
                .feed(ret(3).as_bytes())
                .feed(b"{\"id\": 1, \"error\": {\"class\": \"GenericError\", \"desc\": \"x\"}}")
                .op(FINISH)
                .feed(ret(1).as_bytes()) // already answered
                .op(RESYNC)
                .feed(b"{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error\"}}\r\n")
                .op(CLOSE)
                .op(EXECUTE)
                .op(RESET)
                .feed(GREETING_OOB)
                .op(NEGOTIATE)
                .feed(ret(6).as_bytes()) // ids go on: 4 went to the failed command
                .op(EXECUTE_RAW_OOB) // oob not enabled
                .op(EXECUTE_RAW)
                .op(RESET),
        );
        assert_eq!(stats.replies, 2, "{stats:?}");
        assert_eq!(stats.busy, 2, "{stats:?}");
        assert_eq!(stats.sink_failed, 1, "{stats:?}");
        assert_eq!(stats.closed_with_pending, 2, "{stats:?}");
        assert!(stats.refused >= 3, "{stats:?}");

        // A framer of 48 bytes: the 0.12 greeting and `{}` returns fit, a status does not.
        let mut greeting = heapless::Vec::<u8, 128>::new();
        Server::new(None, &[]).greet(&mut greeting).unwrap();
        assert!(greeting.len() <= 48);
        let n4_small = settings(0, 0x1C, 0x14);
        let status = b"{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": 1}\r\n";
        stats = client(
            n4_small,
            Program::default()
                .feed(&greeting)
                .op(NEGOTIATE_OOB) // not offered: without
                .feed(ret(0).as_bytes())
                .op(EXECUTE)
                .op(EXECUTE_RAW)
                .feed(status)
                .feed(ret(2).as_bytes())
                .feed(status), // nothing pending: a framing error
        );
        assert_eq!((stats.too_large, stats.replies), (1, 1), "{stats:?}");

        // Client<1>: Busy at the second command.
        let n1 = settings(0, 0x1C, 0x0C);
        stats = client(
            n1,
            Program::default()
                .feed(GREETING_OOB)
                .op(NEGOTIATE_OOB)
                .feed(ret(0).as_bytes())
                .op(EXECUTE)
                .op(EXECUTE_OOB)
                .feed(ret(1).as_bytes())
                .op(EXECUTE_OOB)
                .feed(ret(2).as_bytes()),
        );
        assert_eq!((stats.busy, stats.replies), (1, 2), "{stats:?}");
    }

    #[test]
    fn server_crafted_streams() {
        let stream: &[u8] = b"{\"execute\": \"query-name\", \"id\": \"a\"}\
            {\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\", 1]}, \"id\": 2}\
            {\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}, \"id\": [3]}\
            {\"execute\": \"x\", \"arguments\": {\"a\": [1, \"\xc3\xa9\\u00e9\"]}, \"id\": {\"k\": 1}}\
            \xff[1]{\"exec-oob\": \"qmp_capabilities\", \"id\": 3}{\"execute\": \"qmp_capabilities\"}\
            {\"execute\": 1, \"id\": null}{\"exec-oob\": \"y\", \"id\": \"z\"}{\"execute\": \"y\", \"x\": 1}\
            {\"execute\": \"y\", \"arguments\": {\"long\": \"0123456789012345678901234567890123456789\"}}\
            {\"execute\": \"y\", \"id\": 1, \"arguments\": [] }{\"execute\" \"y\"}";
        let mut total = Stats::default();
        for bits in [0x00, 0x04, 0x0C, 0x14, 0x24, 0x34, 0x38] {
            let mut input = std::vec![settings(1, 0x3C, bits)];
            input.extend_from_slice(stream);
            total.add(run(&input));
        }
        assert!(total.server_replies > 50, "{total:?}");
        assert!(total.server_returns > 5, "{total:?}");
        assert!(total.fed_replies > 50, "{total:?}");
    }

    #[test]
    fn pair_crafted_sessions() {
        // Command (negotiates), deliver both ways, then commands and events interleaved,
        // delivered in chunks of 1, 3 and everything.
        let program: &[u8] = &[
            0x06, 0x00, 0x04, 0x06, 0x00, 0x08, 0x00, 0x03, 0x01, 0x08, 0x03, 0x0C, 0x0E, 0x1E,
            0x04, 0x0C, 0x16, 0x02, 0x03, 0x03, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x06, 0x03,
        ];
        let mut total = Stats::default();
        for oob in [0x00, 0x04] {
            let mut input = std::vec![settings(2, 0x04, oob)];
            input.extend_from_slice(program);
            total.add(run(&input));
        }
        assert!(total.pair_commands >= 8, "{total:?}");
        assert!(total.pair_events >= 6, "{total:?}");
    }

    /// xorshift64*, for reproducible pseudo-random inputs.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    #[test]
    fn pseudo_random_inputs() {
        let mut rng = Rng(0x5E55_10F0_0D5E_ED01);
        let mut total = Stats::default();
        let mut old = heapless::Vec::<u8, 128>::new();
        Server::new(None, &[]).greet(&mut old).unwrap();
        let ops = [
            NEGOTIATE,
            NEGOTIATE_OOB,
            EXECUTE_RAW,
            EXECUTE_RAW_OOB,
            EXECUTE_OOB,
            EXECUTE,
            EXECUTE_FAILING,
            RESYNC,
            CLOSE,
            RESET,
            FINISH,
        ];
        for _ in 0..300 {
            // Client: a greeting and negotiation, then ops among canned server messages
            // with ids near the client's.
            let greeting = if rng.below(2) == 0 {
                GREETING_OOB
            } else {
                &old[..]
            };
            let mut program = Program::default()
                .feed(greeting)
                .op(ops[rng.below(2) as usize])
                .feed(ret(0).as_bytes());
            for _ in 0..rng.below(60) {
                let id = rng.below(12);
                program = match rng.below(8) {
                    0 => program.feed(greeting),
                    1..=3 => program.feed(ret(id).as_bytes()),
                    4 => program.feed(std::format!("{{\"return\": {{\"status\": \"running\", \"running\": true}}, \"id\": {id}}}").as_bytes()),
                    5 => program.feed(b"{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\r\n"),
                    _ => program.op(ops[rng.below(ops.len() as u64) as usize]),
                };
            }
            let s = (rng.below(256) as u8) & !3;
            total.add(client(settings(0, 0xFC, s & 0x1C), program));
            // Server, and pair: random bytes.
            let len = rng.below(300) as usize;
            let mut input: Vec<u8> = (0..=len).map(|_| rng.next() as u8).collect();
            input[0] = settings(1, 0x3C, input[0] & 0x3C);
            total.add(run(&input));
            input[0] = settings(2, 0x04, input[0] & 0x04);
            total.add(run(&input));
        }
        let s = total;
        for (what, n) in [
            ("replies", s.replies),
            ("too large", s.too_large),
            ("busy", s.busy),
            ("refused", s.refused),
            ("sink failed", s.sink_failed),
            ("closed with pending", s.closed_with_pending),
            ("server replies", s.server_replies),
            ("fed replies", s.fed_replies),
            ("pair commands", s.pair_commands),
            ("pair events", s.pair_events),
        ] {
            assert!(n > 0, "no {what}: {s:?}");
        }
    }
}
