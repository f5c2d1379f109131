//! What the blocking and the async connection share: the session client, the framer,
//! the event queue and the bookkeeping of submitted commands, driven without I/O. The
//! two connections only add the reads and writes.

use core::fmt;

use heapless::Vec;

use super::error::{Error, PeerError};
use super::queue::EventQueue;
use super::RawReply;
use crate::encode::{self, EncodeError, Id, Payload, Sink, Text};
use crate::frame::{Frame, Framer};
use crate::message::{EventMessage, Message, QemuVersion};
use crate::schema::commands::{Command, ReplyError};
use crate::session::{Client, ClientError, ClientOutcome, Ticket};
use crate::shell::ShellCommand;

/// What a read loop waits for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Wait {
    Greeting,
    Negotiated,
    /// The reply to this command, sent by `execute` (no submitted ones outstanding).
    Reply(Ticket),
    /// The next reply to a submitted command.
    Submitted,
    /// The error that answers a resync.
    Resynced,
    /// The next event to arrive (the queue being empty).
    Event,
}

/// The state of a connection, apart from its transport.
pub(super) struct Core<B, const N: usize, const E: usize> {
    pub(super) framer: Framer<B>,
    pub(super) client: Client<N>,
    pub(super) events: EventQueue<E>,
    pub(super) discarded: u64,
    /// Submitted commands whose replies the caller has not collected, oldest first.
    pub(super) submitted: Vec<Ticket, N>,
    /// Set while a write is under way: still set when a call begins means that a write
    /// was abandoned part-way (a cancelled async call).
    pub(super) writing: bool,
    /// The version the greeting announced, in its modern form.
    pub(super) qemu_version: Option<[u64; 3]>,
}

impl<B, const N: usize, const E: usize> Core<B, N, E>
where
    B: AsRef<[u8]> + AsMut<[u8]>,
{
    pub(super) fn new(buf: B) -> Self {
        Self {
            framer: Framer::new(buf),
            client: Client::new(),
            events: EventQueue::new(),
            discarded: 0,
            submitted: Vec::new(),
            writing: false,
            qemu_version: None,
        }
    }

    /// Every call begins here: fails once if an earlier write was abandoned.
    pub(super) fn begin<X>(&mut self) -> Result<(), Error<X>> {
        if core::mem::take(&mut self.writing) {
            let _unanswered = self.client.handle_close();
            self.submitted.clear();
            return Err(Error::Interrupted);
        }
        Ok(())
    }

    /// For the calls that wait for one answer: no submitted reply may be passed over.
    pub(super) fn nothing_submitted<X>(&self) -> Result<(), Error<X>> {
        match self.submitted.len() {
            0 => Ok(()),
            count => Err(Error::Uncollected { count }),
        }
    }

    /// A write failed: part of a command may have gone out, so the session ends.
    pub(super) fn write_failed(&mut self) {
        self.writing = false;
        let _unanswered = self.client.handle_close();
        self.submitted.clear();
    }

    /// The transport reached its end.
    pub(super) fn closed<X>(&mut self) -> Error<X> {
        let _unanswered = self.client.handle_close();
        self.submitted.clear();
        Error::Closed
    }

    /// Hand framer items to the client until `wait` is met: `Some` with the answer,
    /// or `None` when the framer needs more bytes. On `Some(Ok(ticket))` the framer's
    /// [`last`](Framer::last) frame is the message waited for (for replies: the one
    /// answering `ticket`). Events are queued on the way; everything else without a
    /// place is counted.
    pub(super) fn advance<X>(&mut self, wait: Wait) -> Option<Result<Option<Ticket>, Error<X>>> {
        while let Some(item) = self.framer.next() {
            let bytes = item.as_ref().ok().map(Frame::as_bytes);
            match self.client.handle(item) {
                ClientOutcome::Greeting(greeting) => {
                    self.qemu_version = match greeting.version.map(|v| v.qemu) {
                        Some(QemuVersion::Triple {
                            major,
                            minor,
                            micro,
                        }) => Some([major, minor, micro]),
                        _ => None,
                    };
                    if wait == Wait::Greeting {
                        return Some(Ok(None));
                    }
                }
                ClientOutcome::Negotiated { .. } => return Some(Ok(None)),
                ClientOutcome::NegotiationRefused(e) => {
                    return Some(Err(Error::Failed(PeerError::new(&e))))
                }
                ClientOutcome::Reply { ticket, .. } => {
                    if settle(&mut self.submitted, wait, ticket) {
                        return Some(Ok(Some(ticket)));
                    }
                    self.discarded += 1;
                }
                ClientOutcome::ReplyTooLarge { ticket, error } => {
                    if settle(&mut self.submitted, wait, ticket) {
                        let len = error.skipped();
                        return Some(Err(Error::ReplyTooLarge { ticket, len }));
                    }
                    self.discarded += 1;
                }
                ClientOutcome::Resynced(_) => {
                    if wait == Wait::Resynced {
                        return Some(Ok(None));
                    }
                }
                // Waited for (the queue is empty then): handed out from the framer,
                // so that an event larger than the queue is not lost.
                ClientOutcome::Event(_) if wait == Wait::Event => return Some(Ok(None)),
                ClientOutcome::Event(_) => self.events.push(bytes.unwrap_or_default()),
                ClientOutcome::Unexpected(_) | ClientOutcome::NotQmp(_)
                    if wait == Wait::Greeting =>
                {
                    return Some(Err(Error::NoGreeting))
                }
                _ => self.discarded += 1,
            }
        }
        None
    }

    /// The event [`advance`](Self::advance) stopped at, read from the framer.
    pub(super) fn last_event<X>(&self) -> Result<EventMessage<'_>, Error<X>> {
        match self.last_message()? {
            Message::Event(event) => Ok(event),
            _ => Err(Error::Internal),
        }
    }

    /// The reply [`advance`](Self::advance) stopped at, decoded as `C`'s return value;
    /// an error reply is [`Error::Failed`].
    pub(super) fn typed_reply<C: Command, X>(&self) -> Result<C::Returns<'_>, Error<X>> {
        C::decode_reply(&self.last_message()?).map_err(|e| match e {
            ReplyError::Error(e) => Error::Failed(PeerError::new(&e)),
            ReplyError::Decode(e) => Error::Decode(e),
            _ => Error::Internal,
        })
    }

    /// The reply [`advance`](Self::advance) stopped at, raw.
    pub(super) fn raw_reply<X>(&self) -> Result<RawReply<'_>, Error<X>> {
        RawReply::from_message(self.last_message()?)
    }

    /// The message that [`advance`](Self::advance) stopped at, read back from the
    /// framer.
    pub(super) fn last_message<X>(&self) -> Result<Message<'_>, Error<X>> {
        let frame = self.framer.last().ok_or(Error::Internal)?;
        Message::parse(frame).map_err(|_| Error::Internal)
    }
}

impl<B, const N: usize, const E: usize> Core<B, N, E> {
    /// The oldest queued event.
    pub(super) fn pop_event(&mut self) -> Option<EventMessage<'_>> {
        let bytes = self.events.pop()?;
        match Frame::parse(bytes).ok().map(Message::parse) {
            Some(Ok(Message::Event(event))) => Some(event),
            _ => None,
        }
    }

    /// The connection's `Debug` output, named `name`.
    pub(super) fn debug(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("state", &self.client.state())
            .field("pending", &self.client.pending())
            .field("submitted", &self.submitted.len())
            .field("events_queued", &self.events.len())
            .field("events_dropped", &self.events.dropped())
            .field("discarded", &self.discarded)
            .finish_non_exhaustive()
    }
}

/// The methods that the blocking and the async connection share and that do no I/O.
macro_rules! accessors {
    ($connection:ident) => {
        impl<T, B, const N: usize, const E: usize> $connection<T, B, N, E> {
            /// The oldest queued event, without reading.
            pub fn try_next_event(&mut self) -> Option<$crate::message::EventMessage<'_>> {
                self.core.pop_event()
            }

            /// How many events are queued.
            pub fn events_queued(&self) -> usize {
                self.core.events.len()
            }

            /// How many events did not fit in the queue and were dropped, since the
            /// connection began.
            pub fn events_dropped(&self) -> u64 {
                self.core.events.dropped()
            }

            /// How many messages had no place and were passed over: bad bytes,
            /// messages that are not QMP, replies nobody waits for (late replies after
            /// a [timeout](super::Error::Timeout) or
            /// [`abandon_submitted`](Self::abandon_submitted) included), errors without
            /// an id, messages too large that were not a reply.
            pub fn discarded(&self) -> u64 {
                self.core.discarded
            }

            /// How many submitted commands await collection by `next_reply`.
            pub fn submitted(&self) -> usize {
                self.core.submitted.len()
            }

            /// Stop waiting for the replies of the submitted commands (after a
            /// timeout, say): they stay pending in the client until their replies
            /// come, and those are then [discarded](Self::discarded). Returns how many
            /// were given up.
            pub fn abandon_submitted(&mut self) -> usize {
                let count = self.core.submitted.len();
                self.core.submitted.clear();
                count
            }

            /// The QEMU version the greeting announced (`[major, minor, micro]`), unless
            /// it came in the 0.12 text form or not at all.
            pub fn qemu_version(&self) -> Option<[u64; 3]> {
                self.core.qemu_version
            }

            /// Whether `oob` was enabled by the negotiation.
            pub fn oob_enabled(&self) -> bool {
                self.core.client.oob_enabled()
            }

            /// Where the session stands.
            pub fn state(&self) -> $crate::session::ClientState {
                self.core.client.state()
            }

            /// The session client, for its state and pending count.
            pub fn client(&self) -> &$crate::session::Client<N> {
                &self.core.client
            }

            /// The transport.
            pub fn transport(&self) -> &T {
                &self.transport
            }

            /// The transport, e.g. to change its timeouts.
            pub fn transport_mut(&mut self) -> &mut T {
                &mut self.transport
            }
        }
    };
}

pub(super) use accessors;

/// Whether the reply to `ticket` is the one `wait` waits for; a submitted one is
/// collected by `next_reply` only, and taken off `submitted` then.
fn settle<const N: usize>(submitted: &mut Vec<Ticket, N>, wait: Wait, ticket: Ticket) -> bool {
    match wait {
        Wait::Reply(waited) => waited == ticket,
        Wait::Submitted => match submitted.iter().position(|&t| t == ticket) {
            Some(at) => {
                submitted.remove(at);
                true
            }
            None => false,
        },
        _ => false,
    }
}

/// A command as the connections send it: written once through the client (which
/// numbers it and makes it pending), and written again with the same id when the async
/// connection sends it in windows.
pub(super) trait Outgoing {
    /// Write the command through `client`: its ticket.
    fn issue<S: Sink + ?Sized, const N: usize>(
        &self,
        client: &mut Client<N>,
        sink: &mut S,
    ) -> Result<Ticket, ClientError<S::Error>>;

    /// Write the same bytes again for `ticket`.
    #[cfg_attr(not(feature = "async"), allow(dead_code))]
    fn rewrite<S: Sink + ?Sized>(
        &self,
        sink: &mut S,
        ticket: Ticket,
    ) -> Result<(), EncodeError<S::Error>>;
}

/// A typed command, in band or out of band.
pub(super) struct Typed<'c, C> {
    pub(super) command: &'c C,
    pub(super) oob: bool,
}

impl<C: Command> Outgoing for Typed<'_, C> {
    fn issue<S: Sink + ?Sized, const N: usize>(
        &self,
        client: &mut Client<N>,
        sink: &mut S,
    ) -> Result<Ticket, ClientError<S::Error>> {
        if self.oob {
            client.execute_oob(self.command, sink)
        } else {
            client.execute(self.command, sink)
        }
    }

    fn rewrite<S: Sink + ?Sized>(
        &self,
        sink: &mut S,
        ticket: Ticket,
    ) -> Result<(), EncodeError<S::Error>> {
        let id = Some(Id::U64(ticket.id()));
        if self.oob {
            self.command.encode_oob(sink, id)
        } else {
            self.command.encode(sink, id)
        }
    }
}

/// A command by name with any payload as arguments.
pub(super) struct Raw<'n, P> {
    pub(super) name: Text<'n>,
    pub(super) arguments: P,
    pub(super) oob: bool,
}

impl<P: Payload> Outgoing for Raw<'_, P> {
    fn issue<S: Sink + ?Sized, const N: usize>(
        &self,
        client: &mut Client<N>,
        sink: &mut S,
    ) -> Result<Ticket, ClientError<S::Error>> {
        if self.oob {
            client.execute_raw_oob(self.name, &self.arguments, sink)
        } else {
            client.execute_raw(self.name, &self.arguments, sink)
        }
    }

    fn rewrite<S: Sink + ?Sized>(
        &self,
        sink: &mut S,
        ticket: Ticket,
    ) -> Result<(), EncodeError<S::Error>> {
        let id = Some(Id::U64(ticket.id()));
        if self.oob {
            encode::command_oob(sink, self.name, &self.arguments, id)
        } else {
            encode::command(sink, self.name, &self.arguments, id)
        }
    }
}

/// A command typed in the human syntax.
pub(super) struct Shell<'c, 'l> {
    pub(super) command: &'c ShellCommand<'l>,
    pub(super) oob: bool,
}

impl Outgoing for Shell<'_, '_> {
    fn issue<S: Sink + ?Sized, const N: usize>(
        &self,
        client: &mut Client<N>,
        sink: &mut S,
    ) -> Result<Ticket, ClientError<S::Error>> {
        if self.oob {
            client.execute_shell_oob(self.command, sink)
        } else {
            client.execute_shell(self.command, sink)
        }
    }

    fn rewrite<S: Sink + ?Sized>(
        &self,
        sink: &mut S,
        ticket: Ticket,
    ) -> Result<(), EncodeError<S::Error>> {
        let id = Some(Id::U64(ticket.id()));
        if self.oob {
            self.command.encode_oob(sink, id)
        } else {
            self.command.encode(sink, id)
        }
    }
}
