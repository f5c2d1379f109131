//! The sessions make no heap allocation: a counting global allocator sees none while a
//! `session::Client` and a `session::Server` run 1 000 rounds of a whole exchange over
//! stack framers and `heapless` byte buffers: negotiation, typed, raw and out-of-band
//! commands, replies out of order, events, an unknown id, id-less errors (the server
//! following QEMU's JSON input engine through bad bytes), a resync,
//! a reply too large for the client's buffer, a busy table and a failing sink, with
//! every error formatted into a stack buffer.
//!
//! The counter is per thread, so the test harness's own threads do not disturb it (the
//! same counter as `no_alloc.rs`; each test binary has its own global allocator).

use qmp_core::encode::{EmptyObject, Ser, SliceSink};
use qmp_core::frame::Framer;
use qmp_core::json::RawJson;
use qmp_core::message::{Timestamp, Version};
use qmp_core::scan::ScanConfig;
use qmp_core::schema::commands::{MigratePause, QmpCapability, QueryStatus};
use qmp_core::session::{handler_fn, Client, ClientError, ClientOutcome, Server, ServerOutcome};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{allocations, StackWriter};

/// The length of `value`'s `Display` text, formatted on the stack.
fn shown(value: &dyn std::fmt::Display) -> usize {
    let mut buf = [0u8; 256];
    let mut w = StackWriter(&mut buf, 0);
    std::fmt::Write::write_fmt(&mut w, format_args!("{value}")).unwrap();
    w.1
}

type Wire = heapless::Vec<u8, 4096>;

/// What the counted run saw, by kind.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    replies: usize,
    too_large: usize,
    events: usize,
    unknown: usize,
    idless: usize,
    resynced: usize,
    busy: usize,
    sink_failures: usize,
    executed: usize,
    refused: usize,
    text: usize,
}

const ROUNDS: usize = 1_000;

/// One connection per round, everything on the stack.
fn exchange(big: &str) -> Tally {
    let mut tally = Tally::default();
    let status = RawJson::parse(br#"{"status": "running", "running": true}"#).unwrap();
    let mut handler = handler_fn(|request, responder| match request.name.as_str() {
        Some("query-status") => responder.success(status),
        Some("big") => responder.success(Ser(big)),
        Some("migrate-pause") => responder.success(EmptyObject),
        _ => responder.command_not_found(),
    });
    for round in 0..ROUNDS {
        let mut client: Client<4> = Client::new();
        let mut server = Server::new(Some(Version::new(10, 0, 2)), &[QmpCapability::Oob]);
        let mut client_framer = Framer::new([0u8; 512]);
        let mut server_framer = Framer::with_config([0u8; 512], ScanConfig::qmp_server());
        let (mut to_client, mut to_server) = (Wire::new(), Wire::new());

        // Moves what the client wrote through the server, and what the server wrote
        // through the client.
        macro_rules! to_server {
            () => {
                server
                    .feed(
                        &mut server_framer,
                        &to_server,
                        &mut handler,
                        &mut to_client,
                        |outcome| match outcome {
                            ServerOutcome::Refused(refusal) => {
                                tally.refused += 1;
                                tally.text += shown(&refusal);
                            }
                            _ => tally.executed += 1,
                        },
                    )
                    .unwrap();
                to_server.clear();
            };
        }
        macro_rules! to_client {
            () => {
                client_framer.feed(&to_client, |item| match client.handle(item) {
                    ClientOutcome::Reply { .. } => tally.replies += 1,
                    ClientOutcome::ReplyTooLarge { error, .. } => {
                        tally.too_large += 1;
                        tally.text += shown(&error);
                    }
                    ClientOutcome::Event(_) => tally.events += 1,
                    ClientOutcome::UnknownReply(_) => tally.unknown += 1,
                    ClientOutcome::IdlessError(_) => tally.idless += 1,
                    ClientOutcome::Resynced(_) => tally.resynced += 1,
                    ClientOutcome::Greeting(_) | ClientOutcome::Negotiated { .. } => {}
                    other => panic!("{other:?}"),
                });
                to_client.clear();
            };
        }

        server.greet(&mut to_client).unwrap();
        to_client!();
        assert!(client.negotiate(true, &mut to_server).unwrap());
        to_server!();
        to_client!();

        // Typed, raw and out-of-band commands; the table fills up.
        client.execute(&QueryStatus, &mut to_server).unwrap();
        client.execute_raw("no-such", (), &mut to_server).unwrap();
        client.execute_oob(&MigratePause, &mut to_server).unwrap();
        let args = RawJson::parse(br#"{"n": 1}"#).unwrap();
        client.execute_raw("big", args, &mut to_server).unwrap();
        match client.execute(&QueryStatus, &mut to_server) {
            Err(e @ ClientError::Busy) => {
                tally.busy += 1;
                tally.text += shown(&e);
            }
            other => panic!("{other:?}"),
        }
        // An event before any reply, then the replies; the big one is too large for
        // the client's buffer and settles the oldest in-band command left.
        let at = Timestamp {
            seconds: round as i64,
            microseconds: 0,
        };
        server.event("RESUME", (), at, &mut to_client).unwrap();
        to_server!();
        to_client!();
        assert_eq!(client.pending(), 0);

        // A reply nobody asked for, something that is not a request, and a resync.
        to_client
            .extend_from_slice(b"{\"return\": {}, \"id\": 999}\r\n")
            .unwrap();
        to_client!();
        to_server
            .extend_from_slice(b"[1]%{\"id\": 01}[tru]")
            .unwrap();
        to_server!();
        to_client!();
        client.resync(&mut to_server).unwrap();
        to_server!();
        to_client!();

        // A sink that fails leaves nothing pending.
        let mut small = [0u8; 8];
        match client.execute(&QueryStatus, &mut SliceSink::new(&mut small)) {
            Err(e @ ClientError::Encode(_)) => {
                tally.sink_failures += 1;
                tally.text += shown(&e);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(client.pending(), 0);
        assert_eq!(client.handle_close().count(), 0);
    }
    tally
}

#[test]
fn a_client_server_exchange_does_not_allocate() {
    let big = "x".repeat(1000);
    let (allocs, tally) = allocations(|| exchange(&big));
    assert_eq!(allocs, 0, "the session exchange allocated {allocs} times");
    assert_eq!(
        tally,
        Tally {
            replies: ROUNDS * 3,
            too_large: ROUNDS,
            events: ROUNDS,
            unknown: ROUNDS,
            // `[1]` and the four JSON errors.
            idless: ROUNDS * 5,
            resynced: ROUNDS,
            busy: ROUNDS,
            sink_failures: ROUNDS,
            // qmp_capabilities and four commands.
            executed: ROUNDS * 5,
            // `[1]`, four errors of QEMU's JSON engine (`stray '%'`, `stray '01'`,
            // `expecting value`, `invalid keyword 'tru'`) and the resync's 0xFF.
            refused: ROUNDS * 6,
            text: tally.text,
        }
    );
    assert!(tally.text > ROUNDS * 100);
}

/// The counter works: a deliberate allocation is seen.
#[test]
fn the_counter_sees_allocations() {
    let (allocs, v) = allocations(|| Vec::<u8>::with_capacity(1));
    assert!(allocs >= 1, "the counting allocator missed an allocation");
    drop(v);
    let (allocs, ()) = allocations(|| ());
    assert_eq!(allocs, 0);
}
