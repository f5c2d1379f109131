//! A `session::Client` and a `session::Server` talking to each other through real
//! `Framer`s and byte buffers, deterministically.
//!
//! Every scenario runs with the bytes of each hop delivered whole, one byte at a time,
//! and in random pieces (seeded: `QMP_TEST_SEED` first if set, then fixed seeds), and
//! must give the same outcomes every way. The server can hold back its in-band replies,
//! as QEMU's queue does, so that out-of-band replies and events overtake them.

mod common;

use std::collections::BTreeMap;
use std::convert::Infallible;

use qmp_core::encode::{BufferFull, EmptyObject, EncodeError, Ser, Sink, SliceSink};
use qmp_core::frame::{FrameError, Framer};
use qmp_core::json::RawJson;
use qmp_core::message::{Message, MessageErrorKind, Request, Timestamp, Version};
use qmp_core::schema::commands::{Command, MigratePause, QmpCapability, QueryStatus, Yank};
use qmp_core::session::{
    Answered, Client, ClientError, ClientOutcome, ClientState, Handler, Responder, Server,
    ServerOutcome, ServerState, Ticket,
};
use serde_json::{json, Value};

use common::{seeds, Rng};

// ---------------------------------------------------------------------------------
// The harness

/// A growable sink.
#[derive(Default)]
struct Bytes(Vec<u8>);

impl Sink for Bytes {
    type Error = Infallible;

    fn write(&mut self, bytes: &[u8]) -> Result<(), Infallible> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

/// How each hop's bytes are handed to the framer.
#[derive(Clone, Copy, Debug)]
enum Chunking {
    Whole,
    OneByte,
    Random(u64),
}

/// Every way to chunk: whole, one byte, and seeded random pieces.
fn chunkings() -> Vec<Chunking> {
    let mut all = vec![Chunking::Whole, Chunking::OneByte];
    all.extend(seeds(6).into_iter().map(Chunking::Random));
    all
}

/// A client outcome, owned.
#[derive(Clone, Debug, PartialEq)]
enum Seen {
    Greeting {
        oob_offered: bool,
    },
    Negotiated {
        oob: bool,
    },
    NegotiationRefused(String),
    /// The reply's `return` value, or `{"class", "desc"}` for an error.
    Reply {
        ticket: Ticket,
        ok: bool,
        value: Value,
    },
    TooLarge {
        ticket: Ticket,
        len: u64,
    },
    Event(String),
    Resynced,
    UnknownReply {
        id: Value,
        value: Value,
    },
    Idless(String),
    Unexpected,
    Framing(FrameError),
    NotQmp(MessageErrorKind),
}

fn value(raw: RawJson<'_>) -> Value {
    serde_json::from_slice(raw.as_bytes()).unwrap()
}

/// A reply's payload: the return value, or the error's class and desc.
fn payload(message: &Message<'_>) -> (bool, Value) {
    match message {
        Message::Return(r) => (true, value(r.value)),
        Message::Error(e) => (
            false,
            json!({"class": e.class.name(), "desc": e.desc.to_string()}),
        ),
        other => panic!("not a reply: {other:?}"),
    }
}

fn seen(outcome: ClientOutcome<'_>) -> Seen {
    match outcome {
        ClientOutcome::Greeting(g) => Seen::Greeting {
            oob_offered: g.offers("oob"),
        },
        ClientOutcome::Negotiated { oob } => Seen::Negotiated { oob },
        ClientOutcome::NegotiationRefused(e) => Seen::NegotiationRefused(e.desc.to_string()),
        ClientOutcome::Reply { ticket, message } => {
            let (ok, value) = payload(&message);
            Seen::Reply { ticket, ok, value }
        }
        ClientOutcome::ReplyTooLarge { ticket, error } => Seen::TooLarge {
            ticket,
            len: error.skipped(),
        },
        ClientOutcome::Event(e) => Seen::Event(e.name.to_string()),
        ClientOutcome::Resynced(_) => Seen::Resynced,
        ClientOutcome::UnknownReply(message) => Seen::UnknownReply {
            id: message.id().map_or(Value::Null, value),
            value: payload(&message).1,
        },
        ClientOutcome::IdlessError(e) => Seen::Idless(e.desc.to_string()),
        ClientOutcome::Unexpected(_) => Seen::Unexpected,
        ClientOutcome::Framing(e) => Seen::Framing(e),
        ClientOutcome::NotQmp(e) => Seen::NotQmp(e.kind),
        other => panic!("an outcome this test does not know: {other:?}"),
    }
}

/// The test server's commands: `echo` returns `{"command": "echo", "n": N}` for its
/// argument `n`, `big` a string of `len` bytes, `yank` and `migrate-pause` `{}` (also
/// out of band), `stop` `{}`; anything else is not found, and out-of-band calls of
/// in-band commands are refused as QEMU refuses them.
struct TestCommands;

#[derive(serde::Serialize)]
struct Echo {
    command: &'static str,
    n: u64,
}

impl Handler<Bytes> for TestCommands {
    fn execute(
        &mut self,
        request: &Request<'_>,
        responder: Responder<'_, Bytes>,
    ) -> Result<Answered, EncodeError<Infallible>> {
        let arg = |name| {
            request
                .arguments
                .and_then(|a| a.get(name))
                .and_then(|v| v.as_u64())
        };
        let name = request.name.as_str().unwrap_or_default();
        let oob_allowed = matches!(name, "yank" | "migrate-pause");
        if request.oob && !oob_allowed {
            return responder.oob_not_supported();
        }
        match name {
            "echo" => responder.success(Ser(&Echo {
                command: "echo",
                n: arg("n").unwrap_or(0),
            })),
            "big" => responder.success(Ser("x".repeat(arg("len").unwrap_or(0) as usize))),
            "yank" | "migrate-pause" | "stop" => responder.success(EmptyObject),
            _ => responder.command_not_found(),
        }
    }
}

/// A client and a server, the bytes in flight between them, and what each side saw.
struct Pair {
    client: Client,
    server: Server<'static>,
    client_framer: Framer<Vec<u8>>,
    server_framer: Framer<Vec<u8>>,
    /// Written by the client, not yet delivered.
    to_server: Bytes,
    /// Written (and released) by the server, not yet delivered.
    to_client: Bytes,
    /// In-band replies the server holds back, oldest first.
    held: Vec<Vec<u8>>,
    /// Whether the server holds back in-band replies (QEMU's queue with oob).
    hold: bool,
    chunking: Chunking,
    rng: Rng,
    /// What the client saw.
    log: Vec<Seen>,
    /// How many requests the server executed and refused.
    executed: usize,
    refused: usize,
}

const VERSION: Version<'static> = Version::new(10, 0, 2);
const OOB: &[QmpCapability<'static>] = &[QmpCapability::Oob];
const AT: Timestamp = Timestamp {
    seconds: 1_755_977_653,
    microseconds: 248_749,
};

impl Pair {
    fn new(
        offered: &'static [QmpCapability<'static>],
        client_buf: usize,
        chunking: Chunking,
    ) -> Self {
        let seed = match chunking {
            Chunking::Random(seed) => seed,
            _ => 0,
        };
        let mut pair = Pair {
            client: Client::new(),
            server: Server::new(Some(VERSION), offered),
            client_framer: Framer::new(vec![0u8; client_buf]),
            server_framer: Framer::new(vec![0u8; 4096]),
            to_server: Bytes::default(),
            to_client: Bytes::default(),
            held: Vec::new(),
            hold: false,
            chunking,
            rng: Rng::new(seed),
            log: Vec::new(),
            executed: 0,
            refused: 0,
        };
        pair.server.greet(&mut pair.to_client).unwrap();
        pair
    }

    /// Greeted and negotiated, asking for `oob`.
    fn negotiated(
        offered: &'static [QmpCapability<'static>],
        oob: bool,
        chunking: Chunking,
    ) -> Self {
        let mut pair = Pair::new(offered, 1024, chunking);
        pair.deliver_to_client();
        let asked = pair.client.negotiate(oob, &mut pair.to_server).unwrap();
        pair.deliver_to_server();
        pair.deliver_to_client();
        assert_eq!(
            pair.take_log(),
            [
                Seen::Greeting {
                    oob_offered: !offered.is_empty()
                },
                Seen::Negotiated { oob: asked }
            ]
        );
        assert_eq!(pair.server.state(), ServerState::Command { oob: asked });
        pair
    }

    /// The pieces to hand `bytes` over in.
    fn pieces(&mut self, len: usize) -> Vec<usize> {
        let mut sizes = Vec::new();
        let mut left = len;
        while left > 0 {
            let n = match self.chunking {
                Chunking::Whole => left,
                Chunking::OneByte => 1,
                Chunking::Random(_) => self.rng.range(1, 64).min(left),
            };
            sizes.push(n);
            left -= n;
        }
        sizes
    }

    /// Hand what the client wrote to the server, which answers each item.
    fn deliver_to_server(&mut self) {
        let bytes = std::mem::take(&mut self.to_server.0);
        let sizes = self.pieces(bytes.len());
        let mut rest = &bytes[..];
        for n in sizes {
            let (piece, tail) = rest.split_at(n);
            rest = tail;
            let Pair {
                server,
                server_framer,
                to_client,
                held,
                hold,
                executed,
                refused,
                ..
            } = self;
            server_framer.feed(piece, |item| {
                let mut reply = Bytes::default();
                let outcome = server.handle(item, &mut TestCommands, &mut reply).unwrap();
                let oob = match outcome {
                    ServerOutcome::Executed(request) => {
                        *executed += 1;
                        request.oob
                    }
                    ServerOutcome::Refused(_) => {
                        *refused += 1;
                        false
                    }
                    _ => false,
                };
                if *hold && !oob {
                    held.push(reply.0);
                } else {
                    to_client.0.extend_from_slice(&reply.0);
                }
            });
        }
    }

    /// Release the held in-band replies, in order.
    fn release(&mut self) {
        for reply in self.held.drain(..) {
            self.to_client.0.extend_from_slice(&reply);
        }
    }

    /// Hand what the server wrote to the client, logging each outcome.
    fn deliver_to_client(&mut self) {
        let bytes = std::mem::take(&mut self.to_client.0);
        let sizes = self.pieces(bytes.len());
        let mut rest = &bytes[..];
        for n in sizes {
            let (piece, tail) = rest.split_at(n);
            rest = tail;
            let Pair {
                client,
                client_framer,
                log,
                ..
            } = self;
            client_framer.feed(piece, |item| log.push(seen(client.handle(item))));
        }
    }

    /// Both directions, until nothing is in flight (held replies stay held).
    fn settle(&mut self) {
        while !self.to_server.0.is_empty() || !self.to_client.0.is_empty() {
            self.deliver_to_server();
            self.deliver_to_client();
        }
    }

    fn event(&mut self, name: &str) {
        self.server
            .event(name, (), AT, &mut self.to_client)
            .unwrap();
    }

    fn take_log(&mut self) -> Vec<Seen> {
        std::mem::take(&mut self.log)
    }

    /// `echo` with argument `n`.
    fn echo(&mut self, n: u64) -> Ticket {
        let args = format!("{{\"n\": {n}}}");
        let raw = RawJson::parse(args.as_bytes()).unwrap();
        self.client
            .execute_raw("echo", raw, &mut self.to_server)
            .unwrap()
    }
}

fn echoed(n: u64) -> Value {
    json!({"command": "echo", "n": n})
}

/// Run `scenario` for every chunking; each run must give the log of the whole-input run.
fn every_chunking(scenario: impl Fn(Chunking) -> Vec<Seen>) -> Vec<Seen> {
    let mut first: Option<Vec<Seen>> = None;
    for chunking in chunkings() {
        let log = scenario(chunking);
        match &first {
            None => first = Some(log),
            Some(whole) => assert_eq!(&log, whole, "{chunking:?} differs from whole input"),
        }
    }
    first.unwrap()
}

// ---------------------------------------------------------------------------------
// Scenarios

#[test]
fn negotiation_with_and_without_oob() {
    for (offered, asked) in [(OOB, true), (OOB, false), (&[][..], true), (&[][..], false)] {
        let log = every_chunking(|chunking| {
            let mut pair = Pair::new(offered, 1024, chunking);
            pair.deliver_to_client();
            assert_eq!(
                pair.client.state(),
                ClientState::Greeted {
                    oob_offered: !offered.is_empty()
                }
            );
            let oob = pair.client.negotiate(asked, &mut pair.to_server).unwrap();
            assert_eq!(oob, asked && !offered.is_empty());
            pair.settle();
            assert_eq!(pair.client.oob_enabled(), oob);
            assert_eq!(pair.server.oob_enabled(), oob);
            // And a command goes through.
            let ticket = pair.echo(7);
            pair.settle();
            assert!(!pair.client.is_pending(ticket));
            pair.take_log()
        });
        let oob = asked && !offered.is_empty();
        assert_eq!(
            log,
            [
                Seen::Greeting {
                    oob_offered: !offered.is_empty()
                },
                Seen::Negotiated { oob },
                Seen::Reply {
                    ticket: log_ticket(&log, 2),
                    ok: true,
                    value: echoed(7)
                },
            ]
        );
    }
}

/// The ticket of the reply at `index` of `log`.
fn log_ticket(log: &[Seen], index: usize) -> Ticket {
    match &log[index] {
        Seen::Reply { ticket, .. } | Seen::TooLarge { ticket, .. } => *ticket,
        other => panic!("not a reply: {other:?}"),
    }
}

#[test]
fn out_of_band_replies_and_events_overtake_in_band_ones() {
    every_chunking(|chunking| {
        let mut pair = Pair::negotiated(OOB, true, chunking);
        pair.hold = true;
        let in_band: Vec<(Ticket, u64)> = (10..15).map(|n| (pair.echo(n), n)).collect();
        let yank = pair
            .client
            .execute_oob(&Yank { instances: &[] }, &mut pair.to_server)
            .unwrap();
        let pause = pair
            .client
            .execute_oob(&MigratePause, &mut pair.to_server)
            .unwrap();
        pair.deliver_to_server();
        assert_eq!(pair.held.len(), 5, "the in-band replies are held");
        pair.event("STOP");
        pair.deliver_to_client();
        let log = pair.take_log();
        assert_eq!(
            log,
            [
                Seen::Reply {
                    ticket: yank,
                    ok: true,
                    value: json!({})
                },
                Seen::Reply {
                    ticket: pause,
                    ok: true,
                    value: json!({})
                },
                Seen::Event("STOP".into()),
            ]
        );
        assert_eq!(pair.client.pending(), 5);
        pair.release();
        pair.deliver_to_client();
        let log = pair.take_log();
        let expected: Vec<Seen> = in_band
            .iter()
            .map(|&(ticket, n)| Seen::Reply {
                ticket,
                ok: true,
                value: echoed(n),
            })
            .collect();
        assert_eq!(log, expected);
        assert_eq!(pair.client.pending(), 0);
        log
    });
}

#[test]
fn replies_in_reverse_order_still_find_their_commands() {
    every_chunking(|chunking| {
        let mut pair = Pair::negotiated(OOB, true, chunking);
        pair.hold = true;
        let tickets: Vec<(Ticket, u64)> = (0..8).map(|n| (pair.echo(n), n)).collect();
        pair.deliver_to_server();
        // Release the held replies newest first: ids decide, not order.
        while let Some(reply) = pair.held.pop() {
            pair.to_client.0.extend_from_slice(&reply);
        }
        pair.deliver_to_client();
        let log = pair.take_log();
        let by_ticket: BTreeMap<Ticket, u64> = tickets.iter().copied().collect();
        assert_eq!(log.len(), 8);
        for (seen, expected_ticket) in log.iter().zip(tickets.iter().rev()) {
            let Seen::Reply {
                ticket,
                ok: true,
                value,
            } = seen
            else {
                panic!("{seen:?}")
            };
            assert_eq!(ticket, &expected_ticket.0);
            assert_eq!(value, &echoed(by_ticket[ticket]));
        }
        log
    });
}

#[test]
fn events_come_before_the_reply_of_the_command_that_caused_them() {
    let log = every_chunking(|chunking| {
        let mut pair = Pair::negotiated(&[], false, chunking);
        pair.hold = true;
        let stop = pair
            .client
            .execute_raw("stop", (), &mut pair.to_server)
            .unwrap();
        pair.deliver_to_server();
        pair.event("STOP");
        pair.release();
        pair.event("RESUME");
        pair.deliver_to_client();
        assert_eq!(log_ticket(&pair.log, 1), stop);
        pair.take_log()
    });
    assert!(matches!(
        &log[..],
        [Seen::Event(a), Seen::Reply { ok: true, .. }, Seen::Event(b)] if a == "STOP" && b == "RESUME"
    ));
}

#[test]
fn negotiation_mode_errors_and_unknown_ids_reach_the_client() {
    let log = every_chunking(|chunking| {
        let mut pair = Pair::new(OOB, 1024, chunking);
        pair.deliver_to_client();
        // Bytes the client did not write: a command before negotiation, with an id the
        // client never gave out.
        pair.to_server
            .0
            .extend_from_slice(br#"{"execute": "query-status", "id": "early"}"#);
        pair.settle();
        pair.client.negotiate(false, &mut pair.to_server).unwrap();
        pair.settle();
        pair.to_server
            .0
            .extend_from_slice(br#"{"execute": "qmp_capabilities", "id": "again"}"#);
        pair.settle();
        // A reply nobody asked for, and an unknown command with the client's next id.
        pair.to_client
            .0
            .extend_from_slice(b"{\"return\": {}, \"id\": 4242}\r\n");
        let ticket = pair
            .client
            .execute_raw("no-such-command", (), &mut pair.to_server)
            .unwrap();
        pair.settle();
        assert_eq!(pair.refused, 2);
        assert_eq!(log_ticket(&pair.log, 5), ticket);
        pair.take_log()
    });
    let cnf = |desc: &str| json!({"class": "CommandNotFound", "desc": desc});
    assert_eq!(
        log,
        [
            Seen::Greeting { oob_offered: true },
            Seen::UnknownReply {
                id: json!("early"),
                value: cnf("Expecting capabilities negotiation with 'qmp_capabilities'")
            },
            Seen::Negotiated { oob: false },
            Seen::UnknownReply {
                id: json!("again"),
                value: cnf("Capabilities negotiation is already complete, command ignored")
            },
            Seen::UnknownReply {
                id: json!(4242),
                value: json!({})
            },
            Seen::Reply {
                ticket: log_ticket(&log, 5),
                ok: false,
                value: cnf("The command no-such-command has not been found")
            },
        ]
    );
}

#[test]
fn idless_errors_and_resync() {
    let log = every_chunking(|chunking| {
        let mut pair = Pair::negotiated(&[], false, chunking);
        // Valid JSON that is not a request: answered without an id.
        pair.to_server.0.extend_from_slice(b"[1]");
        pair.settle();
        // Garbage, then a line break and a command: the server's framer skips to the
        // command, which still runs.
        pair.to_server.0.extend_from_slice(b"@@\n");
        let after = pair.echo(1);
        pair.settle();
        assert!(!pair.client.is_pending(after));
        // Half a command (a write cut short), then a resync: one error, absorbed.
        pair.to_server.0.extend_from_slice(br#"{"execute": "ech"#);
        pair.client.resync(&mut pair.to_server).unwrap();
        let next = pair.echo(2);
        pair.settle();
        assert!(!pair.client.is_pending(next));
        assert_eq!(pair.refused, 3);
        pair.take_log()
    });
    assert!(
        matches!(
            &log[..],
            [
                Seen::Idless(not_object),
                Seen::Idless(parse),
                Seen::Reply { ok: true, .. },
                Seen::Resynced,
                Seen::Reply { ok: true, .. },
            ] if not_object == "QMP input must be a JSON object"
                && parse.starts_with("JSON parse error, ")
        ),
        "{log:?}"
    );
}

#[test]
fn busy_at_n_plus_one_and_nothing_written() {
    every_chunking(|chunking| {
        let mut pair = Pair::negotiated(OOB, true, chunking);
        pair.hold = true;
        let n = pair.client.capacity();
        assert_eq!(n, 8, "QEMU's in-band queue limit");
        let tickets: Vec<Ticket> = (0..n as u64).map(|i| pair.echo(i)).collect();
        let before = pair.to_server.0.len();
        assert_eq!(
            pair.client.execute(&QueryStatus, &mut pair.to_server),
            Err(ClientError::Busy)
        );
        assert_eq!(
            pair.client.execute_oob(&MigratePause, &mut pair.to_server),
            Err(ClientError::Busy)
        );
        assert_eq!(pair.to_server.0.len(), before, "a busy client wrote bytes");
        pair.deliver_to_server();
        assert_eq!(pair.executed, n);
        pair.release();
        pair.deliver_to_client();
        assert_eq!(pair.client.pending(), 0);
        let answered: Vec<Ticket> = pair
            .log
            .iter()
            .filter_map(|s| match s {
                Seen::Reply { ticket, .. } => Some(*ticket),
                _ => None,
            })
            .collect();
        assert_eq!(answered, tickets);
        // Room again.
        let next = pair
            .client
            .execute(&QueryStatus, &mut pair.to_server)
            .unwrap();
        assert!(!tickets.contains(&next));
        pair.take_log()
    });
}

#[test]
fn a_reply_too_large_settles_the_oldest_in_band_command() {
    let big = |pair: &mut Pair, len: usize| {
        let args = format!("{{\"len\": {len}}}");
        let raw = RawJson::parse(args.as_bytes()).unwrap();
        pair.client
            .execute_raw("big", raw, &mut pair.to_server)
            .unwrap()
    };
    // In order, no oob: attributed.
    let log = every_chunking(|chunking| {
        let mut pair = Pair::negotiated(&[], false, chunking);
        pair.client_framer = Framer::new(vec![0u8; 256]);
        let before = pair.echo(1);
        let large = big(&mut pair, 2000);
        let small = big(&mut pair, 10);
        let after = pair.echo(3);
        pair.settle();
        assert_eq!(pair.client.pending(), 0);
        assert_eq!(
            [0, 1, 2, 3].map(|i| log_ticket(&pair.log, i)),
            [before, large, small, after]
        );
        pair.take_log()
    });
    assert!(matches!(log[1], Seen::TooLarge { len, .. } if len > 2000));
    assert!(
        matches!(&log[2], Seen::Reply { ok: true, value, .. } if value == &json!("x".repeat(10)))
    );
    assert!(matches!(&log[3], Seen::Reply { ok: true, value, .. } if value == &echoed(3)));

    // An out-of-band command pending when the large reply comes: not attributed; the
    // command whose reply it was stays pending.
    let log = every_chunking(|chunking| {
        let mut pair = Pair::negotiated(OOB, true, chunking);
        pair.client_framer = Framer::new(vec![0u8; 256]);
        let large = big(&mut pair, 2000);
        let pause = pair
            .client
            .execute_oob(&MigratePause, &mut pair.to_server)
            .unwrap();
        pair.settle();
        assert!(pair.client.is_pending(large) && !pair.client.is_pending(pause));
        assert_eq!(pair.client.handle_close().collect::<Vec<_>>(), [large]);
        pair.take_log()
    });
    assert!(
        matches!(log[0], Seen::Framing(FrameError::TooLarge { .. })),
        "{log:?}"
    );
    assert!(matches!(log[1], Seen::Reply { ok: true, .. }));

    // The out-of-band reply first (the in-band one held back): attributed again.
    every_chunking(|chunking| {
        let mut pair = Pair::negotiated(OOB, true, chunking);
        pair.client_framer = Framer::new(vec![0u8; 256]);
        pair.hold = true;
        let large = big(&mut pair, 2000);
        let pause = pair
            .client
            .execute_oob(&MigratePause, &mut pair.to_server)
            .unwrap();
        pair.settle();
        pair.release();
        pair.settle();
        assert_eq!(pair.client.pending(), 0);
        assert_eq!([0, 1].map(|i| log_ticket(&pair.log, i)), [pause, large]);
        assert!(matches!(pair.log[1], Seen::TooLarge { .. }));
        pair.take_log()
    });
}

#[test]
fn a_failing_sink_leaves_no_pending_entry() {
    every_chunking(|chunking| {
        let mut pair = Pair::negotiated(OOB, true, chunking);
        let mut small = [0u8; 12];
        assert_eq!(
            pair.client
                .execute(&QueryStatus, &mut SliceSink::new(&mut small)),
            Err(ClientError::Encode(EncodeError::Sink(BufferFull)))
        );
        assert_eq!(
            pair.client
                .execute_oob(&MigratePause, &mut SliceSink::new(&mut small)),
            Err(ClientError::Encode(EncodeError::Sink(BufferFull)))
        );
        assert_eq!(pair.client.pending(), 0);
        // The partial bytes are discarded; the session goes on untouched.
        let ticket = pair
            .client
            .execute(&QueryStatus, &mut pair.to_server)
            .unwrap();
        pair.settle();
        assert_eq!(pair.log.len(), 1);
        assert_eq!(log_ticket(&pair.log, 0), ticket);
        assert_eq!(pair.client.pending(), 0);
        pair.take_log()
    });
}

#[test]
fn typed_replies_decode_through_the_session() {
    every_chunking(|chunking| {
        let mut pair = Pair::negotiated(OOB, true, chunking);
        // The test server does not know query-status: a typed error reply.
        let ticket = pair
            .client
            .execute(&QueryStatus, &mut pair.to_server)
            .unwrap();
        pair.deliver_to_server();
        let bytes = std::mem::take(&mut pair.to_client.0);
        let mut found = None;
        pair.client_framer.feed(&bytes, |item| {
            let outcome = pair.client.handle(item);
            if let Some(result) = outcome.decode_reply::<QueryStatus>(ticket) {
                found = Some(match result {
                    Err(qmp_core::schema::commands::ReplyError::Error(e)) => e.desc.to_string(),
                    other => format!("{other:?}"),
                });
            }
        });
        assert_eq!(
            found.as_deref(),
            Some("The command query-status has not been found")
        );
        assert_eq!(QueryStatus::NAME, "query-status");
        Vec::new()
    });
}

/// Random sessions: commands in and out of band, held and released replies, events,
/// all in random order. Every command is answered exactly once, with its own reply,
/// and every event arrives.
#[test]
fn random_sessions_answer_every_command_once() {
    for seed in seeds(12) {
        let mut plan = Rng::new(seed ^ 0x5E55_1011);
        let oob = plan.range(0, 1) == 1;
        let mut logs = Vec::new();
        for chunking in [Chunking::Whole, Chunking::OneByte, Chunking::Random(seed)] {
            let mut plan = plan.clone();
            let mut pair = Pair::negotiated(OOB, oob, chunking);
            pair.hold = oob;
            let mut sent: BTreeMap<Ticket, Option<u64>> = BTreeMap::new();
            let mut events = 0;
            let mut n = 0;
            for _ in 0..200 {
                match plan.range(0, 9) {
                    0..=3 => {
                        let args = format!("{{\"n\": {n}}}");
                        let raw = RawJson::parse(args.as_bytes()).unwrap();
                        match pair.client.execute_raw("echo", raw, &mut pair.to_server) {
                            Ok(ticket) => {
                                sent.insert(ticket, Some(n));
                            }
                            Err(ClientError::Busy) => assert_eq!(pair.client.pending(), 8),
                            Err(e) => panic!("{e}"),
                        }
                        n += 1;
                    }
                    4 if oob => match pair.client.execute_oob(&MigratePause, &mut pair.to_server) {
                        Ok(ticket) => {
                            sent.insert(ticket, None);
                        }
                        Err(ClientError::Busy) => {}
                        Err(e) => panic!("{e}"),
                    },
                    5 => {
                        pair.event("RESUME");
                        events += 1;
                    }
                    6 => pair.release(),
                    7 => pair.deliver_to_server(),
                    _ => pair.deliver_to_client(),
                }
            }
            pair.release();
            pair.settle();
            pair.release();
            pair.settle();
            assert_eq!(pair.client.pending(), 0, "seed {seed:#x}");
            let mut answered = BTreeMap::new();
            let mut seen_events = 0;
            for s in &pair.log {
                match s {
                    Seen::Reply {
                        ticket,
                        ok: true,
                        value,
                    } => {
                        let expected = match sent[ticket] {
                            Some(n) => echoed(n),
                            None => json!({}),
                        };
                        assert_eq!(value, &expected, "seed {seed:#x}");
                        assert!(answered.insert(*ticket, ()).is_none(), "answered twice");
                    }
                    Seen::Event(name) => {
                        assert_eq!(name, "RESUME");
                        seen_events += 1;
                    }
                    other => panic!("seed {seed:#x}: {other:?}"),
                }
            }
            assert!(
                sent.len() > 40 && events > 5,
                "seed {seed:#x}: too little happened"
            );
            assert_eq!(answered.len(), sent.len(), "seed {seed:#x}");
            assert_eq!(seen_events, events, "seed {seed:#x}");
            logs.push(pair.take_log());
        }
        assert!(
            logs.windows(2).all(|w| w[0] == w[1]),
            "seed {seed:#x}: chunkings differ"
        );
    }
}
