//! Typed event payloads and the [`Event`] enum.
//!
//! [`Event::decode`] takes an event's name and its optional `data` member and returns a
//! typed variant for the events below, or [`Event::Unknown`] (name and raw data) for any
//! other name. Payloads borrow from the frame; strings are [`JsonStr`].
//!
//! | event | variant | notes |
//! |---|---|---|
//! | `SPICE_CONNECTED` / `_INITIALIZED` / `_DISCONNECTED` | [`SpiceConnected`], [`SpiceInitialized`], [`SpiceDisconnected`] | ports are strings; `port` optional (a downstream 0.12 variant left it out) |
//! | `SPICE_MIGRATE_COMPLETED` | unit | |
//! | `VNC_CONNECTED` / `_INITIALIZED` / `_DISCONNECTED` | [`VncConnected`], [`VncInitialized`], [`VncDisconnected`] | `service` is a string; `websocket` optional (2.3) |
//! | `SHUTDOWN`, `RESET` | [`Shutdown`], [`Reset`] | no data before 2.10: both members optional |
//! | `POWERDOWN`, `STOP`, `RESUME`, `SUSPEND`, `WAKEUP` | unit | any data is ignored |
//! | `GUEST_PANICKED` | [`GuestPanicked`] | |
//! | `DEVICE_DELETED` | [`DeviceDeleted`] | `device` and `path` optional (early docs had only `device`) |
//! | `BLOCK_JOB_COMPLETED` / `_READY` / `_CANCELLED` / `_ERROR` | [`BlockJobCompleted`], [`BlockJobReady`], [`BlockJobCancelled`], [`BlockJobError`] | READY's members other than `device` optional (old docs) |
//! | `JOB_STATUS_CHANGE` | [`JobStatusChange`] | |
//! | `MIGRATION` | [`Migration`] | |
//! | `BALLOON_CHANGE` | [`BalloonChange`] | |
//! | `RTC_CHANGE` | [`RtcChange`] | `qom-path` optional (2022) |
//! | `WATCHDOG` | [`Watchdog`] | |
//!
//! An absent `data` member decodes as `{}`: that works for payloads whose members are
//! all optional (e.g. a pre-2.10 `SHUTDOWN`) and is [`DecodeErrorKind::MissingData`]
//! otherwise.
//!
//! ```
//! use qmp_core::json::RawJson;
//! use qmp_core::schema::events::{Event, NetworkAddressFamily};
//!
//! let data = RawJson::parse(br#"{"server": {"port": "5931", "family": "ipv4", "host": "127.0.0.1"}, "client": {"port": "59196", "family": "ipv4", "host": "127.0.0.1"}}"#)?;
//! let Event::SpiceConnected(ev) = Event::decode("SPICE_CONNECTED", Some(data))? else {
//!     panic!("not SPICE_CONNECTED");
//! };
//! assert!(ev.client.port.is_some_and(|port| port == "59196"));
//! assert_eq!(ev.client.family, NetworkAddressFamily::Ipv4);
//! assert!(ev.server.host == "127.0.0.1");
//!
//! // Unknown names are kept, not rejected.
//! let ev = Event::decode("MEMORY_FAILURE", None)?;
//! assert!(matches!(ev, Event::Unknown { name: "MEMORY_FAILURE", data: None }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use super::{DecodeError, DecodeErrorKind, FromJson};
use crate::json::{JsonStr, RawJson};

open_enum! {
    /// `NetworkAddressFamily` (`qapi/sockets.json`); a free string before 2.1 with the
    /// same values.
    pub enum NetworkAddressFamily {
        /// `ipv4`
        Ipv4 = "ipv4",
        /// `ipv6`
        Ipv6 = "ipv6",
        /// `unix`
        Unix = "unix",
        /// `vsock` (2.8)
        Vsock = "vsock",
        /// `unknown`: QEMU's own value for an unrecognised family.
        Unknown = "unknown",
    }
}

open_enum! {
    /// `ShutdownCause`: why a `SHUTDOWN` or `RESET` happened (4.0).
    pub enum ShutdownCause {
        /// `none`
        None = "none",
        /// `host-error`
        HostError = "host-error",
        /// `host-qmp-quit`
        HostQmpQuit = "host-qmp-quit",
        /// `host-qmp-system-reset`
        HostQmpSystemReset = "host-qmp-system-reset",
        /// `host-signal`
        HostSignal = "host-signal",
        /// `host-ui`
        HostUi = "host-ui",
        /// `guest-shutdown`
        GuestShutdown = "guest-shutdown",
        /// `guest-reset`
        GuestReset = "guest-reset",
        /// `guest-panic`
        GuestPanic = "guest-panic",
        /// `subsystem-reset`
        SubsystemReset = "subsystem-reset",
        /// `snapshot-load` (7.2; internal, not expected on the wire)
        SnapshotLoad = "snapshot-load",
    }
}

open_enum! {
    /// `GuestPanicAction`.
    pub enum GuestPanicAction {
        /// `pause`
        Pause = "pause",
        /// `poweroff` (2.8)
        Poweroff = "poweroff",
        /// `run` (5.0)
        Run = "run",
    }
}

open_enum! {
    /// `GuestPanicInformationType`: the tag of [`GuestPanicInformation`].
    pub enum GuestPanicInformationType {
        /// `hyper-v`
        HyperV = "hyper-v",
        /// `s390`
        S390 = "s390",
    }
}

open_enum! {
    /// `S390CrashReason`.
    pub enum S390CrashReason {
        /// `unknown`
        Unknown = "unknown",
        /// `disabled-wait`
        DisabledWait = "disabled-wait",
        /// `extint-loop`
        ExtintLoop = "extint-loop",
        /// `pgmint-loop`
        PgmintLoop = "pgmint-loop",
        /// `opint-loop`
        OpintLoop = "opint-loop",
    }
}

open_enum! {
    /// `WatchdogAction`.
    pub enum WatchdogAction {
        /// `reset`
        Reset = "reset",
        /// `shutdown`
        Shutdown = "shutdown",
        /// `poweroff`
        Poweroff = "poweroff",
        /// `pause`
        Pause = "pause",
        /// `debug`
        Debug = "debug",
        /// `none`
        None = "none",
        /// `inject-nmi` (2.4)
        InjectNmi = "inject-nmi",
    }
}

open_enum! {
    /// `JobType`.
    pub enum JobType {
        /// `commit`
        Commit = "commit",
        /// `stream`
        Stream = "stream",
        /// `mirror`
        Mirror = "mirror",
        /// `backup`
        Backup = "backup",
        /// `create` (3.0)
        Create = "create",
        /// `amend` (5.1)
        Amend = "amend",
        /// `snapshot-load` (6.0)
        SnapshotLoad = "snapshot-load",
        /// `snapshot-save` (6.0)
        SnapshotSave = "snapshot-save",
        /// `snapshot-delete` (6.0)
        SnapshotDelete = "snapshot-delete",
    }
}

open_enum! {
    /// `JobStatus`.
    pub enum JobStatus {
        /// `undefined`
        Undefined = "undefined",
        /// `created`
        Created = "created",
        /// `running`
        Running = "running",
        /// `paused`
        Paused = "paused",
        /// `ready`
        Ready = "ready",
        /// `standby`
        Standby = "standby",
        /// `waiting`
        Waiting = "waiting",
        /// `pending`
        Pending = "pending",
        /// `aborting`
        Aborting = "aborting",
        /// `concluded`
        Concluded = "concluded",
        /// `null`: the job is gone.
        Null = "null",
    }
}

open_enum! {
    /// `MigrationStatus` (open: 2025 patches propose more values).
    pub enum MigrationStatus {
        /// `none`
        None = "none",
        /// `setup`
        Setup = "setup",
        /// `cancelling`
        Cancelling = "cancelling",
        /// `cancelled`
        Cancelled = "cancelled",
        /// `active`
        Active = "active",
        /// `postcopy-active`
        PostcopyActive = "postcopy-active",
        /// `postcopy-paused`
        PostcopyPaused = "postcopy-paused",
        /// `postcopy-recover-setup` (9.1)
        PostcopyRecoverSetup = "postcopy-recover-setup",
        /// `postcopy-recover`
        PostcopyRecover = "postcopy-recover",
        /// `completed`
        Completed = "completed",
        /// `failed`
        Failed = "failed",
        /// `colo`
        Colo = "colo",
        /// `pre-switchover`
        PreSwitchover = "pre-switchover",
        /// `device`
        Device = "device",
        /// `wait-unplug`
        WaitUnplug = "wait-unplug",
    }
}

open_enum! {
    /// `IoOperationType`: the operation that failed in `BLOCK_JOB_ERROR`.
    pub enum IoOperationType {
        /// `read`
        Read = "read",
        /// `write`
        Write = "write",
    }
}

open_enum! {
    /// `BlockErrorAction`: what QEMU did about a block job error.
    pub enum BlockErrorAction {
        /// `ignore`
        Ignore = "ignore",
        /// `report`
        Report = "report",
        /// `stop`
        Stop = "stop",
    }
}

/// `SpiceBasicInfo`: one end of a SPICE connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SpiceBasicInfo<'a> {
    /// Numeric address (`getnameinfo` `NI_NUMERICHOST`).
    pub host: JsonStr<'a>,
    /// Port, **as a string**. Always present upstream; optional because a downstream
    /// qemu-kvm 0.12 variant sent `SPICE_INITIALIZED` without it.
    pub port: Option<JsonStr<'a>>,
    /// Address family.
    pub family: NetworkAddressFamily<'a>,
}

from_members! { SpiceBasicInfo<'a> { port, family, host } }

/// `SpiceServerInfo`: the server end of a SPICE connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SpiceServerInfo<'a> {
    /// Numeric address.
    pub host: JsonStr<'a>,
    /// Port, as a string (optional, see [`SpiceBasicInfo::port`]).
    pub port: Option<JsonStr<'a>>,
    /// Address family.
    pub family: NetworkAddressFamily<'a>,
    /// Authentication method, e.g. `"spice"` or `"none"`.
    pub auth: Option<JsonStr<'a>>,
}

from_members! { SpiceServerInfo<'a> { auth, port, family, host } }

/// The SPICE channel type of the main control channel (spice-protocol numbering).
pub const SPICE_CHANNEL_MAIN: i64 = 1;

/// `SpiceChannel`: one SPICE channel of a client session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SpiceChannel<'a> {
    /// The client's numeric address.
    pub host: JsonStr<'a>,
    /// The client's port, as a string (optional, see [`SpiceBasicInfo::port`]).
    pub port: Option<JsonStr<'a>>,
    /// Address family.
    pub family: NetworkAddressFamily<'a>,
    /// The session: all channels of one client share it.
    pub connection_id: i64,
    /// The channel type (see [`SpiceChannelKind`]); 1 is the main channel.
    pub channel_type: i64,
    /// Index among channels of the same type.
    pub channel_id: i64,
    /// Whether the channel is encrypted.
    pub tls: bool,
}

from_members! {
    SpiceChannel<'a> {
        port,
        family,
        channel_type = "channel-type",
        connection_id = "connection-id",
        host,
        channel_id = "channel-id",
        tls,
    }
}

impl SpiceChannel<'_> {
    /// Whether this is the main control channel (`channel-type` 1), the one to follow
    /// to track sessions.
    pub const fn is_main(&self) -> bool {
        self.channel_type == SPICE_CHANNEL_MAIN
    }

    /// The channel type by name.
    pub const fn kind(&self) -> SpiceChannelKind {
        SpiceChannelKind::from_i64(self.channel_type)
    }
}

/// Whether `channel` is the main control channel (`channel-type` 1): QEMU's docs say to
/// "filter for this one if you want to track spice sessions only".
pub const fn is_main_channel(channel: &SpiceChannel<'_>) -> bool {
    channel.is_main()
}

/// SPICE channel types, numbered as in spice-protocol (QEMU documents only 1, main).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SpiceChannelKind {
    /// 1: the main control channel.
    Main,
    /// 2
    Display,
    /// 3
    Inputs,
    /// 4
    Cursor,
    /// 5
    Playback,
    /// 6
    Record,
    /// 7
    Tunnel,
    /// 8
    Smartcard,
    /// 9
    Usbredir,
    /// 10
    Port,
    /// 11
    Webdav,
    /// Any other number.
    Other(i64),
}

impl SpiceChannelKind {
    /// Name a channel-type number.
    pub const fn from_i64(channel_type: i64) -> Self {
        match channel_type {
            1 => Self::Main,
            2 => Self::Display,
            3 => Self::Inputs,
            4 => Self::Cursor,
            5 => Self::Playback,
            6 => Self::Record,
            7 => Self::Tunnel,
            8 => Self::Smartcard,
            9 => Self::Usbredir,
            10 => Self::Port,
            11 => Self::Webdav,
            other => Self::Other(other),
        }
    }
}

/// `VncBasicInfo`: one end of a VNC connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VncBasicInfo<'a> {
    /// Numeric address (empty for unix sockets).
    pub host: JsonStr<'a>,
    /// Port as a string, or a service name or socket path.
    pub service: JsonStr<'a>,
    /// Address family.
    pub family: NetworkAddressFamily<'a>,
    /// Whether this is a websocket connection (2.3; mandatory since).
    pub websocket: Option<bool>,
}

from_members! { VncBasicInfo<'a> { family, service, host, websocket } }

/// `VncServerInfo`: the server end of a VNC connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VncServerInfo<'a> {
    /// Numeric address.
    pub host: JsonStr<'a>,
    /// Port as a string, or a service name or socket path.
    pub service: JsonStr<'a>,
    /// Address family.
    pub family: NetworkAddressFamily<'a>,
    /// Whether this is a websocket listener (2.3).
    pub websocket: Option<bool>,
    /// Authentication scheme, e.g. `"none"`, `"vnc"`, `"sasl"`.
    pub auth: Option<JsonStr<'a>>,
}

from_members! { VncServerInfo<'a> { auth, family, service, host, websocket } }

/// `VncClientInfo`: a VNC client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VncClientInfo<'a> {
    /// Numeric address (empty for unix sockets).
    pub host: JsonStr<'a>,
    /// Port as a string (empty for unix sockets).
    pub service: JsonStr<'a>,
    /// Address family.
    pub family: NetworkAddressFamily<'a>,
    /// Whether this is a websocket connection (2.3).
    pub websocket: Option<bool>,
    /// The x509 distinguished name, with x509 authentication.
    pub x509_dname: Option<JsonStr<'a>>,
    /// The SASL user name, with SASL authentication.
    pub sasl_username: Option<JsonStr<'a>>,
}

from_members! {
    VncClientInfo<'a> {
        family,
        service,
        host,
        websocket,
        x509_dname,
        sasl_username,
    }
}

/// A typed event payload: its event name.
pub trait EventData<'a>: FromJson<'a> {
    /// The event name on the wire.
    const NAME: &'static str;

    /// Decode the payload of `event` if it is this event (`None` for any other name).
    ///
    /// [`Event::from_message`] links the decoders of the whole catalogue, since the
    /// name is known only at run time. Firmware that cares about a few events can test
    /// for each with this instead, and link only their decoders:
    ///
    /// ```
    /// use qmp_core::json::RawJson;
    /// use qmp_core::message::Message;
    /// use qmp_core::schema::events::{EventData, Shutdown, ShutdownCause};
    ///
    /// let msg = RawJson::parse(br#"{"event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}, "timestamp": {"seconds": 1795639852, "microseconds": 349927}}"#)?;
    /// let Ok(Message::Event(event)) = Message::parse(msg) else { panic!() };
    /// if let Some(shutdown) = Shutdown::from_message(&event) {
    ///     assert_eq!(shutdown?.reason, Some(ShutdownCause::HostQmpQuit));
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn from_message(event: &crate::message::EventMessage<'a>) -> Option<Result<Self, DecodeError>> {
        (event.name == Self::NAME).then(|| payload(event.data))
    }
}

/// Declare payload structs with their event names.
macro_rules! event_data {
    ($($ty:ident = $name:literal),+ $(,)?) => {
        $(
            impl<'a> EventData<'a> for $ty<'a> {
                const NAME: &'static str = $name;
            }
        )+
    };
}

/// `SPICE_CONNECTED` (0.14): a client opened a channel connection; not yet
/// authenticated, and with no connection id yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SpiceConnected<'a> {
    /// The server end.
    pub server: SpiceBasicInfo<'a>,
    /// The client end.
    pub client: SpiceBasicInfo<'a>,
}

from_members! { SpiceConnected<'a> { server, client } }

/// `SPICE_INITIALIZED` (0.14): a channel finished its handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SpiceInitialized<'a> {
    /// The server end, with its authentication method.
    pub server: SpiceServerInfo<'a>,
    /// The channel, with its session (`connection-id`) and type.
    pub client: SpiceChannel<'a>,
}

from_members! { SpiceInitialized<'a> { server, client } }

/// `SPICE_DISCONNECTED` (0.14): a channel connection closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SpiceDisconnected<'a> {
    /// The server end.
    pub server: SpiceBasicInfo<'a>,
    /// The client end.
    pub client: SpiceBasicInfo<'a>,
}

from_members! { SpiceDisconnected<'a> { server, client } }

/// `VNC_CONNECTED` (0.13): a client connected, before authentication.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VncConnected<'a> {
    /// The server.
    pub server: VncServerInfo<'a>,
    /// The client.
    pub client: VncBasicInfo<'a>,
}

from_members! { VncConnected<'a> { server, client } }

/// `VNC_INITIALIZED` (0.13): a client finished authentication.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VncInitialized<'a> {
    /// The server.
    pub server: VncServerInfo<'a>,
    /// The client.
    pub client: VncClientInfo<'a>,
}

from_members! { VncInitialized<'a> { server, client } }

/// `VNC_DISCONNECTED` (0.13): a client disconnected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VncDisconnected<'a> {
    /// The server.
    pub server: VncServerInfo<'a>,
    /// The client.
    pub client: VncClientInfo<'a>,
}

from_members! { VncDisconnected<'a> { server, client } }

/// `SHUTDOWN`: the guest stopped running for good (or is about to). No data before 2.10.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shutdown<'a> {
    /// Whether the guest asked for it (2.10).
    pub guest: Option<bool>,
    /// Why (4.0).
    pub reason: Option<ShutdownCause<'a>>,
}

from_members! { Shutdown<'a> { guest, reason } }

/// `RESET`: the guest was reset. No data before 2.10.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Reset<'a> {
    /// Whether the guest asked for it (2.10).
    pub guest: Option<bool>,
    /// Why (4.0).
    pub reason: Option<ShutdownCause<'a>>,
}

from_members! { Reset<'a> { guest, reason } }

/// `GuestPanicInformation`: a QAPI union on `type`, decoded flat: the members of every
/// known branch are optional and only those of the branch named by `kind` are present.
/// Members of unknown branches are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GuestPanicInformation<'a> {
    /// The branch: `hyper-v`, `s390`, or another.
    pub kind: GuestPanicInformationType<'a>,
    /// hyper-v: crash parameter 1.
    pub arg1: Option<u64>,
    /// hyper-v: crash parameter 2.
    pub arg2: Option<u64>,
    /// hyper-v: crash parameter 3.
    pub arg3: Option<u64>,
    /// hyper-v: crash parameter 4.
    pub arg4: Option<u64>,
    /// hyper-v: crash parameter 5.
    pub arg5: Option<u64>,
    /// s390: the core id of the CPU that crashed.
    pub core: Option<u32>,
    /// s390: the PSW mask.
    pub psw_mask: Option<u64>,
    /// s390: the PSW address.
    pub psw_addr: Option<u64>,
    /// s390: why the crash happened.
    pub reason: Option<S390CrashReason<'a>>,
}

from_members! {
    GuestPanicInformation<'a> {
        kind = "type",
        arg1,
        arg2,
        arg3,
        arg4,
        arg5,
        core,
        psw_mask = "psw-mask",
        psw_addr = "psw-addr",
        reason,
    }
}

/// `GUEST_PANICKED` (1.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GuestPanicked<'a> {
    /// What QEMU does about it.
    pub action: GuestPanicAction<'a>,
    /// Hypervisor-specific details (2.9).
    pub info: Option<GuestPanicInformation<'a>>,
}

from_members! { GuestPanicked<'a> { action, info } }

/// `DEVICE_DELETED` (1.5): a device is gone (the completion of `device_del`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeviceDeleted<'a> {
    /// The device id; absent for devices without one.
    pub device: Option<JsonStr<'a>>,
    /// The QOM path; always present in the current schema, absent in early docs.
    pub path: Option<JsonStr<'a>>,
}

from_members! { DeviceDeleted<'a> { device, path } }

/// `BLOCK_JOB_COMPLETED` (1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockJobCompleted<'a> {
    /// Job type.
    pub kind: JobType<'a>,
    /// The job id (the device name before 2.7).
    pub device: JsonStr<'a>,
    /// Estimated total work, in bytes.
    pub len: i64,
    /// Work done, in bytes.
    pub offset: i64,
    /// Rate limit in bytes per second (0 = none).
    pub speed: i64,
    /// Error message, if the job failed.
    pub error: Option<JsonStr<'a>>,
}

from_members! { BlockJobCompleted<'a> { device, len, offset, speed, kind = "type", error } }

/// `BLOCK_JOB_READY` (1.3). The old `qmp-events.txt` listed only `device`, so the other
/// members are optional.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockJobReady<'a> {
    /// Job type.
    pub kind: Option<JobType<'a>>,
    /// The job id.
    pub device: JsonStr<'a>,
    /// Estimated total work, in bytes.
    pub len: Option<i64>,
    /// Work done, in bytes.
    pub offset: Option<i64>,
    /// Rate limit in bytes per second.
    pub speed: Option<i64>,
}

from_members! { BlockJobReady<'a> { device, len, offset, speed, kind = "type" } }

/// `BLOCK_JOB_CANCELLED` (1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockJobCancelled<'a> {
    /// Job type.
    pub kind: JobType<'a>,
    /// The job id.
    pub device: JsonStr<'a>,
    /// Estimated total work, in bytes.
    pub len: i64,
    /// Work done, in bytes.
    pub offset: i64,
    /// Rate limit in bytes per second.
    pub speed: i64,
}

from_members! { BlockJobCancelled<'a> { device, len, offset, speed, kind = "type" } }

/// `BLOCK_JOB_ERROR` (1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockJobError<'a> {
    /// The job id.
    pub device: JsonStr<'a>,
    /// The operation that failed.
    pub operation: IoOperationType<'a>,
    /// What QEMU did about it.
    pub action: BlockErrorAction<'a>,
}

from_members! { BlockJobError<'a> { device, operation, action } }

/// `JOB_STATUS_CHANGE` (3.0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct JobStatusChange<'a> {
    /// The job id.
    pub id: JsonStr<'a>,
    /// The new status.
    pub status: JobStatus<'a>,
}

from_members! { JobStatusChange<'a> { status, id } }

/// `MIGRATION` (2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Migration<'a> {
    /// The new migration status.
    pub status: MigrationStatus<'a>,
}

from_members! { Migration<'a> { status } }

/// `BALLOON_CHANGE` (1.2; rate-limited).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BalloonChange {
    /// The guest's memory size now, in bytes.
    pub actual: i64,
}

from_members! { BalloonChange { actual } }

/// `RTC_CHANGE` (0.13; rate-limited).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RtcChange<'a> {
    /// The RTC's offset from the base clock, in seconds.
    pub offset: i64,
    /// The RTC device's QOM path (added in 2022).
    pub qom_path: Option<JsonStr<'a>>,
}

from_members! { RtcChange<'a> { offset, qom_path = "qom-path" } }

/// `WATCHDOG` (0.13; rate-limited).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Watchdog<'a> {
    /// What QEMU does about the expired watchdog.
    pub action: WatchdogAction<'a>,
}

from_members! { Watchdog<'a> { action } }

impl EventData<'_> for BalloonChange {
    const NAME: &'static str = "BALLOON_CHANGE";
}

event_data! {
    SpiceConnected = "SPICE_CONNECTED",
    SpiceInitialized = "SPICE_INITIALIZED",
    SpiceDisconnected = "SPICE_DISCONNECTED",
    VncConnected = "VNC_CONNECTED",
    VncInitialized = "VNC_INITIALIZED",
    VncDisconnected = "VNC_DISCONNECTED",
    Shutdown = "SHUTDOWN",
    Reset = "RESET",
    GuestPanicked = "GUEST_PANICKED",
    DeviceDeleted = "DEVICE_DELETED",
    BlockJobCompleted = "BLOCK_JOB_COMPLETED",
    BlockJobReady = "BLOCK_JOB_READY",
    BlockJobCancelled = "BLOCK_JOB_CANCELLED",
    BlockJobError = "BLOCK_JOB_ERROR",
    JobStatusChange = "JOB_STATUS_CHANGE",
    Migration = "MIGRATION",
    RtcChange = "RTC_CHANGE",
    Watchdog = "WATCHDOG",
}

/// A QMP event, typed by name. See the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Event<'a> {
    /// `SPICE_CONNECTED`
    SpiceConnected(SpiceConnected<'a>),
    /// `SPICE_INITIALIZED`
    SpiceInitialized(SpiceInitialized<'a>),
    /// `SPICE_DISCONNECTED`
    SpiceDisconnected(SpiceDisconnected<'a>),
    /// `SPICE_MIGRATE_COMPLETED` (1.3): SPICE migration finished.
    SpiceMigrateCompleted,
    /// `VNC_CONNECTED`
    VncConnected(VncConnected<'a>),
    /// `VNC_INITIALIZED`
    VncInitialized(VncInitialized<'a>),
    /// `VNC_DISCONNECTED`
    VncDisconnected(VncDisconnected<'a>),
    /// `SHUTDOWN`
    Shutdown(Shutdown<'a>),
    /// `POWERDOWN`: the guest was asked to power down (ACPI).
    Powerdown,
    /// `RESET`
    Reset(Reset<'a>),
    /// `STOP`: the VM stopped running.
    Stop,
    /// `RESUME`: the VM runs again.
    Resume,
    /// `SUSPEND` (1.1): the guest entered S3.
    Suspend,
    /// `WAKEUP` (1.1): the guest left S3.
    Wakeup,
    /// `GUEST_PANICKED`
    GuestPanicked(GuestPanicked<'a>),
    /// `DEVICE_DELETED`
    DeviceDeleted(DeviceDeleted<'a>),
    /// `BLOCK_JOB_COMPLETED`
    BlockJobCompleted(BlockJobCompleted<'a>),
    /// `BLOCK_JOB_READY`
    BlockJobReady(BlockJobReady<'a>),
    /// `BLOCK_JOB_CANCELLED`
    BlockJobCancelled(BlockJobCancelled<'a>),
    /// `BLOCK_JOB_ERROR`
    BlockJobError(BlockJobError<'a>),
    /// `JOB_STATUS_CHANGE`
    JobStatusChange(JobStatusChange<'a>),
    /// `MIGRATION`
    Migration(Migration<'a>),
    /// `BALLOON_CHANGE`
    BalloonChange(BalloonChange),
    /// `RTC_CHANGE`
    RtcChange(RtcChange<'a>),
    /// `WATCHDOG`
    Watchdog(Watchdog<'a>),
    /// Any other event, undecoded.
    Unknown {
        /// The event name as given (for [`Event::decode_escaped`], the raw escaped
        /// text).
        name: &'a str,
        /// The `data` member, if any.
        data: Option<RawJson<'a>>,
    },
}

/// What an absent `data` member decodes as.
const NO_DATA: RawJson<'static> = RawJson::trusted(b"{}");

/// Decodes the payload of one catalogued event from its `data` (`{}` when absent).
type Decoder = for<'a> fn(RawJson<'a>) -> Result<Event<'a>, DecodeError>;

/// The catalogue: every event name with a typed variant, and its decoder. A table
/// rather than a `match` on the name keeps the code small.
const CATALOGUE: [(&str, Decoder); 25] = [
    ("SPICE_CONNECTED", |d| {
        FromJson::from_json(d).map(Event::SpiceConnected)
    }),
    ("SPICE_INITIALIZED", |d| {
        FromJson::from_json(d).map(Event::SpiceInitialized)
    }),
    ("SPICE_DISCONNECTED", |d| {
        FromJson::from_json(d).map(Event::SpiceDisconnected)
    }),
    ("SPICE_MIGRATE_COMPLETED", |_| {
        Ok(Event::SpiceMigrateCompleted)
    }),
    ("VNC_CONNECTED", |d| {
        FromJson::from_json(d).map(Event::VncConnected)
    }),
    ("VNC_INITIALIZED", |d| {
        FromJson::from_json(d).map(Event::VncInitialized)
    }),
    ("VNC_DISCONNECTED", |d| {
        FromJson::from_json(d).map(Event::VncDisconnected)
    }),
    ("SHUTDOWN", |d| FromJson::from_json(d).map(Event::Shutdown)),
    ("POWERDOWN", |_| Ok(Event::Powerdown)),
    ("RESET", |d| FromJson::from_json(d).map(Event::Reset)),
    ("STOP", |_| Ok(Event::Stop)),
    ("RESUME", |_| Ok(Event::Resume)),
    ("SUSPEND", |_| Ok(Event::Suspend)),
    ("WAKEUP", |_| Ok(Event::Wakeup)),
    ("GUEST_PANICKED", |d| {
        FromJson::from_json(d).map(Event::GuestPanicked)
    }),
    ("DEVICE_DELETED", |d| {
        FromJson::from_json(d).map(Event::DeviceDeleted)
    }),
    ("BLOCK_JOB_COMPLETED", |d| {
        FromJson::from_json(d).map(Event::BlockJobCompleted)
    }),
    ("BLOCK_JOB_READY", |d| {
        FromJson::from_json(d).map(Event::BlockJobReady)
    }),
    ("BLOCK_JOB_CANCELLED", |d| {
        FromJson::from_json(d).map(Event::BlockJobCancelled)
    }),
    ("BLOCK_JOB_ERROR", |d| {
        FromJson::from_json(d).map(Event::BlockJobError)
    }),
    ("JOB_STATUS_CHANGE", |d| {
        FromJson::from_json(d).map(Event::JobStatusChange)
    }),
    ("MIGRATION", |d| {
        FromJson::from_json(d).map(Event::Migration)
    }),
    ("BALLOON_CHANGE", |d| {
        FromJson::from_json(d).map(Event::BalloonChange)
    }),
    ("RTC_CHANGE", |d| {
        FromJson::from_json(d).map(Event::RtcChange)
    }),
    ("WATCHDOG", |d| FromJson::from_json(d).map(Event::Watchdog)),
];

/// Run the decoder of a catalogue entry.
fn decode_entry<'a>(
    &(name, decoder): &(&'static str, Decoder),
    data: Option<RawJson<'a>>,
) -> Result<Event<'a>, DecodeError> {
    let mut result = decoder(data.unwrap_or(NO_DATA));
    if let Err(error) = &mut result {
        *error = match data {
            Some(_) => error.context(name),
            None => DecodeErrorKind::MissingData { event: name }.into(),
        };
    }
    result
}

/// Decode an event payload; an absent `data` decodes as `{}` or is `MissingData`.
fn payload<'a, T: EventData<'a>>(data: Option<RawJson<'a>>) -> Result<T, DecodeError> {
    T::from_json(data.unwrap_or(NO_DATA)).map_err(|error| match data {
        Some(_) => error.context(T::NAME),
        None => DecodeErrorKind::MissingData { event: T::NAME }.into(),
    })
}

/// The names of the catalogued events: those that [`Event::decode`] turns into a typed
/// variant rather than [`Event::Unknown`].
pub const EVENT_NAMES: [&str; CATALOGUE.len()] = {
    let mut names = [""; CATALOGUE.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = CATALOGUE[i].0;
        i += 1;
    }
    names
};

impl<'a> Event<'a> {
    /// Decode the event called `name` from its `data` member (`None` when absent).
    ///
    /// Names not in the catalogue give [`Event::Unknown`]; a catalogued name whose data
    /// does not fit its payload type is an error.
    pub fn decode(name: &'a str, data: Option<RawJson<'a>>) -> Result<Self, DecodeError> {
        match CATALOGUE.iter().find(|(known, _)| *known == name) {
            Some(entry) => decode_entry(entry, data),
            None => Ok(Self::Unknown { name, data }),
        }
    }

    /// [`decode`](Event::decode) for a name still in its wire form. A name with escapes
    /// is decoded before matching; if it is not a catalogued name, the
    /// [`Unknown`](Event::Unknown) arm carries its raw escaped text.
    pub fn decode_escaped(
        name: JsonStr<'a>,
        data: Option<RawJson<'a>>,
    ) -> Result<Self, DecodeError> {
        match name.find_in(&EVENT_NAMES, 0).and_then(|i| CATALOGUE.get(i)) {
            Some(entry) => decode_entry(entry, data),
            None => Ok(Self::Unknown {
                name: name.raw(),
                data,
            }),
        }
    }

    /// Decode the payload of an event message classified by the
    /// [`message`](crate::message) layer (its timestamp stays there).
    pub fn from_message(event: &crate::message::EventMessage<'a>) -> Result<Self, DecodeError> {
        Self::decode_escaped(event.name, event.data)
    }

    /// The event name on the wire.
    pub const fn name(&self) -> &'a str {
        match self {
            Self::SpiceConnected(_) => "SPICE_CONNECTED",
            Self::SpiceInitialized(_) => "SPICE_INITIALIZED",
            Self::SpiceDisconnected(_) => "SPICE_DISCONNECTED",
            Self::SpiceMigrateCompleted => "SPICE_MIGRATE_COMPLETED",
            Self::VncConnected(_) => "VNC_CONNECTED",
            Self::VncInitialized(_) => "VNC_INITIALIZED",
            Self::VncDisconnected(_) => "VNC_DISCONNECTED",
            Self::Shutdown(_) => "SHUTDOWN",
            Self::Powerdown => "POWERDOWN",
            Self::Reset(_) => "RESET",
            Self::Stop => "STOP",
            Self::Resume => "RESUME",
            Self::Suspend => "SUSPEND",
            Self::Wakeup => "WAKEUP",
            Self::GuestPanicked(_) => "GUEST_PANICKED",
            Self::DeviceDeleted(_) => "DEVICE_DELETED",
            Self::BlockJobCompleted(_) => "BLOCK_JOB_COMPLETED",
            Self::BlockJobReady(_) => "BLOCK_JOB_READY",
            Self::BlockJobCancelled(_) => "BLOCK_JOB_CANCELLED",
            Self::BlockJobError(_) => "BLOCK_JOB_ERROR",
            Self::JobStatusChange(_) => "JOB_STATUS_CHANGE",
            Self::Migration(_) => "MIGRATION",
            Self::BalloonChange(_) => "BALLOON_CHANGE",
            Self::RtcChange(_) => "RTC_CHANGE",
            Self::Watchdog(_) => "WATCHDOG",
            Self::Unknown { name, .. } => name,
        }
    }

    /// Whether this is a catalogued event (not [`Unknown`](Event::Unknown)).
    pub const fn is_known(&self) -> bool {
        !matches!(self, Self::Unknown { .. })
    }
}
