//! Sans-IO QMP sessions: a [`Client`] and a [`Server`] that keep the protocol's state
//! and nothing else.
//!
//! Neither does I/O, reads a clock or allocates. Bytes come in through a
//! [`Framer`](crate::frame::Framer), whose items (a [`Frame`](crate::frame::Frame) or a
//! [`FrameError`](crate::frame::FrameError)) are handed to `handle`, one by one and in
//! order; what the session writes goes into a caller's [`Sink`](crate::encode::Sink).
//! What `handle` reports borrows the frame, so it is returned per item.
//!
//! # Guarantees
//!
//! - No input makes either side panic, and none is fatal: every framer item gives one
//!   outcome, bad input included, and the session goes on.
//! - Memory is the session value itself: the client's pending table is `N` entries
//!   inline (`Client<N>`, 8 by default), the server holds its configuration, its state
//!   and that of QEMU's JSON engine it follows (528 bytes on a 64-bit target).
//! - A call that fails leaves the state as it was: nothing pending for a command that was
//!   refused or could not be written.
//!
//! # Client
//!
//! [`Client`] is QEMU's peer. Its states ([`ClientState`]) and the calls that move it:
//!
//! ```text
//!  AwaitingGreeting --greeting--> Greeted --negotiate()--> Negotiating --return--> Ready
//!                                    ^                          |
//!                                    +--------error-------------+
//!  any state --handle_close()--> Closed;  any state --reset()--> AwaitingGreeting
//! ```
//!
//! The call order:
//!
//! 1. Feed every framer item to [`Client::handle`] and act on its [`ClientOutcome`].
//!    The first is the [`Greeting`](ClientOutcome::Greeting), in any of its historical
//!    forms, or now and then an [`Event`](ClientOutcome::Event): QEMU 10 sends events to
//!    a connection it accepted before greeting it (a `RESUME` to a client that connected
//!    as the VM started; `testdata/captures/event_before_greeting.rx.bin`).
//! 2. [`Client::negotiate`] writes `qmp_capabilities`, with `enable: ["oob"]` only if
//!    the greeting offered `oob` and the caller asks for it.
//!    [`Negotiated`](ClientOutcome::Negotiated) says whether `oob` is on.
//! 3. [`Client::execute`] (a typed [`Command`](crate::schema::Command)),
//!    [`execute_oob`](Client::execute_oob), [`execute_raw`](Client::execute_raw) and
//!    [`execute_raw_oob`](Client::execute_raw_oob) write a command and return a
//!    [`Ticket`]. Its reply comes back as [`ClientOutcome::Reply`] with that ticket,
//!    whatever the order of replies; decode it with
//!    [`Command::decode_reply`](crate::schema::Command::decode_reply) or
//!    [`ClientOutcome::decode_reply`]. Events come as [`ClientOutcome::Event`], at any
//!    time, also before the reply of the command that caused them.
//! 4. [`Client::resync`] at any time writes `0xFF` and absorbs the one error without an
//!    id that answers it ([`ClientOutcome::Resynced`]).
//! 5. When the transport ends, [`Client::handle_close`] hands back the tickets that will
//!    never be answered; [`Client::reset`] starts over for a new connection.
//!
//! ## Ids and the pending table
//!
//! The client numbers its commands itself: ids are `u64`s from a counter, written as
//! JSON numbers, and never reused while pending (nor across [`reset`](Client::reset)).
//! Up to `N` commands may be pending at once (QEMU's in-band queue holds 8 once `oob` is
//! on); one more is refused with [`ClientError::Busy`] and nothing is written, never
//! queued behind the caller's back. A command is pending only once the sink took all of
//! it: a sink that fails (a full buffer) leaves no pending entry behind.
//!
//! A reply is matched by its id. A reply whose id is not pending is
//! [`UnknownReply`](ClientOutcome::UnknownReply); an error without an id is
//! [`IdlessError`](ClientOutcome::IdlessError) unless a resync asked for it.
//!
//! ## Replies too large
//!
//! A message larger than the framer's buffer arrives as
//! [`FrameError::TooLarge`](crate::frame::FrameError::TooLarge), without its content,
//! so its id is unknown. QEMU answers in-band commands in the order they were sent, and
//! only out-of-band replies overtake them. So the rule is: **when the session is ready,
//! commands are pending and none of them is out of band, a message too large is the
//! reply to the oldest pending command**, which is settled with
//! [`ReplyTooLarge`](ClientOutcome::ReplyTooLarge) instead of being left waiting.
//! Otherwise (an out-of-band command is pending, or nothing is) it cannot be attributed
//! and is reported as [`Framing`](ClientOutcome::Framing). The rule assumes that the
//! large message is a reply: an event larger than the buffer while commands are pending
//! settles the oldest command wrongly, and that command's real reply then comes as
//! [`UnknownReply`](ClientOutcome::UnknownReply). QEMU's events are small; size the
//! buffer for the largest reply expected.
//!
//! # Server
//!
//! [`Server`] is QEMU's side, for small agents that serve QMP and for tests that run
//! without QEMU. [`Server::greet`] writes the greeting (a configurable
//! [`Version`](crate::message::Version) and capabilities); then every framer item goes
//! to [`Server::handle`], which writes exactly one reply for it, each followed by CRLF as
//! QEMU's are:
//!
//! - in negotiation mode only `qmp_capabilities` runs (enabling `oob` only if offered);
//!   anything else gets `CommandNotFound`, "Expecting capabilities negotiation with
//!   'qmp_capabilities'";
//! - in command mode, requests go to a [`Handler`], which answers through a
//!   [`Responder`] (a success [payload](crate::encode::Payload) or an error);
//!   `qmp_capabilities` again gets `CommandNotFound`, "Capabilities negotiation is
//!   already complete, command ignored";
//! - requests QEMU would refuse get its `GenericError` and exact text
//!   ([`parse_request`](crate::message::parse_request)), with their id when they were
//!   objects; bytes that are not JSON (a client's `0xFF` included) get QEMU's errors
//!   without an id ([`ServerRefusal`]).
//!
//! [`Server::feed`] takes the client's bytes: it reads them through a framer set up with
//! [`ScanConfig::qmp_server`](crate::scan::ScanConfig::qmp_server) and follows QEMU's JSON
//! input engine beside it (lexer, bracket-counting streamer, parser; [`JsonRefusal`]), so
//! that bad bytes get exactly QEMU's errors, as many and in the same order, and the
//! next request is taken up where QEMU takes it up. [`Server::handle`] takes framer
//! items one by one instead, with one error per bad region in the framer's words. What
//! still differs from QEMU is listed in [`Server`]'s docs.
//!
//! [`Server::event`] writes events, only in command mode, with a timestamp the caller
//! provides.
//!
//! # Example
//!
//! A whole exchange driven by hand: greeting, negotiation with `oob`, one command, an
//! event that overtakes its reply, and the reply.
//!
//! ```
//! use qmp_core::encode::EmptyObject;
//! use qmp_core::frame::Framer;
//! use qmp_core::json::RawJson;
//! use qmp_core::message::{Timestamp, Version};
//! use qmp_core::scan::ScanConfig;
//! use qmp_core::schema::commands::{QmpCapability, QueryStatus};
//! use qmp_core::session::{handler_fn, Client, ClientOutcome, Server, ServerOutcome};
//!
//! // Each direction of the connection is a byte buffer here; any sink does.
//! type Wire = heapless::Vec<u8, 512>;
//! let (mut to_client, mut to_server) = (Wire::new(), Wire::new());
//! let mut client_framer = Framer::new([0u8; 256]);
//! let mut server_framer = Framer::with_config([0u8; 256], ScanConfig::qmp_server());
//!
//! let mut client: Client = Client::new();
//! let mut server = Server::new(Some(Version::new(10, 0, 2)), &[QmpCapability::Oob]);
//! let status = RawJson::parse(br#"{"status": "running", "running": true}"#)?;
//! let mut handler = handler_fn(|request, responder| match request.name.as_str() {
//!     Some("query-status") => responder.success(status),
//!     Some("cont") => responder.success(EmptyObject),
//!     _ => responder.command_not_found(),
//! });
//!
//! // The server greets; the client reads the greeting and negotiates.
//! server.greet(&mut to_client)?;
//! client_framer.feed(&to_client, |item| {
//!     assert!(matches!(client.handle(item), ClientOutcome::Greeting(g) if g.offers("oob")));
//! });
//! to_client.clear();
//! assert!(client.negotiate(true, &mut to_server)?);
//! assert_eq!(
//!     &to_server[..],
//!     br#"{"execute":"qmp_capabilities","arguments":{"enable":["oob"]},"id":0}"#,
//! );
//!
//! // The server accepts; the client learns that oob is on.
//! server_framer.feed(&to_server, |item| {
//!     let served = server.handle(item, &mut handler, &mut to_client);
//!     assert_eq!(served, Ok(ServerOutcome::Negotiated { oob: true }));
//! });
//! to_server.clear();
//! assert_eq!(&to_client[..], b"{\"return\":{},\"id\":0}\r\n");
//! client_framer.feed(&to_client, |item| {
//!     assert_eq!(client.handle(item), ClientOutcome::Negotiated { oob: true });
//! });
//! to_client.clear();
//!
//! // A command; an event goes out before the server gets to it.
//! let ticket = client.execute(&QueryStatus, &mut to_server)?;
//! assert_eq!(&to_server[..], br#"{"execute":"query-status","id":1}"#);
//! let at = Timestamp { seconds: 1755977653, microseconds: 248749 };
//! server.event("RESUME", (), at, &mut to_client)?;
//! server_framer.feed(&to_server, |item| {
//!     assert!(server.handle(item, &mut handler, &mut to_client).is_ok());
//! });
//!
//! // The client sees the event, then the reply to its ticket.
//! let mut seen = Vec::new();
//! client_framer.feed(&to_client, |item| {
//!     let outcome = client.handle(item);
//!     if let ClientOutcome::Event(event) = outcome {
//!         seen.push(event.name.to_string());
//!     } else if let Some(reply) = outcome.decode_reply::<QueryStatus>(ticket) {
//!         let status = reply.expect("a return value");
//!         seen.push(format!("running: {}", status.running));
//!     }
//! });
//! assert_eq!(seen, ["RESUME", "running: true"]);
//! assert_eq!(client.pending(), 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod client;
mod json_input;
mod server;

pub use client::{
    Client, ClientError, ClientMisuse, ClientOutcome, ClientState, Ticket, Unanswered,
};
pub use json_input::{JsonFault, JsonRefusal, Quoted, TEXT_MAX};
pub use server::{
    handler_fn, Answered, CapabilityRefusal, Handler, HandlerFn, Responder, Server, ServerError,
    ServerMisuse, ServerOutcome, ServerRefusal, ServerState,
};

#[cfg(test)]
mod tests;
