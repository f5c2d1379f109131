//! The [`Command`] trait and the common QMP commands.
//!
//! A command is a value: its type names the command and holds its arguments (borrowed
//! `&str`s, escaped by the serializer), and its [`Returns`](Command::Returns) type
//! borrows from the reply frame.
//!
//! # Arguments
//!
//! [`Command::args`] returns `None` when the `arguments` member should be left out
//! (commands without arguments, and `qmp_capabilities` without `enable`), so a command
//! encodes exactly as QEMU's own examples: `{"execute": "stop"}`. The spec makes a
//! missing `arguments` equivalent to `{}`; [`Empty`], the `Args` type of those commands,
//! serializes as `{}` for encoders that always write the member. Optional arguments that
//! are `None` are skipped, never written as `null` (QEMU rejects `null` for most
//! optional arguments).
//!
//! # Returns
//!
//! [`Command::decode_return`] decodes the `return` value through [`FromJson`]: directly
//! for the reply types here (lists are read lazily through [`RawList`] and [`Schema`]),
//! and through serde-json-core for any `Deserialize` type of a command of your own.
//!
//! ```
//! use qmp_core::json::RawJson;
//! use qmp_core::schema::commands::{Command, HumanMonitorCommand, QueryVersion};
//!
//! let hmp = HumanMonitorCommand { command_line: "info status", cpu_index: None };
//! assert_eq!(HumanMonitorCommand::NAME, "human-monitor-command");
//! let mut buf = [0u8; 64];
//! let n = serde_json_core::to_slice(&hmp.args(), &mut buf)?;
//! assert_eq!(&buf[..n], br#"{"command-line":"info status"}"#);
//!
//! let out = RawJson::parse(br#""VM status: paused (prelaunch)\r\n""#)?;
//! let text = HumanMonitorCommand::decode_return(out)?;
//! assert!(text == "VM status: paused (prelaunch)\r\n");
//!
//! let ret = RawJson::parse(br#"{"qemu": {"micro": 2, "minor": 0, "major": 10}, "package": ""}"#)?;
//! assert_eq!(QueryVersion::decode_return(ret)?.qemu.major, 10);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;

use serde::{Deserialize, Serialize, Serializer};

use super::de::json_str;
use super::events::{NetworkAddressFamily, SpiceChannel, VncClientInfo};
use super::{expect_kind, DecodeError, FromJson, RawList, Schema};
use crate::encode::{self, EncodeError, Id, Ser, Sink};
use crate::json::{JsonStr, Kind, RawJson};
use crate::message::{ErrorReply, Message};

/// A QMP command as a Rust type: its name, arguments and reply type, and the glue that
/// sends it and reads its reply.
///
/// [`encode`](Command::encode) writes the command through [`encode::command`];
/// [`decode_reply`](Command::decode_reply) takes the reply as the
/// [message layer](crate::message) parsed it and gives the typed return value, or the
/// peer's error reply. A session matches the reply to the command by id in between.
///
/// ```
/// use qmp_core::encode::{Id, SliceSink};
/// use qmp_core::frame::Frame;
/// use qmp_core::message::Message;
/// use qmp_core::schema::commands::{Command, QueryStatus, ReplyError, RunState};
///
/// let mut buf = [0u8; 64];
/// let mut sink = SliceSink::new(&mut buf);
/// QueryStatus.encode(&mut sink, Some(Id::U64(3)))?;
/// assert_eq!(sink.written(), br#"{"execute":"query-status","id":3}"#);
///
/// let reply = Frame::parse(br#"{"return": {"status": "paused", "running": false}, "id": 3}"#)?;
/// let status = QueryStatus::decode_reply(&Message::parse(reply)?)?;
/// assert_eq!(status.status, RunState::Paused);
///
/// let refused = Frame::parse(br#"{"id": 3, "error": {"class": "GenericError", "desc": "no"}}"#)?;
/// match QueryStatus::decode_reply(&Message::parse(refused)?) {
///     Err(ReplyError::Error(e)) => assert!(e.desc == "no"),
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Command {
    /// The command name (`execute` / `exec-oob`).
    const NAME: &'static str;
    /// Whether the schema marks the command `allow-oob` (it may be sent with
    /// `exec-oob` once the `oob` capability is enabled).
    const ALLOW_OOB: bool = false;
    /// The `arguments` object.
    type Args: Serialize;
    /// The `return` value, borrowed from the reply.
    type Returns<'a>: FromJson<'a>;

    /// The arguments to send, or `None` to leave the `arguments` member out.
    fn args(&self) -> Option<&Self::Args>;

    /// Decode the `return` value of a reply.
    fn decode_return(raw: RawJson<'_>) -> Result<Self::Returns<'_>, DecodeError> {
        FromJson::from_json(raw).map_err(|e: DecodeError| e.context(Self::NAME))
    }

    /// Write the command, `{"execute": NAME, "arguments": …, "id": …}`, with
    /// `arguments` left out when [`args`](Command::args) is `None`.
    fn encode<S: Sink + ?Sized>(
        &self,
        sink: &mut S,
        id: Option<Id<'_>>,
    ) -> Result<(), EncodeError<S::Error>> {
        encode::command(sink, Self::NAME, self.args().map(Ser), id)
    }

    /// Write the command out of band (`exec-oob`): only for commands that
    /// [allow it](Command::ALLOW_OOB), once the `oob` capability is enabled, and with an
    /// id.
    fn encode_oob<S: Sink + ?Sized>(
        &self,
        sink: &mut S,
        id: Option<Id<'_>>,
    ) -> Result<(), EncodeError<S::Error>> {
        encode::command_oob(sink, Self::NAME, self.args().map(Ser), id)
    }

    /// The typed result of this command from its reply: the decoded `return` value,
    /// or the peer's error reply, or a [`DecodeError`] when the value does not fit
    /// [`Returns`](Command::Returns). The reply's id is not checked here: matching
    /// replies to commands is the session's job.
    fn decode_reply<'a>(reply: &Message<'a>) -> Result<Self::Returns<'a>, ReplyError<'a>> {
        match *reply {
            Message::Return(ret) => Self::decode_return(ret.value).map_err(ReplyError::Decode),
            Message::Error(error) => Err(ReplyError::Error(error)),
            _ => Err(ReplyError::NotAReply),
        }
    }
}

/// Why [`Command::decode_reply`] gave no return value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplyError<'a> {
    /// The peer answered with an error reply (a refusal, not a fault of the stream).
    Error(ErrorReply<'a>),
    /// The `return` value does not fit the command's return type.
    Decode(DecodeError),
    /// The message is not a reply (a greeting, an event or a request).
    NotAReply,
}

impl fmt::Display for ReplyError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Error(e) => write!(f, "the command failed: {}: {}", e.class.name(), e.desc),
            Self::Decode(e) => write!(f, "the reply does not fit the command: {e}"),
            Self::NotAReply => f.write_str("the message is not a reply"),
        }
    }
}

impl core::error::Error for ReplyError<'_> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Decode(e) => Some(e),
            _ => None,
        }
    }
}

/// An empty object: the arguments of commands that take none (serializes as `{}`) and
/// the return value of commands that return nothing (accepts any object).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Empty {}

impl<'a> FromJson<'a> for Empty {
    fn from_json(raw: RawJson<'a>) -> Result<Self, DecodeError> {
        expect_kind(raw, "Empty", Kind::Object).map(|()| Self {})
    }
}

/// Commands without arguments.
macro_rules! no_args_command {
    ($(#[$meta:meta])* $ty:ident = $name:literal, <$lt:lifetime> $ret:ty $(, oob = $oob:literal)?) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        pub struct $ty;

        impl Command for $ty {
            const NAME: &'static str = $name;
            $(const ALLOW_OOB: bool = $oob;)?
            type Args = Empty;
            type Returns<$lt> = $ret;

            fn args(&self) -> Option<&Empty> {
                None
            }
        }
    };
}

/// Commands whose value is their arguments.
macro_rules! args_command {
    ($ty:ident = $name:literal, <$lt:lifetime> $ret:ty $(, oob = $oob:literal)?) => {
        impl<'s> Command for $ty<'s> {
            const NAME: &'static str = $name;
            $(const ALLOW_OOB: bool = $oob;)?
            type Args = Self;
            type Returns<$lt> = $ret;

            fn args(&self) -> Option<&Self> {
                Some(self)
            }
        }
    };
}

/// A QMP capability (`QMPCapability`), offered in the greeting and enabled with
/// [`QmpCapabilities`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum QmpCapability<'a> {
    /// `oob`: out-of-band execution (3.0).
    Oob,
    /// Another capability, by name. Decoded values keep the wire text (capability
    /// names are plain identifiers; escapes, if any, are not decoded).
    Other(&'a str),
}

impl QmpCapability<'_> {
    /// The capability's name, as on the wire.
    pub const fn name(&self) -> &str {
        match self {
            Self::Oob => "oob",
            Self::Other(name) => name,
        }
    }
}

impl fmt::Display for QmpCapability<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for QmpCapability<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for QmpCapability<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = json_str(d)?;
        Ok(if value == "oob" {
            Self::Oob
        } else {
            Self::Other(value.raw())
        })
    }
}

/// `qmp_capabilities`: leave negotiation mode, enabling `enable` (2.12). Without
/// `enable` the command is sent without `arguments`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct QmpCapabilities<'a> {
    /// Capabilities to enable; each must have been offered in the greeting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable: Option<&'a [QmpCapability<'a>]>,
}

impl<'s> Command for QmpCapabilities<'s> {
    const NAME: &'static str = "qmp_capabilities";
    type Args = Self;
    type Returns<'a> = Empty;

    fn args(&self) -> Option<&Self> {
        self.enable.map(|_| self)
    }
}

/// `VersionInfo`'s version triple.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VersionTriple {
    /// Major version.
    pub major: u64,
    /// Minor version.
    pub minor: u64,
    /// Micro version (50 = development, ≥ 90 = release candidate of the next minor).
    pub micro: u64,
}

from_members! { VersionTriple { micro, minor, major } }

/// `VersionInfo`: the reply to `query-version` (and the greeting's `version`). The 0.12
/// form with `qemu` as a string is not supported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VersionInfo<'a> {
    /// The QEMU version.
    pub qemu: VersionTriple,
    /// Downstream package or build description (`""` upstream).
    pub package: JsonStr<'a>,
}

from_members! { VersionInfo<'a> { qemu, package } }

no_args_command! {
    /// `query-version`.
    QueryVersion = "query-version", <'a> VersionInfo<'a>
}

open_enum! {
    /// `RunState`: the VM's run state.
    pub enum RunState {
        /// `debug`
        Debug = "debug",
        /// `inmigrate`
        Inmigrate = "inmigrate",
        /// `internal-error`
        InternalError = "internal-error",
        /// `io-error`
        IoError = "io-error",
        /// `paused`
        Paused = "paused",
        /// `postmigrate`
        Postmigrate = "postmigrate",
        /// `prelaunch`
        Prelaunch = "prelaunch",
        /// `finish-migrate`
        FinishMigrate = "finish-migrate",
        /// `restore-vm`
        RestoreVm = "restore-vm",
        /// `running`
        Running = "running",
        /// `save-vm`
        SaveVm = "save-vm",
        /// `shutdown`
        Shutdown = "shutdown",
        /// `suspended`
        Suspended = "suspended",
        /// `watchdog`
        Watchdog = "watchdog",
        /// `guest-panicked`
        GuestPanicked = "guest-panicked",
        /// `colo` (2.8)
        Colo = "colo",
    }
}

/// `StatusInfo`: the reply to `query-status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StatusInfo<'a> {
    /// Whether the VM runs.
    pub running: bool,
    /// The run state.
    pub status: RunState<'a>,
    /// Single-step mode (0.14 to 8.x; deprecated in 8.1, since removed).
    pub singlestep: Option<bool>,
}

from_members! { StatusInfo<'a> { status, singlestep, running } }

no_args_command! {
    /// `query-status`.
    QueryStatus = "query-status", <'a> StatusInfo<'a>
}

/// `CommandInfo`: one element of the `query-commands` reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CommandInfo<'a> {
    /// The command name.
    pub name: JsonStr<'a>,
}

from_members! { CommandInfo<'a> { name } }

no_args_command! {
    /// `query-commands`: the commands available in the current mode, as a lazily
    /// decoded list.
    QueryCommands = "query-commands", <'a> RawList<'a, CommandInfo<'a>>
}

/// `NameInfo`: the reply to `query-name`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NameInfo<'a> {
    /// The VM name (`-name`), if set. May contain escapes (`"vm-\u00E9"`).
    pub name: Option<JsonStr<'a>>,
}

from_members! { NameInfo<'a> { name } }

no_args_command! {
    /// `query-name`.
    QueryName = "query-name", <'a> NameInfo<'a>
}

open_enum! {
    /// `SpiceQueryMouseMode` (1.1).
    pub enum SpiceQueryMouseMode {
        /// `client`
        Client = "client",
        /// `server`
        Server = "server",
        /// `unknown`: QEMU could not tell.
        Unknown = "unknown",
    }
}

/// `SpiceInfo`: the reply to `query-spice`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpiceInfo<'a> {
    /// Whether SPICE is enabled.
    pub enabled: bool,
    /// Whether the last migration of the SPICE state completed (1.4).
    pub migrated: Option<bool>,
    /// Listening address.
    pub host: Option<JsonStr<'a>>,
    /// Plain port, **an integer** here (unlike the events).
    pub port: Option<i64>,
    /// TLS port.
    pub tls_port: Option<i64>,
    /// Authentication method.
    pub auth: Option<JsonStr<'a>>,
    /// spice-server version.
    pub compiled_version: Option<JsonStr<'a>>,
    /// Mouse mode (1.1).
    pub mouse_mode: Option<SpiceQueryMouseMode<'a>>,
    /// The connected channels.
    pub channels: Option<RawList<'a, SpiceChannel<'a>>>,
}

from_members! {
    SpiceInfo<'a> {
        migrated,
        enabled,
        auth,
        port,
        tls_port = "tls-port",
        compiled_version = "compiled-version",
        host,
        channels,
        mouse_mode = "mouse-mode",
    }
}

no_args_command! {
    /// `query-spice` (only in QEMU built with SPICE).
    QuerySpice = "query-spice", <'a> SpiceInfo<'a>
}

/// `VncInfo`: the reply to `query-vnc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VncInfo<'a> {
    /// Whether VNC is enabled.
    pub enabled: bool,
    /// Listening address.
    pub host: Option<JsonStr<'a>>,
    /// Address family.
    pub family: Option<NetworkAddressFamily<'a>>,
    /// Port as a string, a service name or a socket path.
    pub service: Option<JsonStr<'a>>,
    /// Authentication scheme.
    pub auth: Option<JsonStr<'a>>,
    /// The connected clients.
    pub clients: Option<RawList<'a, VncClientInfo<'a>>>,
}

from_members! { VncInfo<'a> { enabled, auth, family, clients, service, host } }

no_args_command! {
    /// `query-vnc`.
    QueryVnc = "query-vnc", <'a> VncInfo<'a>
}

no_args_command! {
    /// `query-qmp-schema` (2.5): the whole QAPI schema, walked lazily through
    /// [`Schema`].
    QueryQmpSchema = "query-qmp-schema", <'a> Schema<'a>
}

no_args_command! {
    /// `system_powerdown`: ask the guest to power down (ACPI); it may ignore it.
    SystemPowerdown = "system_powerdown", <'a> Empty
}

no_args_command! {
    /// `system_reset`.
    SystemReset = "system_reset", <'a> Empty
}

no_args_command! {
    /// `stop`: pause the VM (a `STOP` event follows, possibly before the reply).
    Stop = "stop", <'a> Empty
}

no_args_command! {
    /// `cont`: resume the VM (a `RESUME` event follows, possibly before the reply).
    Cont = "cont", <'a> Empty
}

no_args_command! {
    /// `quit`: exit QEMU. The reply may be lost.
    Quit = "quit", <'a> Empty
}

no_args_command! {
    /// `migrate-pause` (3.0): pause a postcopy migration. Allowed out of band.
    MigratePause = "migrate-pause", <'a> Empty, oob = true
}

/// `human-monitor-command`: run an HMP command line. Returns its output, whose lines
/// end in `\r\n` (escaped in the reply): a [`JsonStr`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct HumanMonitorCommand<'a> {
    /// The HMP command line, e.g. `"info status"`.
    pub command_line: &'a str,
    /// The CPU to use as the current one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_index: Option<i64>,
}

args_command!(HumanMonitorCommand = "human-monitor-command", <'a> JsonStr<'a>);

/// `device_del`: start removing a device; `DEVICE_DELETED` signals completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct DeviceDel<'a> {
    /// The device id or QOM path.
    pub id: &'a str,
}

args_command!(DeviceDel = "device_del", <'a> Empty);

/// Image formats for [`Screendump`] (`ImageFormat`, 7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ImageFormat {
    /// `ppm`
    Ppm,
    /// `png`
    Png,
}

/// `screendump`: write the display to a file on the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Screendump<'a> {
    /// Output file name (on the QEMU host).
    pub filename: &'a str,
    /// The display device's id (2.12).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<&'a str>,
    /// The head to dump, with `device` (2.12).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head: Option<i64>,
    /// Image format (7.1; default ppm).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<ImageFormat>,
}

args_command!(Screendump = "screendump", <'a> Empty);

/// `YankInstance`: something `yank` can cut loose (a union on `type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum YankInstance<'a> {
    /// A block node's network connections.
    BlockNode {
        /// The node name.
        #[serde(rename = "node-name")]
        node_name: &'a str,
    },
    /// A chardev's connection.
    Chardev {
        /// The chardev id.
        id: &'a str,
    },
    /// The migration connections.
    Migration,
}

/// `yank` (6.0): cut network connections that hang, without waiting. Allowed out of
/// band.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Yank<'a> {
    /// What to yank.
    pub instances: &'a [YankInstance<'a>],
}

args_command!(Yank = "yank", <'a> Empty, oob = true);
