//! Client and server unit tests: each state, each outcome and each refusal, fed frames
//! made with `Frame::parse` (the pair test in `tests/session.rs` runs real framers).

extern crate std;

use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

use super::*;
use crate::encode::{BufferFull, EmptyObject, EncodeError, Ser, SliceSink};
use crate::frame::{Frame, FrameError, Framer};
use crate::json::RawJson;
use crate::message::{ErrorClass, Message, MessageErrorKind, Timestamp, Version};
use crate::scan::{ScanConfig, ScanError, ScanErrorKind};
use crate::schema::commands::{
    Command, MigratePause, QmpCapability, QueryStatus, ReplyError, Stop,
};

// ---------------------------------------------------------------------------------
// Helpers

type Out = heapless::Vec<u8, 4096>;

const GREETING_OOB: &str = r#"{"QMP": {"version": {"qemu": {"micro": 2, "minor": 0, "major": 10}, "package": ""}, "capabilities": ["oob"]}}"#;
const GREETING_PLAIN: &str = r#"{"QMP": {"version": {"qemu": {"micro": 0, "minor": 11, "major": 2}, "package": ""}, "capabilities": []}}"#;
const AT: Timestamp = Timestamp {
    seconds: 1_755_977_653,
    microseconds: 248_749,
};

/// `text` as a framer item.
fn item(text: &str) -> Result<Frame<'_>, FrameError> {
    Ok(Frame::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}")))
}

fn written(out: &Out) -> &str {
    core::str::from_utf8(out).unwrap()
}

fn invalid(kind: ScanErrorKind) -> FrameError {
    FrameError::Invalid {
        error: ScanError { kind, offset: 3 },
        start: 2,
        skipped: 5,
    }
}

/// A client that read `greeting` and negotiated, asking for `oob`; ids 0 (negotiation)
/// used.
fn ready<const N: usize>(greeting: &str, oob: bool) -> Client<N> {
    let mut client = Client::<N>::new();
    assert!(matches!(
        client.handle(item(greeting)),
        ClientOutcome::Greeting(_)
    ));
    let mut out = Out::new();
    let asked = client.negotiate(oob, &mut out).unwrap();
    let reply = client.handle(item(r#"{"return": {}, "id": 0}"#));
    assert_eq!(reply, ClientOutcome::Negotiated { oob: asked });
    assert_eq!(client.state(), ClientState::Ready { oob: asked });
    client
}

fn reply(id: u64) -> String {
    format!(r#"{{"return": {{"n": {id}}}, "id": {id}}}"#)
}

// ---------------------------------------------------------------------------------
// Client: greeting and negotiation

#[test]
fn greetings_of_every_era_lead_to_negotiation() {
    let cases = [
        // 0.12 development: no version.
        (r#"{"QMP": {"capabilities": []}}"#, false),
        // 0.12: the version as a string.
        (
            r#"{"QMP": {"version": {"qemu": "0.12.50", "package": ""}, "capabilities": []}}"#,
            false,
        ),
        // 0.13 to 2.11: a triple, no oob.
        (
            r#"{"QMP": {"version": {"qemu": {"micro": 50, "minor": 13, "major": 0}, "package": ""}, "capabilities": []}}"#,
            false,
        ),
        // Modern, members reordered and an unknown one.
        (
            r#"{"QMP": {"capabilities": ["oob"], "x-vendor": 1, "version": {"package": "v10", "qemu": {"major": 10, "minor": 0, "micro": 2}}}}"#,
            true,
        ),
    ];
    for (greeting, offered) in cases {
        let mut client: Client = Client::new();
        assert_eq!(client.state(), ClientState::AwaitingGreeting);
        let ClientOutcome::Greeting(g) = client.handle(item(greeting)) else {
            panic!("{greeting}")
        };
        assert_eq!(g.offers("oob"), offered);
        assert_eq!(
            client.state(),
            ClientState::Greeted {
                oob_offered: offered
            }
        );
        let mut out = Out::new();
        assert_eq!(client.negotiate(true, &mut out), Ok(offered));
        let expected = if offered {
            r#"{"execute":"qmp_capabilities","arguments":{"enable":["oob"]},"id":0}"#
        } else {
            r#"{"execute":"qmp_capabilities","id":0}"#
        };
        assert_eq!(written(&out), expected, "{greeting}");
        assert_eq!(client.state(), ClientState::Negotiating { oob: offered });
        assert_eq!(
            client.handle(item(r#"{"return": {}, "id": 0}"#)),
            ClientOutcome::Negotiated { oob: offered }
        );
        assert_eq!(client.oob_enabled(), offered);
    }
}

#[test]
fn oob_is_enabled_only_when_asked_for() {
    let mut client: Client = Client::new();
    client.handle(item(GREETING_OOB));
    let mut out = Out::new();
    assert_eq!(client.negotiate(false, &mut out), Ok(false));
    assert_eq!(written(&out), r#"{"execute":"qmp_capabilities","id":0}"#);
    assert_eq!(
        client.handle(item(r#"{"return": {}, "id": 0}"#)),
        ClientOutcome::Negotiated { oob: false }
    );
    assert!(!client.oob_enabled());
    let mut out = Out::new();
    assert_eq!(
        client.execute_oob(&MigratePause, &mut out),
        Err(ClientError::Misuse(ClientMisuse::OobNotEnabled))
    );
    assert_eq!(
        client.execute_raw_oob("yank", (), &mut out),
        Err(ClientError::Misuse(ClientMisuse::OobNotEnabled))
    );
    assert!(out.is_empty());
    assert_eq!(client.pending(), 0);
}

#[test]
fn a_refused_negotiation_can_be_retried() {
    let mut client: Client = Client::new();
    client.handle(item(GREETING_OOB));
    let mut out = Out::new();
    client.negotiate(true, &mut out).unwrap();
    let refusal =
        r#"{"id": 0, "error": {"class": "GenericError", "desc": "Capability oob not available"}}"#;
    let ClientOutcome::NegotiationRefused(e) = client.handle(item(refusal)) else {
        panic!("not refused")
    };
    assert!(e.desc == "Capability oob not available");
    assert_eq!(client.state(), ClientState::Greeted { oob_offered: true });
    let mut out = Out::new();
    assert_eq!(client.negotiate(false, &mut out), Ok(false));
    assert_eq!(written(&out), r#"{"execute":"qmp_capabilities","id":1}"#);
    // The old id no longer counts as the negotiation's.
    assert!(matches!(
        client.handle(item(r#"{"return": {}, "id": 0}"#)),
        ClientOutcome::UnknownReply(_)
    ));
    assert_eq!(
        client.handle(item(r#"{"return": {}, "id": 1}"#)),
        ClientOutcome::Negotiated { oob: false }
    );
}

#[test]
fn calls_in_the_wrong_state_are_misuse_and_write_nothing() {
    let mut client: Client = Client::new();
    let mut out = Out::new();
    assert_eq!(
        client.execute(&Stop, &mut out),
        Err(ClientError::Misuse(ClientMisuse::NotReady(
            ClientState::AwaitingGreeting
        )))
    );
    assert_eq!(
        client.negotiate(true, &mut out),
        Err(ClientError::Misuse(ClientMisuse::CannotNegotiate(
            ClientState::AwaitingGreeting
        )))
    );
    client.handle(item(GREETING_OOB));
    assert_eq!(
        client.execute_raw("stop", (), &mut out),
        Err(ClientError::Misuse(ClientMisuse::NotReady(
            ClientState::Greeted { oob_offered: true }
        )))
    );
    assert!(out.is_empty());
    client.negotiate(true, &mut out).unwrap();
    out.clear();
    let negotiating = ClientState::Negotiating { oob: true };
    assert_eq!(
        client.negotiate(true, &mut out),
        Err(ClientError::Misuse(ClientMisuse::CannotNegotiate(
            negotiating
        )))
    );
    assert_eq!(
        client.execute(&Stop, &mut out),
        Err(ClientError::Misuse(ClientMisuse::NotReady(negotiating)))
    );
    assert!(out.is_empty());
    let mut client = ready::<8>(GREETING_OOB, true);
    assert_eq!(
        client.negotiate(true, &mut out),
        Err(ClientError::Misuse(ClientMisuse::CannotNegotiate(
            ClientState::Ready { oob: true }
        )))
    );
    assert_eq!(client.handle_close().count(), 0);
    assert_eq!(
        client.execute(&Stop, &mut out),
        Err(ClientError::Misuse(ClientMisuse::NotReady(
            ClientState::Closed
        )))
    );
    assert_eq!(
        client.resync(&mut out),
        Err(ClientError::Misuse(ClientMisuse::Closed))
    );
    assert!(out.is_empty());
}

#[test]
fn messages_out_of_place_are_unexpected() {
    let mut client: Client = Client::new();
    let before = [
        r#"{"return": {}, "id": 0}"#,
        r#"{"error": {"class": "GenericError", "desc": "x"}}"#,
        r#"{"execute": "stop"}"#,
    ];
    for text in before {
        assert!(
            matches!(client.handle(item(text)), ClientOutcome::Unexpected(_)),
            "{text}"
        );
        assert_eq!(client.state(), ClientState::AwaitingGreeting);
    }
    let mut client = ready::<8>(GREETING_OOB, true);
    for text in [GREETING_OOB, r#"{"exec-oob": "yank", "id": 1}"#] {
        assert!(
            matches!(client.handle(item(text)), ClientOutcome::Unexpected(_)),
            "{text}"
        );
        assert_eq!(client.state(), ClientState::Ready { oob: true });
    }
}

// ---------------------------------------------------------------------------------
// Client: commands and replies

/// QEMU 10 sends events to a connection it accepted before greeting it (a `RESUME` to
/// a client that connected as the VM started): they are events, and the greeting still
/// comes.
#[test]
fn events_before_the_greeting_are_events() {
    let capture = include_str!("../../../testdata/captures/event_before_greeting.rx.bin");
    let mut lines = capture.split_terminator("\r\n");
    let mut client: Client = Client::new();
    let ClientOutcome::Event(resume) = client.handle(item(lines.next().unwrap())) else {
        panic!("the event first")
    };
    assert!(resume.name == "RESUME");
    assert_eq!(resume.timestamp.seconds, 1_796_083_068);
    assert_eq!(client.state(), ClientState::AwaitingGreeting);
    let ClientOutcome::Greeting(greeting) = client.handle(item(lines.next().unwrap())) else {
        panic!("then the greeting")
    };
    assert!(greeting.offers("oob"));
    assert_eq!(client.state(), ClientState::Greeted { oob_offered: true });
    let mut out = Out::new();
    assert!(client.negotiate(true, &mut out).unwrap());
    assert_eq!(
        client.handle(item(lines.next().unwrap())),
        ClientOutcome::Negotiated { oob: true }
    );
    let ticket = client.execute(&QueryStatus, &mut out).unwrap();
    let outcome = client.handle(item(lines.next().unwrap()));
    assert_eq!(outcome.ticket(), Some(ticket));
    assert!(lines.next().is_none());
    // Once closed, an event has no place.
    let _ = client.handle_close();
    let event = r#"{"event": "STOP", "timestamp": {"seconds": 1, "microseconds": 2}}"#;
    assert!(matches!(
        client.handle(item(event)),
        ClientOutcome::Unexpected(_)
    ));
}

#[test]
fn replies_find_their_commands_in_any_order() {
    let mut client = ready::<8>(GREETING_OOB, true);
    let mut out = Out::new();
    let a = client.execute(&QueryStatus, &mut out).unwrap();
    let b = client.execute_raw("query-name", (), &mut out).unwrap();
    let args = RawJson::parse(br#"{ "id": "net0" }"#).unwrap();
    let c = client.execute_raw("device_del", args, &mut out).unwrap();
    let d = client.execute_oob(&MigratePause, &mut out).unwrap();
    let e = client.execute_raw_oob("yank", (), &mut out).unwrap();
    assert_eq!(
        written(&out),
        concat!(
            r#"{"execute":"query-status","id":1}"#,
            r#"{"execute":"query-name","id":2}"#,
            r#"{"execute":"device_del","arguments":{"id":"net0"},"id":3}"#,
            r#"{"exec-oob":"migrate-pause","id":4}"#,
            r#"{"exec-oob":"yank","id":5}"#,
        )
    );
    assert_eq!(
        [a, b, c, d, e].map(Ticket::id),
        [1, 2, 3, 4, 5],
        "ids count up from the negotiation's"
    );
    assert_eq!(client.pending(), 5);
    for (ticket, left) in [(e, 4), (d, 3), (b, 2), (a, 1), (c, 0)] {
        let text = reply(ticket.id());
        let outcome = client.handle(item(&text));
        let ClientOutcome::Reply { ticket: t, message } = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(t, ticket);
        assert_eq!(outcome.ticket(), Some(ticket));
        let Message::Return(r) = message else {
            panic!("not a return")
        };
        assert_eq!(r.value.get("n").and_then(|n| n.as_u64()), Some(ticket.id()));
        assert!(!client.is_pending(ticket));
        assert_eq!(client.pending(), left);
    }
    // A second reply to an answered command matches nothing.
    let again = reply(b.id());
    assert!(matches!(
        client.handle(item(&again)),
        ClientOutcome::UnknownReply(Message::Return(_))
    ));
}

#[test]
fn replies_with_unknown_ids_are_reported_and_change_nothing() {
    let mut client = ready::<8>(GREETING_PLAIN, false);
    let mut out = Out::new();
    let ticket = client.execute(&Stop, &mut out).unwrap();
    let unknown = [
        r#"{"return": {}, "id": 99}"#,
        r#"{"return": {}, "id": "1"}"#,
        r#"{"return": {}, "id": -1}"#,
        r#"{"return": {}, "id": 1.5}"#,
        r#"{"return": {}, "id": null}"#,
        r#"{"return": {}, "id": [1]}"#,
        r#"{"return": {}}"#,
        r#"{"id": 7, "error": {"class": "CommandNotFound", "desc": "The command x has not been found"}}"#,
    ];
    for text in unknown {
        let outcome = client.handle(item(text));
        assert!(
            matches!(outcome, ClientOutcome::UnknownReply(_)),
            "{text}: {outcome:?}"
        );
        assert_eq!(outcome.ticket(), None);
        assert!(client.is_pending(ticket), "{text}");
    }
    // An error reply with the id settles the command.
    let outcome = client.handle(item(
        r#"{"id": 1, "error": {"class": "GenericError", "desc": "no"}}"#,
    ));
    assert!(matches!(
        outcome,
        ClientOutcome::Reply {
            message: Message::Error(_),
            ..
        }
    ));
    assert_eq!(outcome.ticket(), Some(ticket));
    assert_eq!(client.pending(), 0);
}

#[test]
fn decode_reply_gives_the_typed_result_of_its_ticket_only() {
    let mut client = ready::<8>(GREETING_PLAIN, false);
    let mut out = Out::new();
    let status = client.execute(&QueryStatus, &mut out).unwrap();
    let stop = client.execute(&Stop, &mut out).unwrap();
    let outcome = client.handle(item(
        r#"{"return": {"status": "paused", "running": false}, "id": 1}"#,
    ));
    let decoded = outcome
        .decode_reply::<QueryStatus>(status)
        .unwrap()
        .unwrap();
    assert!(!decoded.running);
    assert!(outcome.decode_reply::<QueryStatus>(stop).is_none());
    let outcome = client.handle(item(
        r#"{"id": 2, "error": {"class": "GenericError", "desc": "busy"}}"#,
    ));
    match outcome.decode_reply::<Stop>(stop) {
        Some(Err(ReplyError::Error(e))) => assert!(e.desc == "busy"),
        other => panic!("{other:?}"),
    }
    assert!(ClientOutcome::Event(crate::message::EventMessage {
        name: crate::json::JsonStr::EMPTY,
        data: None,
        timestamp: AT,
    })
    .decode_reply::<Stop>(stop)
    .is_none());
}

#[test]
fn typed_oob_commands_must_allow_it() {
    let mut client = ready::<8>(GREETING_OOB, true);
    let mut out = Out::new();
    const { assert!(!QueryStatus::ALLOW_OOB) };
    assert_eq!(
        client.execute_oob(&QueryStatus, &mut out),
        Err(ClientError::Misuse(ClientMisuse::OobNotAllowed))
    );
    assert!(out.is_empty());
    assert_eq!(client.pending(), 0);
    assert!(client.execute_oob(&MigratePause, &mut out).is_ok());
}

#[test]
fn events_come_at_any_time_and_settle_nothing() {
    let mut client = ready::<8>(GREETING_PLAIN, false);
    let mut out = Out::new();
    let ticket = client.execute_raw("cont", (), &mut out).unwrap();
    let event =
        r#"{"timestamp": {"seconds": 1755977653, "microseconds": 248749}, "event": "RESUME"}"#;
    let ClientOutcome::Event(e) = client.handle(item(event)) else {
        panic!("not an event")
    };
    assert!(e.name == "RESUME" && e.timestamp == AT);
    assert!(client.is_pending(ticket));
    assert_eq!(
        client.handle(item(&reply(ticket.id()))).ticket(),
        Some(ticket)
    );
    // Events also pass before negotiation completes.
    let mut client: Client = Client::new();
    client.handle(item(GREETING_PLAIN));
    assert!(matches!(
        client.handle(item(event)),
        ClientOutcome::Event(_)
    ));
}

#[test]
fn busy_at_n_plus_one_writes_nothing() {
    let mut client = ready::<2>(GREETING_OOB, true);
    assert_eq!(client.capacity(), 2);
    let mut out = Out::new();
    let first = client.execute(&Stop, &mut out).unwrap();
    client.execute_oob(&MigratePause, &mut out).unwrap();
    let len = out.len();
    assert_eq!(client.execute(&Stop, &mut out), Err(ClientError::Busy));
    assert_eq!(
        client.execute_oob(&MigratePause, &mut out),
        Err(ClientError::Busy)
    );
    assert_eq!(
        client.execute_raw("x", (), &mut out),
        Err(ClientError::Busy)
    );
    assert_eq!(out.len(), len, "a busy client wrote something");
    assert_eq!(client.pending(), 2);
    client.handle(item(&reply(first.id())));
    let next = client.execute(&Stop, &mut out).unwrap();
    assert_eq!(next.id(), 3);
}

#[test]
fn a_failing_sink_leaves_nothing_pending() {
    let mut client = ready::<8>(GREETING_PLAIN, false);
    let full = br#"{"execute":"query-status","id":1}"#.len();
    for size in 0..full {
        let mut buf = vec![0u8; size];
        let mut sink = SliceSink::new(&mut buf);
        assert_eq!(
            client.execute(&QueryStatus, &mut sink),
            Err(ClientError::Encode(EncodeError::Sink(BufferFull))),
            "size {size}"
        );
        assert_eq!(client.pending(), 0, "size {size}");
    }
    // Arguments that are not an object: refused by the encoder, nothing pending.
    let mut out = Out::new();
    assert_eq!(
        client.execute_raw("x", Ser(1), &mut out),
        Err(ClientError::Encode(EncodeError::NotAnObject))
    );
    assert_eq!(client.pending(), 0);
    // Ids went on counting, so no reply can be confused with a failed command.
    let ticket = client.execute(&QueryStatus, &mut out).unwrap();
    assert!(ticket.id() > full as u64);
    assert!(matches!(
        client.handle(item(&reply(1))),
        ClientOutcome::UnknownReply(_)
    ));
    // A failed negotiation leaves the client greeted.
    let mut client: Client = Client::new();
    client.handle(item(GREETING_OOB));
    let mut buf = [0u8; 10];
    assert!(matches!(
        client.negotiate(true, &mut SliceSink::new(&mut buf)),
        Err(ClientError::Encode(EncodeError::Sink(BufferFull)))
    ));
    assert_eq!(client.state(), ClientState::Greeted { oob_offered: true });
}

#[test]
fn ids_skip_pending_ones_when_the_counter_wraps() {
    let mut client = ready::<4>(GREETING_PLAIN, false);
    let mut out = Out::new();
    let a = client.execute(&Stop, &mut out).unwrap();
    let b = client.execute(&Stop, &mut out).unwrap();
    assert_eq!((a.id(), b.id()), (1, 2));
    client.set_next_id(u64::MAX);
    let c = client.execute(&Stop, &mut out).unwrap();
    let d = client.execute(&Stop, &mut out).unwrap();
    assert_eq!(c.id(), u64::MAX);
    assert_eq!(d.id(), 0, "the counter wraps");
    client.handle(item(&reply(0)));
    client.set_next_id(1);
    let e = client.execute(&Stop, &mut out).unwrap();
    assert_eq!(e.id(), 3, "1 and 2 are pending: skipped");
    let ids: Vec<u64> = client.handle_close().map(Ticket::id).collect();
    assert_eq!(ids, [1, 2, u64::MAX, 3]);
}

// ---------------------------------------------------------------------------------
// Client: what does not fit

#[test]
fn too_large_goes_to_the_oldest_in_band_command() {
    let large = FrameError::TooLarge {
        start: 100,
        len: 1 << 20,
    };
    // In-band commands only: the oldest is settled, the next one still matches.
    for (greeting, oob) in [(GREETING_OOB, true), (GREETING_PLAIN, false)] {
        let mut client = ready::<8>(greeting, oob);
        let mut out = Out::new();
        let a = client.execute(&QueryStatus, &mut out).unwrap();
        let b = client.execute(&Stop, &mut out).unwrap();
        let outcome = client.handle(Err(large));
        assert_eq!(
            outcome,
            ClientOutcome::ReplyTooLarge {
                ticket: a,
                error: large
            }
        );
        assert_eq!(outcome.ticket(), Some(a));
        assert!(outcome.decode_reply::<QueryStatus>(a).is_none());
        assert!(!client.is_pending(a) && client.is_pending(b));
        assert_eq!(client.handle(item(&reply(b.id()))).ticket(), Some(b));
        // Nothing pending: nothing to attribute.
        assert_eq!(client.handle(Err(large)), ClientOutcome::Framing(large));
    }
    // An out-of-band command pending: its reply could be the one; not attributed.
    let mut client = ready::<8>(GREETING_OOB, true);
    let mut out = Out::new();
    let a = client.execute(&Stop, &mut out).unwrap();
    let p = client.execute_oob(&MigratePause, &mut out).unwrap();
    assert_eq!(client.handle(Err(large)), ClientOutcome::Framing(large));
    assert_eq!(client.pending(), 2);
    client.handle(item(&reply(p.id())));
    assert_eq!(client.handle(Err(large)).ticket(), Some(a));
    // Before negotiation completes: not attributed.
    let mut client: Client = Client::new();
    assert_eq!(client.handle(Err(large)), ClientOutcome::Framing(large));
    client.handle(item(GREETING_PLAIN));
    client.negotiate(false, &mut out).unwrap();
    assert_eq!(client.handle(Err(large)), ClientOutcome::Framing(large));
    assert_eq!(client.state(), ClientState::Negotiating { oob: false });
}

#[test]
fn idless_errors_are_reported_unless_a_resync_asked_for_them() {
    let idless =
        r#"{"error": {"class": "GenericError", "desc": "JSON parse error, stray '\uFFFD'"}}"#;
    let mut client = ready::<8>(GREETING_PLAIN, false);
    let mut out = Out::new();
    let ticket = client.execute(&Stop, &mut out).unwrap();
    assert!(matches!(
        client.handle(item(idless)),
        ClientOutcome::IdlessError(_)
    ));
    out.clear();
    client.resync(&mut out).unwrap();
    client.resync(&mut out).unwrap();
    assert_eq!(&out[..], &[0xFF, 0xFF]);
    for _ in 0..2 {
        let ClientOutcome::Resynced(e) = client.handle(item(idless)) else {
            panic!("not absorbed")
        };
        assert_eq!(e.class, ErrorClass::GenericError);
    }
    assert!(matches!(
        client.handle(item(idless)),
        ClientOutcome::IdlessError(_)
    ));
    // Errors with an id are never taken for the resync's.
    client.resync(&mut out).unwrap();
    assert_eq!(
        client.handle(item(&reply(ticket.id()))).ticket(),
        Some(ticket)
    );
    assert!(matches!(
        client.handle(item(idless)),
        ClientOutcome::Resynced(_)
    ));
    // A resync before negotiation is fine; reset forgets it.
    let mut client: Client = Client::new();
    client.resync(&mut out).unwrap();
    client.handle(item(GREETING_PLAIN));
    assert!(matches!(
        client.handle(item(idless)),
        ClientOutcome::Resynced(_)
    ));
    client.resync(&mut out).unwrap();
    assert_eq!(client.reset().count(), 0);
    client.handle(item(GREETING_PLAIN));
    assert!(matches!(
        client.handle(item(idless)),
        ClientOutcome::IdlessError(_)
    ));
}

#[test]
fn bad_bytes_and_other_json_are_reported() {
    let mut client = ready::<8>(GREETING_PLAIN, false);
    let mut out = Out::new();
    let ticket = client.execute(&Stop, &mut out).unwrap();
    let bad = invalid(ScanErrorKind::UnexpectedByte);
    assert_eq!(client.handle(Err(bad)), ClientOutcome::Framing(bad));
    for (text, kind) in [
        ("[1]", MessageErrorKind::NotAnObject),
        (r#"{"hello": 1}"#, MessageErrorKind::Unrecognised),
        (
            r#"{"return": 1, "event": "X"}"#,
            MessageErrorKind::Ambiguous,
        ),
        (
            r#"{"error": {"class": 1, "desc": ""}, "id": 1}"#,
            MessageErrorKind::WrongType("class"),
        ),
    ] {
        match client.handle(item(text)) {
            ClientOutcome::NotQmp(e) => assert_eq!(e.kind, kind, "{text}"),
            other => panic!("{text}: {other:?}"),
        }
    }
    assert!(client.is_pending(ticket), "bad input settled a command");
}

#[test]
fn close_hands_back_the_unanswered_and_reset_keeps_counting() {
    let mut client = ready::<8>(GREETING_OOB, true);
    let mut out = Out::new();
    let tickets = [
        client.execute(&Stop, &mut out).unwrap(),
        client.execute_oob(&MigratePause, &mut out).unwrap(),
        client.execute(&QueryStatus, &mut out).unwrap(),
    ];
    client.handle(item(&reply(tickets[1].id())));
    let unanswered = client.handle_close();
    assert_eq!(unanswered.len(), 2);
    assert_eq!(unanswered.collect::<Vec<_>>(), [tickets[0], tickets[2]]);
    assert_eq!(client.state(), ClientState::Closed);
    assert_eq!(client.pending(), 0);
    for text in [GREETING_OOB, &reply(tickets[0].id())] {
        assert!(matches!(
            client.handle(item(text)),
            ClientOutcome::Unexpected(_)
        ));
    }
    assert_eq!(client.reset().count(), 0);
    assert_eq!(client.state(), ClientState::AwaitingGreeting);
    client.handle(item(GREETING_OOB));
    out.clear();
    client.negotiate(true, &mut out).unwrap();
    assert_eq!(
        written(&out),
        r#"{"execute":"qmp_capabilities","arguments":{"enable":["oob"]},"id":4}"#
    );
    // A reset without a close hands back what was pending too.
    client.handle(item(r#"{"return": {}, "id": 4}"#));
    let t = client.execute(&Stop, &mut out).unwrap();
    assert_eq!(client.reset().collect::<Vec<_>>(), [t]);
}

#[test]
fn client_errors_say_whose_fault() {
    let busy: ClientError<BufferFull> = ClientError::Busy;
    assert_eq!(
        busy.to_string(),
        "too many commands pending: wait for a reply"
    );
    let misuse: ClientError<BufferFull> =
        ClientError::Misuse(ClientMisuse::NotReady(ClientState::Greeted {
            oob_offered: false,
        }));
    assert_eq!(
        misuse.to_string(),
        "commands need a negotiated session (state: greeted, not negotiated)"
    );
    let full: ClientError<BufferFull> = ClientError::Encode(EncodeError::Sink(BufferFull));
    assert_eq!(
        full.to_string(),
        "cannot write the command: cannot write the encoded output: buffer full"
    );
    let source = core::error::Error::source(&full).map(ToString::to_string);
    assert_eq!(
        source.as_deref(),
        Some("cannot write the encoded output: buffer full")
    );
    assert!(core::error::Error::source(&busy).is_none());
    for m in [
        ClientMisuse::CannotNegotiate(ClientState::Closed),
        ClientMisuse::OobNotEnabled,
        ClientMisuse::OobNotAllowed,
        ClientMisuse::Closed,
    ] {
        assert!(!m.to_string().is_empty());
    }
    let mut client = ready::<8>(GREETING_PLAIN, false);
    let ticket = client.execute(&Stop, &mut Out::new()).unwrap();
    assert_eq!(ticket.to_string(), "command 1");
}

// ---------------------------------------------------------------------------------
// Server

/// A handler for the server tests: `echo` returns its arguments, `fail` an error,
/// `fmt` a formatted error, `quiet` no response, `oob-only` refuses in-band calls;
/// everything else is not found.
fn answer<S: crate::encode::Sink + ?Sized>(
    request: &crate::message::Request<'_>,
    r: Responder<'_, S>,
) -> Result<Answered, EncodeError<S::Error>> {
    match request.name.as_str() {
        Some("echo") => match request.arguments {
            Some(arguments) => r.success(arguments),
            None => r.success(EmptyObject),
        },
        Some("fail") => r.error("DeviceNotFound", "Device 'x' not found"),
        Some("fmt") => r.error_fmt(ErrorClass::GenericError, format_args!("{} args", 2)),
        Some("quiet") => Ok(r.no_response()),
        Some("oob-only") if !request.oob => r.oob_not_supported(),
        Some("oob-only") => r.success(EmptyObject),
        _ => r.command_not_found(),
    }
}

type AnswerResult = Result<Answered, EncodeError<BufferFull>>;

/// A greeted server, its greeting cleared from `out`.
fn greeted<'c>(capabilities: &'c [QmpCapability<'c>], out: &mut Out) -> Server<'c> {
    let mut server = Server::new(Some(Version::new(10, 0, 2)), capabilities);
    server.greet(out).unwrap();
    out.clear();
    server
}

/// A server in command mode.
fn commanding(oob: bool, out: &mut Out) -> Server<'static> {
    let mut server = greeted(&[QmpCapability::Oob], out);
    let text = if oob {
        r#"{"execute": "qmp_capabilities", "arguments": {"enable": ["oob"]}}"#
    } else {
        r#"{"execute": "qmp_capabilities"}"#
    };
    let outcome = server.handle(item(text), &mut handler_fn(answer), out);
    assert_eq!(outcome, Ok(ServerOutcome::Negotiated { oob }));
    out.clear();
    server
}

/// What the server wrote for one item, which must be exactly one line.
fn one_line(out: &Out) -> &str {
    let text = written(out);
    assert!(text.ends_with("\r\n"), "{text:?}");
    let line = &text[..text.len() - 2];
    assert!(!line.contains('\n') && !line.contains('\r'), "{text:?}");
    line
}

#[test]
fn the_greeting_comes_first_and_once() {
    let mut out = Out::new();
    let mut server = Server::new(Some(Version::new(10, 0, 2)), &[QmpCapability::Oob]);
    assert_eq!(server.state(), ServerState::Start);
    assert_eq!(
        server.handle(item("{}"), &mut handler_fn(answer), &mut out),
        Err(ServerError::Misuse(ServerMisuse::NotGreeted))
    );
    assert!(out.is_empty());
    server.greet(&mut out).unwrap();
    assert_eq!(
        written(&out),
        "{\"QMP\":{\"version\":{\"qemu\":{\"micro\":2,\"minor\":0,\"major\":10},\"package\":\"\"},\"capabilities\":[\"oob\"]}}\r\n"
    );
    assert_eq!(server.state(), ServerState::Negotiation);
    out.clear();
    assert_eq!(
        server.greet(&mut out),
        Err(ServerError::Misuse(ServerMisuse::AlreadyGreeted))
    );
    assert!(out.is_empty());

    // The 0.12 development form: no version, nothing offered.
    let mut server = Server::new(None, &[]);
    server.greet(&mut out).unwrap();
    assert_eq!(written(&out), "{\"QMP\":{\"capabilities\":[]}}\r\n");

    // A greeting that does not fit leaves the server where it was.
    let mut server = Server::new(Some(Version::new(10, 0, 2)), &[QmpCapability::Oob]);
    let mut buf = [0u8; 40];
    assert_eq!(
        server.greet(&mut SliceSink::new(&mut buf)),
        Err(ServerError::Encode(EncodeError::Sink(BufferFull)))
    );
    assert_eq!(server.state(), ServerState::Start);
    // With room for the message but not the whole line end: the same.
    let greeting = r#"{"QMP":{"version":{"qemu":{"micro":2,"minor":0,"major":10},"package":""},"capabilities":["oob"]}}"#;
    let mut buf = vec![0u8; greeting.len() + 1];
    assert_eq!(
        server.greet(&mut SliceSink::new(&mut buf)),
        Err(ServerError::Encode(EncodeError::Sink(BufferFull)))
    );
    assert_eq!(server.state(), ServerState::Start);
}

#[test]
fn negotiation_mode_runs_only_qmp_capabilities() {
    let mut out = Out::new();
    let mut server = greeted(&[QmpCapability::Oob], &mut out);
    let cases = [
        (
            r#"{"execute": "query-status", "id": 7}"#,
            r#"{"id":7,"error":{"class":"CommandNotFound","desc":"Expecting capabilities negotiation with 'qmp_capabilities'"}}"#,
        ),
        (
            r#"{"execute": "echo"}"#,
            r#"{"error":{"class":"CommandNotFound","desc":"Expecting capabilities negotiation with 'qmp_capabilities'"}}"#,
        ),
        // Validation comes first, and exec-oob is not known before negotiation.
        (
            r#"{"exec-oob": "qmp_capabilities", "id": "x"}"#,
            r#"{"id":"x","error":{"class":"GenericError","desc":"QMP input member 'exec-oob' is unexpected"}}"#,
        ),
    ];
    for (input, expected) in cases {
        out.clear();
        let outcome = server
            .handle(item(input), &mut handler_fn(answer), &mut out)
            .unwrap();
        assert!(matches!(outcome, ServerOutcome::Refused(_)), "{input}");
        assert_eq!(one_line(&out), expected);
        assert_eq!(server.state(), ServerState::Negotiation);
    }
    let ServerOutcome::Refused(refusal) = server
        .handle(item(cases[0].0), &mut handler_fn(answer), &mut out)
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(refusal.class(), ErrorClass::CommandNotFound);
    assert_eq!(refusal.id().and_then(|id| id.as_u64()), Some(7));
    assert!(matches!(refusal, ServerRefusal::NegotiationExpected(r) if r.name == "query-status"));
    // Events are refused too.
    out.clear();
    assert_eq!(
        server.event("STOP", (), AT, &mut out),
        Err(ServerError::Misuse(ServerMisuse::NotNegotiated))
    );
    assert!(out.is_empty());
}

#[test]
fn qmp_capabilities_arguments_are_checked_as_qemu_does() {
    const OOB: &[QmpCapability<'_>] = &[QmpCapability::Oob];
    const NONE: &[QmpCapability<'_>] = &[];
    const VENDOR: &[QmpCapability<'_>] = &[QmpCapability::Other("x-vendor")];
    let ok = [
        (OOB, r#"{"execute": "qmp_capabilities", "id": 1}"#, false),
        (
            OOB,
            r#"{"execute": "qmp_capabilities", "arguments": {}, "id": 1}"#,
            false,
        ),
        (
            OOB,
            r#"{"execute": "qmp_capabilities", "arguments": {"enable": []}, "id": 1}"#,
            false,
        ),
        (
            OOB,
            r#"{"execute": "qmp_capabilities", "arguments": {"enable": ["oob"]}, "id": 1}"#,
            true,
        ),
        (
            VENDOR,
            r#"{"execute": "qmp_capabilities", "arguments": {"enable": ["x-vendor"]}, "id": 1}"#,
            false,
        ),
    ];
    for (offered, input, oob) in ok {
        let mut out = Out::new();
        let mut server = greeted(offered, &mut out);
        let outcome = server.handle(item(input), &mut handler_fn(answer), &mut out);
        assert_eq!(outcome, Ok(ServerOutcome::Negotiated { oob }), "{input}");
        assert_eq!(one_line(&out), r#"{"return":{},"id":1}"#);
        assert_eq!(server.state(), ServerState::Command { oob });
        assert_eq!(server.oob_enabled(), oob);
    }
    let refused = [
        (
            NONE,
            r#"{"enable": ["oob"]}"#,
            "Capability oob not available",
        ),
        (
            NONE,
            r#"{"enable": ["oob", "oob"]}"#,
            "Capability oob, oob not available",
        ),
        (
            OOB,
            r#"{"enable": ["oob", "x-vendor"]}"#,
            "Parameter 'null' does not accept value 'x-vendor'",
        ),
        (
            OOB,
            r#"{"enable": "oob"}"#,
            "Invalid parameter type for 'enable', expected: array",
        ),
        (
            OOB,
            r#"{"enable": null}"#,
            "Invalid parameter type for 'enable', expected: array",
        ),
        (
            OOB,
            r#"{"enable": ["oob", 1]}"#,
            "Invalid parameter type for 'enable[1]', expected: string",
        ),
        (
            OOB,
            r#"{"enable": ["oob"], "x": 1}"#,
            "Parameter 'x' is unexpected",
        ),
        // The element check comes before the unexpected argument, which comes before
        // availability.
        (
            NONE,
            r#"{"x": 1, "enable": ["bad"]}"#,
            "Parameter 'null' does not accept value 'bad'",
        ),
        (
            NONE,
            r#"{"x": 1, "enable": ["oob"]}"#,
            "Parameter 'x' is unexpected",
        ),
    ];
    for (offered, arguments, desc) in refused {
        let mut out = Out::new();
        let mut server = greeted(offered, &mut out);
        let input =
            format!(r#"{{"execute": "qmp_capabilities", "arguments": {arguments}, "id": "n"}}"#);
        let outcome = server
            .handle(item(&input), &mut handler_fn(answer), &mut out)
            .unwrap();
        let ServerOutcome::Refused(refusal @ ServerRefusal::Capabilities { .. }) = outcome else {
            panic!("{input}: {outcome:?}")
        };
        assert_eq!(refusal.to_string(), desc);
        assert_eq!(
            one_line(&out),
            format!(r#"{{"id":"n","error":{{"class":"GenericError","desc":"{desc}"}}}}"#)
        );
        assert_eq!(server.state(), ServerState::Negotiation, "{input}");
    }
}

#[test]
fn command_mode_dispatches_and_refuses_a_second_negotiation() {
    let mut out = Out::new();
    let mut server = commanding(true, &mut out);
    let cases = [
        (
            r#"{"execute": "echo", "arguments": {"a": [1, 2.5, "\u00e9"]}, "id": {"k": [1, 2]}}"#,
            r#"{"return":{"a":[1,2.5,"\u00e9"]},"id":{"k":[1,2]}}"#,
        ),
        (r#"{"execute": "echo"}"#, r#"{"return":{}}"#),
        (
            r#"{"execute": "fail", "id": 2}"#,
            r#"{"id":2,"error":{"class":"DeviceNotFound","desc":"Device 'x' not found"}}"#,
        ),
        (
            r#"{"execute": "fmt", "id": 3}"#,
            r#"{"id":3,"error":{"class":"GenericError","desc":"2 args"}}"#,
        ),
        (
            r#"{"execute": "caf\u00e9", "id": 4}"#,
            r#"{"id":4,"error":{"class":"CommandNotFound","desc":"The command caf\u00E9 has not been found"}}"#,
        ),
        (
            r#"{"execute": "oob-only", "id": 5}"#,
            r#"{"id":5,"error":{"class":"GenericError","desc":"The command oob-only does not support OOB"}}"#,
        ),
        (
            r#"{"exec-oob": "oob-only", "id": 6}"#,
            r#"{"return":{},"id":6}"#,
        ),
    ];
    for (input, expected) in cases {
        out.clear();
        let outcome = server
            .handle(item(input), &mut handler_fn(answer), &mut out)
            .unwrap();
        let ServerOutcome::Executed(request) = outcome else {
            panic!("{input}: {outcome:?}")
        };
        assert_eq!(request.oob, input.contains("exec-oob"));
        assert_eq!(one_line(&out), expected, "{input}");
    }
    // No response at all.
    out.clear();
    let outcome = server.handle(
        item(r#"{"execute": "quiet", "id": 9}"#),
        &mut handler_fn(answer),
        &mut out,
    );
    assert!(matches!(outcome, Ok(ServerOutcome::Executed(_))));
    assert!(out.is_empty());
    // qmp_capabilities again: QEMU's two answers.
    for (input, expected) in [
        (
            r#"{"execute": "qmp_capabilities", "id": 10}"#,
            r#"{"id":10,"error":{"class":"CommandNotFound","desc":"Capabilities negotiation is already complete, command ignored"}}"#,
        ),
        (
            r#"{"exec-oob": "qmp_capabilities", "id": 11}"#,
            r#"{"id":11,"error":{"class":"GenericError","desc":"The command qmp_capabilities does not support OOB"}}"#,
        ),
    ] {
        out.clear();
        let outcome = server
            .handle(item(input), &mut handler_fn(answer), &mut out)
            .unwrap();
        assert!(matches!(outcome, ServerOutcome::Refused(_)), "{input}");
        assert_eq!(one_line(&out), expected);
        assert_eq!(server.state(), ServerState::Command { oob: true });
    }
}

#[test]
fn invalid_requests_get_qemus_errors_with_the_id_when_there_is_one() {
    let cases = [
        ("[1]", None, "QMP input must be a JSON object"),
        ("3", None, "QMP input must be a JSON object"),
        (r#""execute""#, None, "QMP input must be a JSON object"),
        (
            r#"{"id": 5}"#,
            Some("5"),
            "QMP input lacks member 'execute'",
        ),
        (
            r#"{"execute": 1, "id": "x"}"#,
            Some(r#""x""#),
            "QMP input member 'execute' must be a string",
        ),
        (
            r#"{"execute": "a", "arguments": [], "id": [1]}"#,
            Some("[1]"),
            "QMP input member 'arguments' must be an object",
        ),
        (
            r#"{"execute": "a", "foo": 1, "id": null}"#,
            Some("null"),
            "QMP input member 'foo' is unexpected",
        ),
        (
            r#"{"return": {}, "id": 1}"#,
            Some("1"),
            "QMP input member 'return' is unexpected",
        ),
    ];
    for mode in ["negotiation", "command"] {
        for (input, id, desc) in cases {
            let mut out = Out::new();
            let mut server = if mode == "command" {
                commanding(false, &mut out)
            } else {
                greeted(&[], &mut out)
            };
            let state = server.state();
            let outcome = server
                .handle(item(input), &mut handler_fn(answer), &mut out)
                .unwrap();
            let ServerOutcome::Refused(refusal @ ServerRefusal::Invalid(_)) = outcome else {
                panic!("{input}: {outcome:?}")
            };
            assert_eq!(refusal.class(), ErrorClass::GenericError);
            let expected = match id {
                Some(id) => {
                    format!(r#"{{"id":{id},"error":{{"class":"GenericError","desc":"{desc}"}}}}"#)
                }
                None => format!(r#"{{"error":{{"class":"GenericError","desc":"{desc}"}}}}"#),
            };
            assert_eq!(one_line(&out), expected, "{mode}: {input}");
            assert_eq!(server.state(), state);
        }
    }
    // exec-oob and execute together, with oob on.
    let mut out = Out::new();
    let mut server = commanding(true, &mut out);
    server
        .handle(
            item(r#"{"execute": "a", "exec-oob": "b", "id": 1}"#),
            &mut handler_fn(answer),
            &mut out,
        )
        .unwrap();
    assert_eq!(
        one_line(&out),
        r#"{"id":1,"error":{"class":"GenericError","desc":"QMP input member 'execute' clashes with 'exec-oob'"}}"#
    );
}

#[test]
fn bad_bytes_get_an_error_without_an_id() {
    let cases = [
        (
            invalid(ScanErrorKind::UnexpectedByte),
            "JSON parse error, unexpected byte",
        ),
        (
            invalid(ScanErrorKind::InvalidEscape),
            "JSON parse error, invalid escape sequence in string",
        ),
        (
            invalid(ScanErrorKind::InvalidUtf8),
            "JSON parse error, invalid UTF-8 sequence in string",
        ),
        (
            invalid(ScanErrorKind::UnexpectedEnd),
            "JSON parse error, premature EOI",
        ),
        (
            invalid(ScanErrorKind::TooDeep),
            "JSON nesting depth limit exceeded",
        ),
        (
            invalid(ScanErrorKind::InvalidLiteral),
            "JSON parse error, invalid literal",
        ),
        (
            FrameError::TooLarge { start: 0, len: 99 },
            "JSON token size limit exceeded",
        ),
    ];
    for oob in [false, true] {
        for (error, desc) in cases {
            let mut out = Out::new();
            let mut server = commanding(oob, &mut out);
            let outcome = server.handle(Err(error), &mut handler_fn(answer), &mut out);
            assert_eq!(
                outcome,
                Ok(ServerOutcome::Refused(ServerRefusal::NotJson(error)))
            );
            assert_eq!(
                one_line(&out),
                format!(r#"{{"error":{{"class":"GenericError","desc":"{desc}"}}}}"#)
            );
        }
    }
    // Through a framer: one 0xFF is one error, and the next request still runs.
    let mut out = Out::new();
    let mut server = commanding(false, &mut out);
    let mut framer = Framer::new([0u8; 128]);
    let mut outcomes = Vec::new();
    framer.feed(b"\xff{\"execute\": \"echo\", \"id\": 1}", |item| {
        outcomes.push(
            server
                .handle(item, &mut handler_fn(answer), &mut out)
                .map(|o| matches!(o, ServerOutcome::Executed(_))),
        );
    });
    assert_eq!(outcomes, [Ok(false), Ok(true)]);
    assert_eq!(
        written(&out),
        "{\"error\":{\"class\":\"GenericError\",\"desc\":\"JSON parse error, unexpected byte\"}}\r\n{\"return\":{},\"id\":1}\r\n"
    );
}

#[test]
fn a_server_framer_takes_up_the_next_request_after_bad_bytes() {
    // Requests back to back, without newlines, as QMP clients send them: after each bad
    // region the next `{` is a request again, and every bad region gets one error.
    let input: &[u8] = b"%{\"execute\": \"echo\", \"id\": 1}\
        {\"execute\": tru}{\"execute\": \"echo\", \"id\": 2}\
        {\"id\": 01}{\"execute\": \"echo\", \"id\": 3}";
    let run = |config: ScanConfig| {
        let mut out = Out::new();
        let mut server = commanding(false, &mut out);
        let mut framer = Framer::with_config([0u8; 128], config);
        framer.feed(input, |item| {
            server
                .handle(item, &mut handler_fn(answer), &mut out)
                .unwrap();
        });
        String::from(written(&out))
    };
    let error = |what: &str| {
        format!("{{\"error\":{{\"class\":\"GenericError\",\"desc\":\"JSON parse error, {what}\"}}}}\r\n")
    };
    let ok = |id: u32| format!("{{\"return\":{{}},\"id\":{id}}}\r\n");
    assert_eq!(
        run(ScanConfig::qmp_server()),
        [
            error("unexpected byte"),
            ok(1),
            error("invalid literal"),
            ok(2),
            error("invalid number"),
            ok(3)
        ]
        .concat()
    );
    // The client-side default waits for a `{` at the start of a line: the first error
    // is not even answered yet, and every request after it is lost.
    assert_eq!(run(ScanConfig::qmp()), "");
}

/// The lines a commanding server writes for `input`, read through `feed`.
fn fed(input: &[u8]) -> Vec<String> {
    let mut out = heapless::Vec::<u8, 65536>::new();
    let mut server = Server::new(Some(Version::new(10, 0, 2)), &[]);
    server.greet(&mut out).unwrap();
    let mut framer = Framer::with_config([0u8; 256], ScanConfig::qmp_server());
    let mut handler = handler_fn(answer);
    server
        .feed(
            &mut framer,
            br#"{"execute":"qmp_capabilities"}"#,
            &mut handler,
            &mut out,
            |_| {},
        )
        .unwrap();
    out.clear();
    let mut outcomes = 0;
    server
        .feed(&mut framer, input, &mut handler, &mut out, |_| {
            outcomes += 1
        })
        .unwrap();
    let text = core::str::from_utf8(&out).unwrap();
    assert!(text.is_empty() || text.ends_with("\r\n"), "{text}");
    let lines: Vec<String> = text.lines().map(ToString::to_string).collect();
    assert_eq!(lines.len(), outcomes, "one outcome per reply");
    lines
}

/// An id-less GenericError with `desc`.
fn generic(desc: &str) -> String {
    format!(r#"{{"error":{{"class":"GenericError","desc":"{desc}"}}}}"#)
}

#[test]
fn fed_bad_bytes_get_qemus_errors() {
    let ok = r#"{"return":{},"id":1}"#;
    let echo = br#"{"execute":"echo","id":1}"#;
    let cases: &[(&[u8], &[&str])] = &[
        // The lexer: a byte no token starts or continues with, quoted with the token
        // so far; then it skips to a structural or control character.
        (b"%", &["JSON parse error, stray '%'"]),
        (b"\xff", &[r"JSON parse error, stray '\uFFFD'"]),
        (
            b"{\"execute\":\"ec\xff",
            &[r#"JSON parse error, stray '\"ec\uFFFD'"#],
        ),
        (
            b"{\"id\": 01}",
            &[
                "JSON parse error, stray '01'",
                "JSON parse error, expecting value",
            ],
        ),
        (
            b"[-x]",
            &[
                "JSON parse error, stray '-x'",
                "JSON parse error, expecting value",
            ],
        ),
        (
            b"[1.e]",
            &[
                "JSON parse error, stray '1.e'",
                "JSON parse error, expecting value",
            ],
        ),
        (
            b"[nulL]",
            &[
                "JSON parse error, stray 'L'",
                "JSON parse error, expecting value",
            ],
        ),
        (
            b"%\xff",
            &[
                "JSON parse error, stray '%'",
                r"JSON parse error, stray '\uFFFD'",
            ],
        ),
        (b"%abc\t", &["JSON parse error, stray '%'"]),
        (b"\x01", &[r"JSON parse error, stray '\u0001'"]),
        // QEMU formats the token as a C string: a NUL ends it.
        (b"[\"a\x00b", &[r#"JSON parse error, stray '\"a'"#]),
        // The parser, at the end of the message.
        (
            b"{\"execute\": tru}",
            &["JSON parse error, invalid keyword 'tru'"],
        ),
        (b"foo ", &["JSON parse error, invalid keyword 'foo'"]),
        (b"}", &["JSON parse error, expecting value"]),
        (b"[1,]", &["JSON parse error, expecting value"]),
        (b"{\"a\":1,}", &["JSON parse error, expecting value"]),
        (
            b"{1:2}",
            &["JSON parse error, key is not a string in object"],
        ),
        (
            b"{null:2}",
            &["JSON parse error, key is not a string in object"],
        ),
        (
            b"{[{}]:2}",
            &["JSON parse error, key is not a string in object"],
        ),
        (
            b"{{\"a\" 1}:2}",
            &["JSON parse error, missing : in object pair"],
        ),
        (
            b"{\"a\" 1}",
            &["JSON parse error, missing : in object pair"],
        ),
        (
            b"{\"a\":1 \"b\":2}",
            &["JSON parse error, expected separator in dict"],
        ),
        (
            b"{\"a\":1]",
            &["JSON parse error, expected separator in dict"],
        ),
        (b"[1 2]", &["JSON parse error, expected separator in list"]),
        (b"[0e5]", &["JSON parse error, expected separator in list"]),
        (
            b"{\"a\":{\"b\":,\"c\":{}}}",
            &["JSON parse error, expecting value"],
        ),
        // Strings.
        (
            br#"["\x"]"#,
            &["JSON parse error, invalid escape sequence in string"],
        ),
        (
            br#"["\uD800"]"#,
            &[r"JSON parse error, \\uD800 is not a valid Unicode character"],
        ),
        (
            br#"["\uD800\u0041"]"#,
            &[r"JSON parse error, \\uD800 is not a valid Unicode character"],
        ),
        (
            br#"["\udc00"]"#,
            &[r"JSON parse error, \\udc00 is not a valid Unicode character"],
        ),
        (
            br#"["\u12x4"]"#,
            &[r"JSON parse error, \\u12x4 is not a valid Unicode character"],
        ),
        (
            br#"["\uFDD0"]"#,
            &[r"JSON parse error, \\uFDD0 is not a valid Unicode character"],
        ),
        (
            b"[\"\x80\"]",
            &["JSON parse error, invalid UTF-8 sequence in string"],
        ),
        (
            b"[\"\xc3(\"]",
            &["JSON parse error, invalid UTF-8 sequence in string"],
        ),
        (
            b"[\"\xe0\x80\x80\"]",
            &["JSON parse error, invalid UTF-8 sequence in string"],
        ),
        (
            b"[\"\xed\xa0\x80\"]",
            &["JSON parse error, invalid UTF-8 sequence in string"],
        ),
        // A key repeated in any object, decoded; braces inside strings are text.
        (
            br#"{"execute":"echo","id":1,"id":1}"#,
            &["JSON parse error, duplicate key"],
        ),
        (
            br#"{"execute":"echo","arguments":{"l":[{"a":1,"\u0061":2}]},"id":1}"#,
            &["JSON parse error, duplicate key"],
        ),
        // Good JSON that is not a request, and good requests around bad bytes.
        (b"[1]", &["QMP input must be a JSON object"]),
        (
            b"%[1]",
            &[
                "JSON parse error, stray '%'",
                "QMP input must be a JSON object",
            ],
        ),
        (b"\"text\"", &["QMP input must be a JSON object"]),
    ];
    for &(input, descs) in cases {
        let want: Vec<String> = descs.iter().map(|d| generic(d)).collect();
        assert_eq!(fed(input), want, "{}", input.escape_ascii());
        // The next request is answered, right after the bad bytes.
        let mut then = input.to_vec();
        then.extend_from_slice(echo);
        let mut want = want;
        want.push(ok.to_string());
        assert_eq!(fed(&then), want, "{} then a request", input.escape_ascii());
    }
    // Braces and quotes inside strings are not objects or keys.
    assert_eq!(
        fed(br#"{"execute":"echo","arguments":{"s":"{\"a\":1,\"a\":2}","t":"\\"},"id":1}"#),
        [r#"{"return":{"s":"{\"a\":1,\"a\":2}","t":"\\"},"id":1}"#]
    );
    // Valid surrogate pairs and escapes pass; the request runs (its arguments echoed
    // as received).
    assert_eq!(
        fed(br#"{"execute":"echo","arguments":{"s":"\ud83d\ude00\n\/"},"id":1}"#),
        [r#"{"return":{"s":"\ud83d\ude00\n\/"},"id":1}"#]
    );
}

#[test]
fn fed_nesting_counts_braces_and_brackets_as_qemu() {
    // 1024 open is the limit; the 1025th is refused, and the rest is fresh input: one
    // `expecting value` per stray closing bracket.
    let mut input = br#"{"execute":"echo","arguments":{"a":"#.to_vec();
    input.extend(core::iter::repeat_n(b'[', 1022));
    input.extend(core::iter::repeat_n(b']', 1022));
    input.extend_from_slice(br#"},"id":1}"#);
    assert_eq!(fed(&input).len(), 1, "1024 deep is fine");
    let mut input = br#"{"execute":"echo","arguments":{"a":"#.to_vec();
    input.extend(core::iter::repeat_n(b'[', 1023));
    input.extend(core::iter::repeat_n(b']', 3));
    let lines = fed(&input);
    assert_eq!(lines[0], generic("JSON nesting depth limit exceeded"));
    assert_eq!(
        &lines[1..],
        vec![generic("JSON parse error, expecting value"); 3]
    );
}

#[test]
fn fed_messages_qemu_takes_and_the_framer_does_not_are_refused() {
    // QEMU runs a single-quoted request; the strict framer refuses it, so the server
    // answers the framer's error in its place.
    assert_eq!(
        fed(b"{'execute':'echo','id':1}{\"execute\":\"echo\",\"id\":2}"),
        [
            generic("JSON parse error, unexpected byte"),
            r#"{"return":{},"id":2}"#.to_string()
        ]
    );
    // A token longer than QEMU's quote here: the first 64 bytes.
    let mut input = b"[\"".to_vec();
    input.extend(core::iter::repeat_n(b'a', 100));
    input.push(0xFF);
    let quoted = format!(r#"\"{}"#, "a".repeat(63));
    assert_eq!(
        fed(&input),
        [generic(&format!("JSON parse error, stray '{quoted}'"))]
    );
}

#[test]
fn fed_noise_never_panics_and_any_split_answers_the_same() {
    let alphabet = b"{}[]:,\"'\\ \n\tuetrfalsn019-.eE%\x00\x01\x7f\x80\xc0\xc3\xed\xf0\xfe\xff";
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..3000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = (x % 48) as usize;
        let mut input = Vec::with_capacity(len + 30);
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            input.push(alphabet[(x % alphabet.len() as u64) as usize]);
        }
        input.extend_from_slice(b"\xff{\"execute\":\"echo\",\"id\":9}");
        let whole = fed(&input);
        // A 0xFF resets QEMU's lexer; the request after it runs.
        assert_eq!(
            whole.last().map(String::as_str),
            Some(r#"{"return":{},"id":9}"#),
            "{}",
            input.escape_ascii()
        );
        // Fed in two calls, the same answers.
        let cut = (x as usize) % (input.len() + 1);
        let mut greeting = Out::new();
        let mut server = commanding(false, &mut greeting);
        let mut out = heapless::Vec::<u8, 65536>::new();
        let mut framer = Framer::with_config([0u8; 256], ScanConfig::qmp_server());
        for part in [&input[..cut], &input[cut..]] {
            server
                .feed(&mut framer, part, &mut handler_fn(answer), &mut out, |_| {})
                .unwrap();
        }
        let split: Vec<String> = written_lines(&out);
        assert_eq!(split, whole, "{} cut at {cut}", input.escape_ascii());
    }
}

fn written_lines(out: &[u8]) -> Vec<String> {
    core::str::from_utf8(out)
        .unwrap()
        .lines()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn the_server_state_is_small() {
    // Its configuration, its state and QEMU's JSON engine (a 1024-bit stack and two
    // 64-byte quotes).
    let size = core::mem::size_of::<Server<'static>>();
    assert!(size <= 576, "{size}");
}

#[test]
fn fed_refusals_are_outcomes() {
    let mut out = Out::new();
    let mut server = commanding(false, &mut out);
    let mut framer = Framer::with_config([0u8; 64], ScanConfig::qmp_server());
    let mut seen = Vec::new();
    server
        .feed(
            &mut framer,
            b"%{\"execute\":\"echo\",\"id\":1}",
            &mut handler_fn(answer),
            &mut out,
            |o| {
                seen.push(match o {
                    ServerOutcome::Refused(refusal @ ServerRefusal::Json(json)) => {
                        assert_eq!(refusal.class(), ErrorClass::GenericError);
                        assert_eq!(refusal.id(), None);
                        assert_eq!(json.fault, JsonFault::Stray);
                        assert_eq!(json.quoted.as_bytes(), b"%");
                        refusal.to_string()
                    }
                    ServerOutcome::Executed(request) => request.name.to_string(),
                    other => panic!("{other:?}"),
                });
            },
        )
        .unwrap();
    assert_eq!(seen, ["JSON parse error, stray '%'", "echo"]);
    // Before the greeting, nothing is read.
    let mut server = Server::new(None, &[]);
    assert_eq!(
        server.feed(
            &mut framer,
            b"{}",
            &mut handler_fn(answer),
            &mut out,
            |_| {}
        ),
        Err(ServerError::Misuse(ServerMisuse::NotGreeted))
    );
}

#[test]
fn events_are_written_in_command_mode() {
    let mut out = Out::new();
    let mut server = commanding(false, &mut out);
    server.event("STOP", (), AT, &mut out).unwrap();
    let data = RawJson::parse(br#"{"guest": false, "reason": "host-qmp-quit"}"#).unwrap();
    let unknown = Timestamp {
        seconds: -1,
        microseconds: -1,
    };
    server.event("SHUTDOWN", data, unknown, &mut out).unwrap();
    assert_eq!(
        written(&out),
        concat!(
            "{\"timestamp\":{\"seconds\":1755977653,\"microseconds\":248749},\"event\":\"STOP\"}\r\n",
            "{\"timestamp\":{\"seconds\":-1,\"microseconds\":-1},\"event\":\"SHUTDOWN\",",
            "\"data\":{\"guest\":false,\"reason\":\"host-qmp-quit\"}}\r\n",
        )
    );
    // A reset connection negotiates again before events flow.
    server.reset();
    assert_eq!(server.state(), ServerState::Start);
    out.clear();
    assert_eq!(
        server.event("STOP", (), AT, &mut out),
        Err(ServerError::Misuse(ServerMisuse::NotNegotiated))
    );
    server.greet(&mut out).unwrap();
    assert!(written(&out).starts_with("{\"QMP\""));
}

#[test]
fn a_failing_sink_is_the_servers_error_and_keeps_its_state() {
    let mut out = Out::new();
    let mut server = greeted(&[QmpCapability::Oob], &mut out);
    let negotiate = r#"{"execute": "qmp_capabilities", "id": 1}"#;
    for size in 0..r#"{"return":{},"id":1}"#.len() + 2 {
        let mut buf = vec![0u8; size];
        let outcome = server.handle(
            item(negotiate),
            &mut handler_fn(answer),
            &mut SliceSink::new(&mut buf),
        );
        assert_eq!(
            outcome,
            Err(ServerError::Encode(EncodeError::Sink(BufferFull))),
            "size {size}"
        );
        assert_eq!(server.state(), ServerState::Negotiation, "size {size}");
    }
    let mut server = commanding(false, &mut out);
    let mut buf = [0u8; 8];
    let outcome = server.handle(
        item(r#"{"execute": "echo", "id": 1}"#),
        &mut handler_fn(answer),
        &mut SliceSink::new(&mut buf),
    );
    assert_eq!(
        outcome,
        Err(ServerError::Encode(EncodeError::Sink(BufferFull)))
    );
    let error: ServerError<BufferFull> = ServerError::Encode(EncodeError::Sink(BufferFull));
    assert_eq!(
        error.to_string(),
        "cannot write the reply: cannot write the encoded output: buffer full"
    );
    assert!(core::error::Error::source(&error).is_some());
    for m in [
        ServerMisuse::NotGreeted,
        ServerMisuse::AlreadyGreeted,
        ServerMisuse::NotNegotiated,
    ] {
        let e: ServerError<BufferFull> = ServerError::Misuse(m);
        assert_eq!(e.to_string(), m.to_string());
        assert!(core::error::Error::source(&e).is_none());
    }
    assert_eq!(
        ServerState::Command { oob: false }.to_string(),
        "command mode"
    );
}

#[test]
fn handlers_can_be_types_or_borrowed() {
    struct Counter(usize);
    impl Handler<Out> for Counter {
        fn execute(
            &mut self,
            _request: &crate::message::Request<'_>,
            responder: Responder<'_, Out>,
        ) -> AnswerResult {
            self.0 += 1;
            responder.success(Ser(self.0))
        }
    }
    let mut out = Out::new();
    let mut server = commanding(false, &mut out);
    let mut counter = Counter(0);
    for _ in 0..2 {
        server
            .handle(item(r#"{"execute": "count"}"#), &mut counter, &mut out)
            .unwrap();
    }
    let mut borrowed = &mut counter;
    server
        .handle(item(r#"{"execute": "count"}"#), &mut borrowed, &mut out)
        .unwrap();
    assert_eq!(counter.0, 3);
    assert_eq!(
        written(&out),
        "{\"return\":1}\r\n{\"return\":2}\r\n{\"return\":3}\r\n"
    );
}
