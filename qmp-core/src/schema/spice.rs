//! SPICE session tracking without an allocator.
//!
//! A SPICE client opens one TCP connection per channel: first the main channel, then
//! display, inputs, cursor, playback and so on. QEMU reports each connection with up to
//! three events, matched only by the client's address:
//!
//! 1. `SPICE_CONNECTED` — client and server `host`/`port`/`family`, **no connection
//!    id** (the link handshake has not happened yet);
//! 2. `SPICE_INITIALIZED` — the same client address plus `connection-id` (shared by all
//!    channels of one client session), `channel-type` (1 = main), `channel-id`, `tls`;
//! 3. `SPICE_DISCONNECTED` — the client address again.
//!
//! A connection can close without ever being initialized (the real capture in
//! `testdata/captures/spice_events.rx.bin` starts with exactly that: a probe that
//! connects and leaves).
//!
//! [`SpiceSessions`] keeps a fixed table of `N` channel connections, keyed by client
//! address (family, host, port), each either *pending* (connected) or *initialized*
//! (with its connection id and channel type). A **session** is a connection id whose
//! main channel is initialized; its other channels attach to it; the main channel's
//! `SPICE_DISCONNECTED` closes it. Addresses are copied into fixed-size strings, so the
//! tracker does not borrow the frames the events came from.
//!
//! Capacity counts connections, not sessions: a typical client opens 4–8 channels, so
//! size `N` as about 8 × the sessions expected. When the table is full, the event is
//! not recorded and [`SpiceError::Full`] says so; a later `SPICE_DISCONNECTED` for that
//! address is then [`SpiceOutcome::Untracked`]. Nothing is dropped silently.
//!
//! Limits: matching needs distinct client addresses. SPICE over a unix socket reports
//! no usable client address, so its channels cannot be told apart (the first matching
//! entry is used). The downstream 0.12 variant that sent `SPICE_INITIALIZED` without
//! `port` is matched to the oldest pending connection from the same host.
//!
//! ```
//! use qmp_core::json::RawJson;
//! use qmp_core::schema::spice::{SpiceOutcome, SpiceSessions};
//! use qmp_core::schema::Event;
//!
//! let mut sessions = SpiceSessions::<8>::new();
//! let server = r#""server": {"port": "5931", "family": "ipv4", "host": "127.0.0.1"}"#;
//! let client = r#""client": {"port": "59206", "family": "ipv4", "host": "127.0.0.1""#;
//! let connected = format!("{{{server}, {client}}}}}");
//! let initialized = format!(
//!     "{{{server}, {client}, \"channel-type\": 1, \"connection-id\": 1933299969, \"channel-id\": 0, \"tls\": false}}}}"
//! );
//! for (name, data, want_session) in [
//!     ("SPICE_CONNECTED", &connected, false),
//!     ("SPICE_INITIALIZED", &initialized, true),
//!     ("SPICE_DISCONNECTED", &connected, false),
//! ] {
//!     let event = Event::decode(name, Some(RawJson::parse(data.as_bytes())?))?;
//!     let outcome = sessions.handle(&event)?;
//!     assert_eq!(sessions.session(1933299969).is_some(), want_session);
//!     if name == "SPICE_DISCONNECTED" {
//!         assert!(matches!(outcome, Some(SpiceOutcome::Closed { connection_id: 1933299969, .. })));
//!     }
//! }
//! assert!(sessions.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;

use heapless::{String, Vec};

use super::events::{
    Event, NetworkAddressFamily, SpiceBasicInfo, SpiceChannel, SpiceConnected, SpiceDisconnected,
    SpiceInitialized,
};
use crate::json::JsonStr;

pub use super::events::is_main_channel;

/// The longest client host kept, in bytes (a numeric IPv6 address with a zone id fits).
pub const HOST_MAX: usize = 64;
/// The longest client port kept, in bytes.
pub const PORT_MAX: usize = 8;

/// The family of a client address, owned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AddressFamily {
    /// `ipv4`
    Ipv4,
    /// `ipv6`
    Ipv6,
    /// `unix`
    Unix,
    /// `vsock`
    Vsock,
    /// `unknown`, or a value this crate does not know.
    Unknown,
}

impl From<NetworkAddressFamily<'_>> for AddressFamily {
    fn from(family: NetworkAddressFamily<'_>) -> Self {
        match family {
            NetworkAddressFamily::Ipv4 => Self::Ipv4,
            NetworkAddressFamily::Ipv6 => Self::Ipv6,
            NetworkAddressFamily::Unix => Self::Unix,
            NetworkAddressFamily::Vsock => Self::Vsock,
            _ => Self::Unknown,
        }
    }
}

/// A SPICE client's address, copied out of an event.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SpiceClient {
    /// Address family.
    pub family: AddressFamily,
    /// Numeric host, unescaped.
    pub host: String<HOST_MAX>,
    /// Port, unescaped (absent in a downstream 0.12 variant).
    pub port: Option<String<PORT_MAX>>,
}

/// Decode `s` into a fixed-size string.
fn copy<const M: usize>(s: JsonStr<'_>) -> Result<String<M>, SpiceError> {
    let mut out = String::new();
    for c in s.chars() {
        out.push(c).map_err(|_| SpiceError::AddressTooLong)?;
    }
    Ok(out)
}

impl SpiceClient {
    fn new(
        family: NetworkAddressFamily<'_>,
        host: JsonStr<'_>,
        port: Option<JsonStr<'_>>,
    ) -> Result<Self, SpiceError> {
        Ok(Self {
            family: family.into(),
            host: copy(host)?,
            port: port.map(copy).transpose()?,
        })
    }

    /// The client end of a `SPICE_CONNECTED` or `SPICE_DISCONNECTED` event.
    pub fn from_basic(info: &SpiceBasicInfo<'_>) -> Result<Self, SpiceError> {
        Self::new(info.family, info.host, info.port)
    }

    /// The client end of a `SPICE_INITIALIZED` event.
    pub fn from_channel(channel: &SpiceChannel<'_>) -> Result<Self, SpiceError> {
        Self::new(channel.family, channel.host, channel.port)
    }

    /// Same family and host, and the same port or no port on either side.
    fn loosely_matches(&self, other: &Self) -> bool {
        self.family == other.family
            && self.host == other.host
            && (self.port.is_none() || other.port.is_none() || self.port == other.port)
    }
}

impl fmt::Display for SpiceClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let port = self.port.as_deref().unwrap_or("?");
        if self.host.contains(':') {
            write!(f, "[{}]:{port}", self.host)
        } else {
            write!(f, "{}:{port}", self.host)
        }
    }
}

/// An initialized channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChannelInfo {
    /// The session (client) it belongs to.
    pub connection_id: i64,
    /// Its type (1 = main).
    pub channel_type: i64,
    /// Its index among channels of the same type.
    pub channel_id: i64,
    /// Whether it is encrypted.
    pub tls: bool,
}

impl ChannelInfo {
    /// Whether this is a main channel.
    pub const fn is_main(&self) -> bool {
        self.channel_type == super::events::SPICE_CHANNEL_MAIN
    }
}

/// What a SPICE event meant for the tracked sessions.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpiceOutcome {
    /// `SPICE_CONNECTED`: a channel connection opened; which session it belongs to is
    /// known only once it is initialized.
    Opened {
        /// The client address.
        client: SpiceClient,
    },
    /// `SPICE_INITIALIZED` of a main channel: a session began.
    Initialized {
        /// The session's connection id.
        connection_id: i64,
        /// The main channel's client address.
        client: SpiceClient,
        /// Whether the main channel is encrypted.
        tls: bool,
    },
    /// `SPICE_INITIALIZED` of another channel.
    ChannelAttached {
        /// The channel.
        channel: ChannelInfo,
        /// Whether its session's main channel is tracked.
        session_open: bool,
    },
    /// `SPICE_DISCONNECTED` of a main channel: the session ended. Its other channels
    /// stay tracked until their own `SPICE_DISCONNECTED`.
    Closed {
        /// The session's connection id.
        connection_id: i64,
        /// The main channel's client address.
        client: SpiceClient,
        /// How many of its other channels are still tracked.
        channels_left: usize,
    },
    /// `SPICE_DISCONNECTED` of a non-main channel.
    ChannelDetached {
        /// The channel.
        channel: ChannelInfo,
    },
    /// `SPICE_DISCONNECTED` of a connection that was never initialized (a failed or
    /// abandoned handshake, or a probe).
    Abandoned {
        /// The client address.
        client: SpiceClient,
    },
    /// `SPICE_DISCONNECTED` of an address not in the table: connected before tracking
    /// began, or not recorded after a [`SpiceError::Full`].
    Untracked {
        /// The client address.
        client: SpiceClient,
    },
}

/// The tracker could not record an event. The caller's table is too small or the peer
/// sent an oversized address; the tracker itself stays consistent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SpiceError {
    /// The table already holds `capacity` connections; the event was not recorded.
    Full {
        /// The table's capacity, `N`.
        capacity: usize,
    },
    /// A client host or port is longer than [`HOST_MAX`] / [`PORT_MAX`] bytes; the event
    /// was not recorded.
    AddressTooLong,
}

impl fmt::Display for SpiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full { capacity } => {
                write!(f, "SPICE session table full ({capacity} connections)")
            }
            Self::AddressTooLong => f.write_str("SPICE client address too long"),
        }
    }
}

impl core::error::Error for SpiceError {}

/// One tracked connection.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Slot {
    client: SpiceClient,
    /// `None` while pending.
    channel: Option<ChannelInfo>,
}

/// A session: an initialized main channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpiceSession<'t> {
    /// The session's connection id.
    pub connection_id: i64,
    /// The main channel's client address.
    pub client: &'t SpiceClient,
    /// Whether the main channel is encrypted.
    pub tls: bool,
    /// How many other initialized channels of the session are tracked.
    pub channels: usize,
}

/// A bounded SPICE session tracker for up to `N` channel connections. See the
/// [module docs](self).
#[derive(Clone, Debug)]
pub struct SpiceSessions<const N: usize> {
    slots: Vec<Slot, N>,
}

impl<const N: usize> Default for SpiceSessions<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> SpiceSessions<N> {
    /// An empty tracker.
    pub const fn new() -> Self {
        Self { slots: Vec::new() }
    }

    /// The maximum number of tracked connections, `N`.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// The number of tracked connections (pending or initialized).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Forget everything (e.g. after reconnecting to QEMU).
    pub fn clear(&mut self) {
        self.slots.clear();
    }

    /// Feed any event: SPICE connection events update the table, others give
    /// `Ok(None)`.
    pub fn handle(&mut self, event: &Event<'_>) -> Result<Option<SpiceOutcome>, SpiceError> {
        match event {
            Event::SpiceConnected(e) => self.connected(e).map(Some),
            Event::SpiceInitialized(e) => self.initialized(e).map(Some),
            Event::SpiceDisconnected(e) => self.disconnected(e).map(Some),
            _ => Ok(None),
        }
    }

    /// `SPICE_CONNECTED`: record a pending connection. A stale entry for the same
    /// address is replaced.
    pub fn connected(&mut self, event: &SpiceConnected<'_>) -> Result<SpiceOutcome, SpiceError> {
        let client = SpiceClient::from_basic(&event.client)?;
        let slot = Slot {
            client: client.clone(),
            channel: None,
        };
        match self.slots.iter().position(|s| s.client == client) {
            Some(i) => {
                if let Some(s) = self.slots.get_mut(i) {
                    *s = slot;
                }
            }
            None => self.insert(slot)?,
        }
        Ok(SpiceOutcome::Opened { client })
    }

    /// `SPICE_INITIALIZED`: attach the channel to its session (a main channel opens
    /// one). The pending entry from `SPICE_CONNECTED` is reused; without one a new
    /// entry is made.
    pub fn initialized(
        &mut self,
        event: &SpiceInitialized<'_>,
    ) -> Result<SpiceOutcome, SpiceError> {
        let c = &event.client;
        let client = SpiceClient::from_channel(c)?;
        let channel = ChannelInfo {
            connection_id: c.connection_id,
            channel_type: c.channel_type,
            channel_id: c.channel_id,
            tls: c.tls,
        };
        let found = self
            .slots
            .iter()
            .position(|s| s.client == client)
            .or_else(|| {
                self.slots
                    .iter()
                    .position(|s| s.channel.is_none() && s.client.loosely_matches(&client))
            });
        let slot = Slot {
            client: found
                .and_then(|i| self.slots.get(i))
                .map_or_else(|| client.clone(), |s| s.client.clone()),
            channel: Some(channel),
        };
        let client = slot.client.clone();
        match found.and_then(|i| self.slots.get_mut(i)) {
            Some(s) => *s = slot,
            None => self.insert(slot)?,
        }
        if channel.is_main() {
            // A newer main channel for the same session supersedes an older one.
            let fresh = &client;
            self.slots.retain(|s| {
                !(s.channel
                    .is_some_and(|ch| ch.is_main() && ch.connection_id == channel.connection_id)
                    && s.client != *fresh)
            });
            Ok(SpiceOutcome::Initialized {
                connection_id: channel.connection_id,
                client,
                tls: channel.tls,
            })
        } else {
            Ok(SpiceOutcome::ChannelAttached {
                channel,
                session_open: self.session(channel.connection_id).is_some(),
            })
        }
    }

    /// `SPICE_DISCONNECTED`: drop the connection; closing a main channel ends its
    /// session.
    pub fn disconnected(
        &mut self,
        event: &SpiceDisconnected<'_>,
    ) -> Result<SpiceOutcome, SpiceError> {
        let client = SpiceClient::from_basic(&event.client)?;
        let found = self
            .slots
            .iter()
            .position(|s| s.client == client)
            .or_else(|| {
                self.slots
                    .iter()
                    .position(|s| s.client.loosely_matches(&client))
            });
        let Some(slot) = found.map(|i| self.slots.swap_remove(i)) else {
            return Ok(SpiceOutcome::Untracked { client });
        };
        Ok(match slot.channel {
            None => SpiceOutcome::Abandoned {
                client: slot.client,
            },
            Some(channel) if channel.is_main() => SpiceOutcome::Closed {
                connection_id: channel.connection_id,
                client: slot.client,
                channels_left: self.attached(channel.connection_id),
            },
            Some(channel) => SpiceOutcome::ChannelDetached { channel },
        })
    }

    fn insert(&mut self, slot: Slot) -> Result<(), SpiceError> {
        self.slots
            .push(slot)
            .map_err(|_| SpiceError::Full { capacity: N })
    }

    /// Initialized non-main channels of `connection_id`.
    fn attached(&self, connection_id: i64) -> usize {
        self.slots
            .iter()
            .filter(|s| {
                s.channel
                    .is_some_and(|ch| !ch.is_main() && ch.connection_id == connection_id)
            })
            .count()
    }

    /// The open sessions (initialized main channels).
    pub fn sessions(&self) -> impl Iterator<Item = SpiceSession<'_>> + '_ {
        self.slots.iter().filter_map(|s| {
            let ch = s.channel.filter(ChannelInfo::is_main)?;
            Some(SpiceSession {
                connection_id: ch.connection_id,
                client: &s.client,
                tls: ch.tls,
                channels: self.attached(ch.connection_id),
            })
        })
    }

    /// The session with this connection id, if its main channel is open.
    pub fn session(&self, connection_id: i64) -> Option<SpiceSession<'_>> {
        self.sessions().find(|s| s.connection_id == connection_id)
    }

    /// The tracked connections: client address and, once initialized, the channel.
    pub fn connections(&self) -> impl Iterator<Item = (&SpiceClient, Option<ChannelInfo>)> + '_ {
        self.slots.iter().map(|s| (&s.client, s.channel))
    }
}
