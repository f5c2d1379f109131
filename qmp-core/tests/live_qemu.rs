//! The codec against a live QEMU 10: each test starts its own `qemu-system-x86_64
//! -machine none` with a QMP monitor on a unix socket (or TCP on 127.0.0.1) in a temporary
//! folder, talks to it through the framer, `Message::parse`, the encoder and the typed
//! commands and events, and kills it at the end, passing or failing
//! (`tests/common/qemu.rs`).
//!
//! Run them with `cargo test -p qmp-core --test live_qemu`. Without `qemu-system-x86_64`
//! on `PATH` each test prints `skipped: qemu-system-x86_64 not found` and passes, unless
//! `CI=true`, where it fails. `scripts/install-qemu` installs QEMU 10 (Debian's
//! backports), and `scripts/test` runs it before the tests.
//!
//! The error replies are recorded in [`ERRORS`]: QEMU's exact class, desc and whether
//! it echoed the id, for each bad input, next to what `message::parse_request` says
//! for the same bytes. Where the two differ the table says so, with both texts. A
//! `session::Server` in the same phase is fed the same bytes through `Server::feed` and
//! its answers (class, desc, id, number of errors, the next request answered) are
//! compared with QEMU's in the same run; the differences are listed in
//! [`SERVER_DIFFERS`] and asserted.
//!
//! The VNC and SPICE tests make QEMU emit its connection events with clients of their
//! own: RFB handshakes, a burst of 100 VNC clients, and a SPICE main-channel link
//! (whose ticket is encrypted with the `rsa` dev-dependency). The SPICE tests need
//! QEMU's SPICE module (`qemu-system-modules-spice`, which `scripts/install-qemu`
//! installs).

mod common;

use std::collections::BTreeMap;

use std::net::{Ipv4Addr, SocketAddr};

use common::qemu::{free_tcp_addr, Closed, Endpoint, Monitor, Qemu, Qmp, Received, BIG};
use common::spice::spice_link_main;
use qmp_core::encode::{self, BufferFull, EncodeError, Id, SliceSink};
use qmp_core::frame::{Frame, FrameError, Framer};
use qmp_core::json::{Kind, RawJson};
use qmp_core::message::{parse_request, ErrorClass, Message, QemuVersion, Request, Version};
use qmp_core::scan::ScanConfig;
use qmp_core::schema::commands::{
    CommandInfo, Cont, QmpCapabilities, QmpCapability, QueryCommands, QueryQmpSchema, QuerySpice,
    QueryStatus, QueryVersion, QueryVnc, Quit, RunState, Stop, SystemPowerdown, SystemReset,
};
use qmp_core::schema::events::{NetworkAddressFamily, ShutdownCause, SpiceBasicInfo};
use qmp_core::schema::introspect::MetaType;
use qmp_core::schema::spice::{
    AddressFamily, ChannelInfo, SpiceClient, SpiceOutcome, SpiceSessions,
};
use qmp_core::schema::Event;
use qmp_core::session::{Answered, Responder, Server, ServerOutcome};

/// Start QEMU with a QMP monitor, or skip the test (return) when QEMU is missing.
macro_rules! qemu {
    ($monitor:expr) => {
        qemu!($monitor, |_| Vec::new())
    };
    ($monitor:expr, $extra:expr) => {
        match Qemu::start_with($monitor, $extra) {
            Some(qemu) => qemu,
            None => return,
        }
    };
}

/// The greeting (QEMU 10, offering `oob`), `qmp_capabilities` without arguments, and
/// `query-version`, `query-status` and `query-commands` decoded with the typed commands.
#[test]
fn greeting_and_typed_queries() {
    let mut qemu = qemu!(Monitor::Unix);
    let mut qmp = qemu.connect(BIG);
    let greeting = qmp.negotiate(false);
    assert_eq!(greeting.offset, 0);
    let greeting = greeting.greeting();
    let version = greeting.version.expect("a version");
    let QemuVersion::Triple {
        major,
        minor,
        micro,
    } = version.qemu
    else {
        panic!("QEMU 10 announces a version triple: {version:?}");
    };
    assert_eq!(major, 10, "these tests record QEMU 10's answers");
    assert!(greeting.offers("oob"));
    let capabilities: Vec<_> = greeting
        .capabilities
        .elements()
        .map(|c| c.as_str())
        .collect();
    assert_eq!(capabilities, [Some("oob")]);

    // query-version agrees with the greeting.
    let exchange = qmp.execute(&QueryVersion);
    assert!(exchange.before.is_empty(), "{exchange:?}");
    let info = exchange.reply.returned::<QueryVersion>();
    assert_eq!(
        (info.qemu.major, info.qemu.minor, info.qemu.micro),
        (major, minor, micro)
    );
    assert_eq!(Some(info.package), version.package);

    // `-machine none` runs from the start (no -S).
    let exchange = qmp.execute(&QueryStatus);
    let status = exchange.reply.returned::<QueryStatus>();
    assert!(status.running);
    assert_eq!(status.status, RunState::Running);
    assert_eq!(status.singlestep, None, "removed after 8.x");

    // query-commands: every element decodes, and the commands used here are listed.
    let exchange = qmp.execute(&QueryCommands);
    let commands = exchange.reply.returned::<QueryCommands>();
    let names: Vec<String> = commands
        .iter()
        .map(|c: Result<CommandInfo<'_>, _>| c.expect("a CommandInfo").name.to_string())
        .collect();
    assert!(names.len() > 100, "{} commands", names.len());
    for name in [
        "qmp_capabilities",
        "query-status",
        "query-version",
        "query-commands",
        "query-qmp-schema",
        "query-vnc",
        "stop",
        "cont",
        "system_reset",
        "system_powerdown",
        "quit",
    ] {
        assert!(
            names.iter().any(|n| n == name),
            "{name} not in query-commands"
        );
    }
}

/// `qmp_capabilities` with `{"enable": ["oob"]}`: `exec-oob` is then dispatched (and
/// refused for a command that is not `allow-oob`), where without it the member is
/// merely unexpected (see [`ERRORS`]).
#[test]
fn negotiation_enables_oob() {
    let mut qemu = qemu!(Monitor::Unix);
    let mut qmp = qemu.connect(BIG);
    qmp.negotiate(true);

    let mut buf = [0u8; 128];
    let mut sink = SliceSink::new(&mut buf);
    encode::command_oob(&mut sink, "query-status", (), Some(Id::Str("oob-1"))).unwrap();
    assert_eq!(
        sink.written(),
        br#"{"exec-oob":"query-status","id":"oob-1"}"#
    );
    let bytes = sink.written().to_vec();
    qmp.send_raw(&bytes);
    let reply = qmp.recv();
    let error = reply.error();
    assert_eq!(error.class, ErrorClass::GenericError);
    assert_eq!(
        error.desc.to_string(),
        "The command query-status does not support OOB"
    );
    assert_eq!(error.id.and_then(|id| id.as_str()), Some("oob-1"));

    // In-band commands work as before.
    let status = qmp.execute(&QueryStatus);
    assert!(status.reply.returned::<QueryStatus>().running);
}

/// The 236 KB `query-qmp-schema` reply through a 256 KiB framer: one frame, decoded
/// lazily with `schema::introspect::Schema`, consistent with `query-commands`.
#[test]
fn schema_reply_through_a_256k_framer() {
    let mut qemu = qemu!(Monitor::Unix);
    let mut qmp = qemu.connect(BIG);
    qmp.negotiate(false);

    let commands = qmp.execute(&QueryCommands).reply;
    let commands = commands.returned::<QueryCommands>();
    let exchange = qmp.execute(&QueryQmpSchema);
    assert!(exchange.before.is_empty(), "{exchange:?}");
    let reply = &exchange.reply;
    assert!(
        (200_000..BIG).contains(&reply.bytes.len()),
        "schema reply of {} bytes",
        reply.bytes.len()
    );
    let schema = reply.returned::<QueryQmpSchema>();
    let entries: Vec<_> = schema
        .iter()
        .map(|e| e.expect("every entry has a name and a meta-type"))
        .collect();
    assert_eq!(entries.len(), schema.len());
    assert!(entries.len() > 1000, "{} entries", entries.len());
    assert!(entries.iter().all(|e| e.meta_type().is_known()));

    // Every command query-commands lists is a command in the schema.
    for info in commands.iter() {
        let name = info.unwrap().name.to_string();
        assert!(schema.command(&name).is_some(), "{name} not in the schema");
    }
    let query_status = schema.command("query-status").unwrap();
    assert!(!query_status.allow_oob());
    let ret = schema.get(query_status.ret_type().unwrap().raw()).unwrap();
    assert_eq!(ret.meta_type(), MetaType::Object);
    let members: Vec<String> = ret.object_members().map(|m| m.name.to_string()).collect();
    assert!(members.contains(&"running".to_owned()), "{members:?}");
    assert!(schema.command("migrate-pause").unwrap().allow_oob());
    for event in [
        "SHUTDOWN",
        "STOP",
        "RESUME",
        "RESET",
        "POWERDOWN",
        "VNC_CONNECTED",
    ] {
        assert!(schema.event(event).is_some(), "{event} not in the schema");
    }
}

/// The same reply through a 4 KiB framer: exactly one `TooLarge` covering the whole
/// reply, and the next command's reply frames right after it.
#[test]
fn schema_reply_through_a_4k_framer() {
    let mut qemu = qemu!(Monitor::Unix);
    let mut qmp = qemu.connect(4096);
    qmp.greeting();
    let caps = qmp.execute(&QmpCapabilities::default()).reply;
    let caps_end = caps.offset + caps.bytes.len() as u64;

    qmp.send(&QueryQmpSchema);
    let status_id = qmp.send(&QueryStatus);
    let too_large = qmp
        .next_item(|item| match item {
            Err(e @ FrameError::TooLarge { .. }) => e,
            other => panic!("expected TooLarge, got {other:?}"),
        })
        .unwrap();
    let FrameError::TooLarge { start, len } = too_large else {
        unreachable!()
    };
    // QEMU ends every message with CRLF.
    assert_eq!(start, caps_end + 2, "{too_large}");
    assert!(len > 200_000, "{too_large}");
    let status = qmp.recv();
    assert!(status.is_reply_to(status_id), "{status:?}");
    assert_eq!(status.offset, start + len + 2);
    assert!(status.returned::<QueryStatus>().running);
}

/// When parse_request and QEMU's dispatcher look at the same bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Before `qmp_capabilities`.
    Greeting,
    /// After `qmp_capabilities` without `oob`.
    Commands,
    /// After `qmp_capabilities` with `{"enable": ["oob"]}`.
    Oob,
}

/// What `parse_request` says about a bad input that QEMU refused.
#[derive(Clone, Copy, Debug)]
enum Ours {
    /// The input is not one JSON text: the framer's concern, not parse_request's
    /// (`Frame::parse` must refuse it).
    NotJson,
    /// A well-formed request: QEMU refuses it later (dispatch, arguments, session
    /// state), which is a server session's job.
    Accepts,
    /// Refused with QEMU's desc, and the id echoed exactly when QEMU echoes it.
    Agrees,
}

/// One bad input and QEMU 10.0's exact answer.
struct Case {
    phase: Phase,
    input: &'static [u8],
    class: &'static str,
    /// The desc, decoded (`\uFFFD` in the wire text is U+FFFD here).
    desc: &'static str,
    /// Whether QEMU echoed the id (every input with an id uses `"id":"bad"`).
    id: bool,
    /// How many error replies QEMU sends (all alike but for the first's desc).
    replies: usize,
    ours: Ours,
}

const fn case(
    phase: Phase,
    input: &'static [u8],
    class: &'static str,
    desc: &'static str,
    id: bool,
    ours: Ours,
) -> Case {
    Case {
        phase,
        input,
        class,
        desc,
        id,
        replies: 1,
        ours,
    }
}

use Ours::{Accepts, Agrees, NotJson};
use Phase::{Commands, Greeting, Oob};

const GENERIC: &str = "GenericError";
const NOT_FOUND: &str = "CommandNotFound";

/// QEMU 10.0.2's answers to bad input, as recorded by [`errors_before_negotiation`],
/// [`errors_after_negotiation`] and [`errors_with_oob`].
///
/// QEMU checks a request's members in the order of its hash table (`qdict`:
/// `exec-oob`, `execute`, `arguments`, `id` come in that order, and e.g. `extra` before
/// all of them, `foo` after `execute`), and the first faulty member wins; "lacks member
/// 'execute'" comes only after every member passed. parse_request follows the same
/// order, so it agrees on inputs with several faults too.
const ERRORS: &[Case] = &[
    // Before negotiation.
    case(
        Greeting,
        br#"{"execute":"query-status","id":"bad"}"#,
        NOT_FOUND,
        "Expecting capabilities negotiation with 'qmp_capabilities'",
        true,
        Accepts,
    ),
    case(
        Greeting,
        b"[1]",
        GENERIC,
        "QMP input must be a JSON object",
        false,
        Agrees,
    ),
    case(
        Greeting,
        br#"{"execute":"qmp_capabilities","extra":1,"id":"bad"}"#,
        GENERIC,
        "QMP input member 'extra' is unexpected",
        true,
        Agrees,
    ),
    // QEMU names the list element 'null' (not 'enable[0]'), with no list of the
    // accepted values.
    case(
        Greeting,
        br#"{"execute":"qmp_capabilities","arguments":{"enable":["bogus"]},"id":"bad"}"#,
        GENERIC,
        "Parameter 'null' does not accept value 'bogus'",
        true,
        Accepts,
    ),
    // Dispatch: the command, its arguments, the session's state.
    case(
        Commands,
        br#"{"execute":"no-such-command","id":"bad"}"#,
        NOT_FOUND,
        "The command no-such-command has not been found",
        true,
        Accepts,
    ),
    case(
        Commands,
        br#"{"execute":"qmp_capabilities","id":"bad"}"#,
        NOT_FOUND,
        "Capabilities negotiation is already complete, command ignored",
        true,
        Accepts,
    ),
    case(
        Commands,
        br#"{"execute":"query-status","arguments":{"bogus":1},"id":"bad"}"#,
        GENERIC,
        "Parameter 'bogus' is unexpected",
        true,
        Accepts,
    ),
    case(
        Commands,
        br#"{"execute":"human-monitor-command","arguments":{},"id":"bad"}"#,
        GENERIC,
        "Parameter 'command-line' is missing",
        true,
        Accepts,
    ),
    case(
        Commands,
        br#"{"execute":"human-monitor-command","arguments":{"command-line":1},"id":"bad"}"#,
        GENERIC,
        "Invalid parameter type for 'command-line', expected: string",
        true,
        Accepts,
    ),
    // The request's shape: parse_request's domain.
    case(
        Commands,
        b"[1]",
        GENERIC,
        "QMP input must be a JSON object",
        false,
        Agrees,
    ),
    case(
        Commands,
        br#""text""#,
        GENERIC,
        "QMP input must be a JSON object",
        false,
        Agrees,
    ),
    case(
        Commands,
        br#"{"id":"bad"}"#,
        GENERIC,
        "QMP input lacks member 'execute'",
        true,
        Agrees,
    ),
    case(
        Commands,
        br#"{"execute":1,"id":"bad"}"#,
        GENERIC,
        "QMP input member 'execute' must be a string",
        true,
        Agrees,
    ),
    case(
        Commands,
        br#"{"execute":"query-status","arguments":[],"id":"bad"}"#,
        GENERIC,
        "QMP input member 'arguments' must be an object",
        true,
        Agrees,
    ),
    case(
        Commands,
        br#"{"execute":"query-status","extra":1,"id":"bad"}"#,
        GENERIC,
        "QMP input member 'extra' is unexpected",
        true,
        Agrees,
    ),
    case(
        Commands,
        br#"{"exec-oob":"query-status","id":"bad"}"#,
        GENERIC,
        "QMP input member 'exec-oob' is unexpected",
        true,
        Agrees,
    ),
    case(
        Commands,
        br#"{"exec-oob":1,"id":"bad"}"#,
        GENERIC,
        "QMP input member 'exec-oob' is unexpected",
        true,
        Agrees,
    ),
    case(
        Commands,
        br#"{"execute":"query-status","exec-oob":"query-status","id":"bad"}"#,
        GENERIC,
        "QMP input member 'exec-oob' is unexpected",
        true,
        Agrees,
    ),
    case(
        Commands,
        br#"{"execute":"query-status","control":{"run-oob":true},"id":"bad"}"#,
        GENERIC,
        "QMP input member 'control' is unexpected",
        true,
        Agrees,
    ),
    // Two faults: QEMU reports the first in its member order.
    case(
        Commands,
        br#"{"execute":1,"extra":1,"id":"bad"}"#,
        GENERIC,
        "QMP input member 'extra' is unexpected",
        true,
        Agrees,
    ),
    case(
        Commands,
        br#"{"execute":1,"foo":1,"id":"bad"}"#,
        GENERIC,
        "QMP input member 'execute' must be a string",
        true,
        Agrees,
    ),
    case(
        Commands,
        br#"{"execute":"query-status","arguments":[],"foo":1,"id":"bad"}"#,
        GENERIC,
        "QMP input member 'arguments' must be an object",
        true,
        Agrees,
    ),
    case(
        Commands,
        br#"{"arguments":[],"id":"bad"}"#,
        GENERIC,
        "QMP input member 'arguments' must be an object",
        true,
        Agrees,
    ),
    // Not JSON: errors without an id.
    case(
        Commands,
        br#"{"execute":"query-status",}"#,
        GENERIC,
        "JSON parse error, expecting value",
        false,
        NotJson,
    ),
    case(
        Commands,
        br#"{"execute": }"#,
        GENERIC,
        "JSON parse error, expecting value",
        false,
        NotJson,
    ),
    case(
        Commands,
        br#"{"execute":"query-status" "id":"bad"}"#,
        GENERIC,
        "JSON parse error, expected separator in dict",
        false,
        NotJson,
    ),
    case(
        Commands,
        br#"{"execute":tru}"#,
        GENERIC,
        "JSON parse error, invalid keyword 'tru'",
        false,
        NotJson,
    ),
    case(
        Commands,
        br#"{"execute":"\x"}"#,
        GENERIC,
        "JSON parse error, invalid escape sequence in string",
        false,
        NotJson,
    ),
    case(
        Commands,
        br#"{"execute":"query-status","id":"\uD800"}"#,
        GENERIC,
        r"JSON parse error, \uD800 is not a valid Unicode character",
        false,
        NotJson,
    ),
    case(
        Commands,
        b"%",
        GENERIC,
        "JSON parse error, stray '%'",
        false,
        NotJson,
    ),
    // The resync byte, a stray closing brace, a word that is no keyword.
    case(
        Commands,
        b"\xff",
        GENERIC,
        "JSON parse error, stray '\u{FFFD}'",
        false,
        NotJson,
    ),
    case(
        Commands,
        b"}",
        GENERIC,
        "JSON parse error, expecting value",
        false,
        NotJson,
    ),
    case(
        Commands,
        b"foo",
        GENERIC,
        "JSON parse error, invalid keyword 'foo'",
        false,
        NotJson,
    ),
    // What QEMU's parser says where a value, a key, a colon or a separator belongs.
    case(
        Commands,
        br#"{"execute":"query-status","id":1x}"#,
        GENERIC,
        "JSON parse error, expected separator in dict",
        false,
        NotJson,
    ),
    case(
        Commands,
        b"[1}",
        GENERIC,
        "JSON parse error, expected separator in list",
        false,
        NotJson,
    ),
    case(
        Commands,
        b"{1:2}",
        GENERIC,
        "JSON parse error, key is not a string in object",
        false,
        NotJson,
    ),
    case(
        Commands,
        b"{[1]:2}",
        GENERIC,
        "JSON parse error, key is not a string in object",
        false,
        NotJson,
    ),
    case(
        Commands,
        br#"{"a" 1}"#,
        GENERIC,
        "JSON parse error, missing : in object pair",
        false,
        NotJson,
    ),
    // A syntax error inside a message: QEMU skips to the message's end by counting
    // brackets, nested objects included.
    case(
        Commands,
        br#"{"a":{"b":,"c":{}}}"#,
        GENERIC,
        "JSON parse error, expecting value",
        false,
        NotJson,
    ),
    // Strings as QEMU's parser checks them.
    case(
        Commands,
        br#"{"execute":"\u12x4"}"#,
        GENERIC,
        r"JSON parse error, \u12x4 is not a valid Unicode character",
        false,
        NotJson,
    ),
    case(
        Commands,
        br#"{"execute":"query-status","id":"\uD800\u0041"}"#,
        GENERIC,
        r"JSON parse error, \uD800 is not a valid Unicode character",
        false,
        NotJson,
    ),
    case(
        Commands,
        b"{\"execute\":\"query-status\",\"id\":\"\xc3(\"}",
        GENERIC,
        "JSON parse error, invalid UTF-8 sequence in string",
        false,
        NotJson,
    ),
    // Valid JSON that QEMU refuses: a noncharacter escape, and `0e5` (its lexer ends a
    // number at `e` after a leading zero).
    case(
        Commands,
        br#"{"execute":"query-status","id":"\uFFFE"}"#,
        GENERIC,
        r"JSON parse error, \uFFFE is not a valid Unicode character",
        false,
        Accepts,
    ),
    case(
        Commands,
        br#"{"execute":"query-status","id":0e5}"#,
        GENERIC,
        "JSON parse error, expected separator in dict",
        false,
        Accepts,
    ),
    // Two errors each: the lexer's, then the parser's at the `]` its recovery resumes
    // at; a keyword cut by a bad byte; a bad byte after the lexer's error.
    Case {
        replies: 2,
        ..case(
            Commands,
            b"[\"\x01\"]",
            GENERIC,
            "JSON parse error, stray '\"\u{1}'",
            false,
            NotJson,
        )
    },
    Case {
        replies: 2,
        ..case(
            Commands,
            b"[-x]",
            GENERIC,
            "JSON parse error, stray '-x'",
            false,
            NotJson,
        )
    },
    Case {
        replies: 2,
        ..case(
            Commands,
            b"[nulL]",
            GENERIC,
            "JSON parse error, stray 'L'",
            false,
            NotJson,
        )
    },
    Case {
        replies: 2,
        ..case(
            Commands,
            b"%\xff",
            GENERIC,
            "JSON parse error, stray '%'",
            false,
            NotJson,
        )
    },
    // The lexer's error at `01`, then the parser's at the `}` left over.
    Case {
        replies: 2,
        ..case(
            Commands,
            br#"{"execute":"query-status","id":01}"#,
            GENERIC,
            "JSON parse error, stray '01'",
            false,
            NotJson,
        )
    },
    // A duplicate key is a JSON error to QEMU; parse_request leaves it to the JSON
    // layer (documented), and strict RFC 8259 JSON allows it.
    case(
        Commands,
        br#"{"execute":"query-status","id":"bad","id":"bad"}"#,
        GENERIC,
        "JSON parse error, duplicate key",
        false,
        Accepts,
    ),
    // With oob negotiated.
    case(
        Oob,
        br#"{"exec-oob":"query-status","id":"bad"}"#,
        GENERIC,
        "The command query-status does not support OOB",
        true,
        Accepts,
    ),
    case(
        Oob,
        br#"{"exec-oob":1,"id":"bad"}"#,
        GENERIC,
        "QMP input member 'exec-oob' must be a string",
        true,
        Agrees,
    ),
    case(
        Oob,
        br#"{"execute":"query-status","extra":1,"id":"bad"}"#,
        GENERIC,
        "QMP input member 'extra' is unexpected",
        true,
        Agrees,
    ),
    case(
        Oob,
        br#"{"execute":"query-status","exec-oob":"query-status","id":"bad"}"#,
        GENERIC,
        "QMP input member 'execute' clashes with 'exec-oob'",
        true,
        Agrees,
    ),
    case(
        Oob,
        br#"{"exec-oob":"query-status","execute":"query-status","id":"bad"}"#,
        GENERIC,
        "QMP input member 'execute' clashes with 'exec-oob'",
        true,
        Agrees,
    ),
    case(
        Oob,
        br#"{"exec-oob":"query-status","execute":1,"id":"bad"}"#,
        GENERIC,
        "QMP input member 'execute' must be a string",
        true,
        Agrees,
    ),
];

/// An answer to one bad input: the first error's class, desc and whether it echoed an
/// id, the number of error replies, and whether the marker command that followed got
/// its own reply.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Answer {
    class: String,
    desc: String,
    id: bool,
    replies: usize,
    marker: bool,
}

/// Where `session::Server` answers differently from QEMU 10.0.2, in the same phase, on
/// the same bytes: the Server's exact answer (the table holds QEMU's). Every entry is
/// asserted, both ways: QEMU must still answer as the table says and the Server as
/// written here. What each difference comes from is said in `Server`'s docs
/// ("Differences from QEMU").
struct Differs {
    phase: Phase,
    input: &'static [u8],
    /// Class, desc, id echoed, error replies, marker answered.
    server: (&'static str, &'static str, bool, usize, bool),
}

/// The expected differences, with the Server's answer: class, desc, id echoed, error
/// replies, marker answered. None at present: every case of [`ERRORS`] gets QEMU's
/// answer.
const SERVER_DIFFERS: &[Differs] = &[];

/// The sink the mirrored server writes into.
type Out = heapless::Vec<u8, 131072>;

/// What QEMU does with the commands the table sends once negotiated: `query-status`
/// takes no argument, `human-monitor-command` wants a string `command-line`, no
/// command allows `exec-oob`, every other name is unknown.
fn qemu_commands(
    request: &Request<'_>,
    responder: Responder<'_, Out>,
) -> Result<Answered, EncodeError<BufferFull>> {
    let first_argument = request
        .arguments
        .and_then(|a| a.members().next().map(|(name, _)| name.to_string()));
    if request.name == "query-status" && !request.oob {
        return match first_argument {
            Some(name) => responder.error_fmt(
                ErrorClass::GenericError,
                format_args!("Parameter '{name}' is unexpected"),
            ),
            None => responder
                .success(RawJson::parse(br#"{"status":"running","running":true}"#).unwrap()),
        };
    }
    if request.name == "human-monitor-command" && !request.oob {
        let line = request.arguments.and_then(|a| a.get("command-line"));
        return match line.map(|l| l.kind()) {
            None => responder.error(
                ErrorClass::GenericError,
                "Parameter 'command-line' is missing",
            ),
            Some(Kind::String) => responder.success(RawJson::parse(br#""""#).unwrap()),
            Some(_) => responder.error(
                ErrorClass::GenericError,
                "Invalid parameter type for 'command-line', expected: string",
            ),
        };
    }
    if request.oob && request.name == "query-status" {
        return responder.oob_not_supported();
    }
    responder.command_not_found()
}

/// A `session::Server` in the state QEMU's monitor is in for `phase` (greeted, and
/// negotiated as [`Qmp::negotiate`] does), reading through a framer of its own with the
/// server's settings ([`ScanConfig::qmp_server`]).
struct Mirror {
    server: Server<'static>,
    framer: Framer<Vec<u8>>,
}

static OFFERED: [QmpCapability<'static>; 1] = [QmpCapability::Oob];

impl Mirror {
    fn new(phase: Phase) -> Self {
        let mut mirror = Mirror {
            server: Server::new(Some(Version::new(10, 0, 2)), &OFFERED),
            framer: Framer::with_config(vec![0; BIG], ScanConfig::qmp_server()),
        };
        let mut out = Out::new();
        mirror.server.greet(&mut out).unwrap();
        let negotiation: &[u8] = match phase {
            Greeting => return mirror,
            Commands => br#"{"execute":"qmp_capabilities","id":0}"#,
            Oob => br#"{"execute":"qmp_capabilities","arguments":{"enable":["oob"]},"id":0}"#,
        };
        let replies = mirror.feed(negotiation);
        assert_eq!(replies.len(), 1, "{replies:?}");
        mirror
    }

    /// Feed `bytes` and return the lines the server wrote.
    fn feed(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Out::new();
        let mut handler = qmp_core::session::handler_fn(qemu_commands);
        self.server
            .feed(&mut self.framer, bytes, &mut handler, &mut out, |outcome| {
                assert!(
                    matches!(
                        outcome,
                        ServerOutcome::Negotiated { .. }
                            | ServerOutcome::Executed(_)
                            | ServerOutcome::Refused(_)
                    ),
                    "{outcome:?}"
                );
            })
            .unwrap();
        let text = out.to_vec();
        let mut lines: Vec<Vec<u8>> = text
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
            .collect();
        assert_eq!(lines.pop(), Some(Vec::new()), "every line ends with CRLF");
        lines
    }

    /// The server's answer to `input` followed by `marker` (the same bytes QEMU got).
    fn answer(&mut self, input: &[u8], marker: &[u8], marker_id: u64) -> (Answer, Vec<String>) {
        let mut bytes = input.to_vec();
        bytes.extend_from_slice(marker);
        let lines = self.feed(&bytes);
        let mut errors = Vec::new();
        let mut marker_answered = false;
        for line in &lines {
            let frame = Frame::parse(line).unwrap();
            let message = Message::parse(frame).unwrap();
            if message.id().and_then(|i| i.as_u64()) == Some(marker_id) {
                marker_answered = true;
                continue;
            }
            let Message::Error(error) = message else {
                // A request QEMU refuses and the server ran: class "(return)".
                errors.push(("(return)".to_owned(), String::new(), message.id().is_some()));
                continue;
            };
            if let Some(id) = error.id {
                assert_eq!(id.as_str(), Some("bad"));
            }
            errors.push((
                error.class.name().to_owned(),
                error.desc.to_string(),
                error.id.is_some(),
            ));
        }
        let texts = lines
            .iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect();
        let answer = match errors.first() {
            Some((class, desc, id)) => Answer {
                class: class.clone(),
                desc: desc.clone(),
                id: *id,
                replies: errors.len(),
                marker: marker_answered,
            },
            None => Answer {
                class: String::new(),
                desc: String::new(),
                id: false,
                replies: 0,
                marker: marker_answered,
            },
        };
        (answer, texts)
    }
}

/// `{"execute":"query-status","id":ID}`, as [`Qmp::send`] writes it.
fn marker_command(id: u64) -> Vec<u8> {
    let mut buf = [0u8; 64];
    let mut sink = SliceSink::new(&mut buf);
    encode::command(&mut sink, "query-status", (), Some(Id::U64(id))).unwrap();
    sink.written().to_vec()
}

/// Send each bad input of `phase`, followed by a command whose reply marks the end of
/// QEMU's answer; check the answer against the table, parse_request against QEMU, and
/// a `session::Server` in the same phase, fed the same bytes through a framer, against
/// QEMU's answer in this run (or against its recorded difference, [`SERVER_DIFFERS`]).
fn check_errors(phase: Phase) {
    let mut qemu = qemu!(Monitor::Unix);
    let mut qmp = qemu.connect(BIG);
    match phase {
        Greeting => {
            qmp.greeting();
        }
        Commands => {
            qmp.negotiate(false);
        }
        Oob => {
            qmp.negotiate(true);
        }
    }
    let mut mirror = Mirror::new(phase);
    let mut failures = Vec::new();
    for case in ERRORS.iter().filter(|c| c.phase == phase) {
        let input = String::from_utf8_lossy(case.input);
        qmp.send_raw(case.input);
        // Before negotiation this is refused too, with its own id: still a marker.
        let marker = qmp.send(&QueryStatus);
        let exchange = qmp.reply_to(marker);
        let errors: Vec<_> = exchange.before.iter().map(|r| r.error()).collect();
        let Some(first) = errors.first() else {
            failures.push(format!("{input}: no error reply"));
            continue;
        };
        let seen = (
            first.class.name().to_owned(),
            first.desc.to_string(),
            first.id.is_some(),
            errors.len(),
        );
        let want = (
            case.class.to_owned(),
            case.desc.to_owned(),
            case.id,
            case.replies,
        );
        if seen != want {
            failures.push(format!(
                "{input}: QEMU answered {:?}, the table says {want:?}",
                exchange.before
            ));
        }
        if let Some(id) = first.id {
            assert_eq!(id.as_str(), Some("bad"), "{input}");
        }

        // The Server on the same bytes, against QEMU's answer in this run.
        let qemu_answer = Answer {
            class: seen.0.clone(),
            desc: seen.1.clone(),
            id: seen.2,
            replies: seen.3,
            marker: true,
        };
        let (ours, lines) = mirror.answer(case.input, &marker_command(marker), marker);
        let differs = SERVER_DIFFERS
            .iter()
            .find(|d| d.phase == phase && d.input == case.input);
        let expected = match differs {
            None => qemu_answer.clone(),
            Some(d) => {
                let (class, desc, id, replies, marker) = d.server;
                Answer {
                    class: class.to_owned(),
                    desc: desc.to_owned(),
                    id,
                    replies,
                    marker,
                }
            }
        };
        if ours != expected {
            failures.push(format!(
                "{input}: the Server answered {ours:?} {lines:?}, expected {expected:?} (QEMU: {qemu_answer:?})"
            ));
        }
        if differs.is_some() && ours == qemu_answer {
            failures.push(format!(
                "{input}: the Server now agrees with QEMU: drop it from SERVER_DIFFERS"
            ));
        }
        if !ours.marker {
            // The marker was lost in the server's framer: start it afresh, as a client
            // would reconnect.
            mirror = Mirror::new(phase);
        }

        // parse_request on the same bytes.
        let oob = phase == Oob;
        match (case.ours, Frame::parse(case.input)) {
            (NotJson, Err(_)) => {}
            (NotJson, Ok(_)) => failures.push(format!("{input}: the scanner accepts it")),
            (_, Err(e)) => failures.push(format!("{input}: not JSON to the scanner: {e}")),
            (Accepts, Ok(frame)) => {
                if let Err(refused) = parse_request(frame, oob) {
                    failures.push(format!("{input}: parse_request refuses it: {refused:?}"));
                }
            }
            (Agrees, Ok(frame)) => match parse_request(frame, oob) {
                Ok(request) => {
                    failures.push(format!("{input}: parse_request accepts it: {request:?}"))
                }
                Err(refused) => {
                    let ours = refused.error.to_string();
                    if ours != case.desc {
                        failures.push(format!(
                            "{input}: parse_request says {ours:?}, QEMU {:?}",
                            case.desc
                        ));
                    }
                    if refused.id.is_some() != case.id {
                        failures.push(format!(
                            "{input}: parse_request's id {:?}, QEMU echoes one: {}",
                            refused.id, case.id
                        ));
                    }
                }
            },
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn errors_before_negotiation() {
    check_errors(Greeting);
}

#[test]
fn errors_after_negotiation() {
    check_errors(Commands);
}

#[test]
fn errors_with_oob() {
    check_errors(Oob);
}

/// Where the Server (through `Server::feed`) and QEMU part, each asserted both ways:
/// QEMU reads single-quoted strings and the overlong `C0 80` and runs such a request,
/// which the strict framer refuses; QEMU quotes a long token whole, the Server its first
/// 64 bytes.
#[test]
fn server_differs_where_qemu_is_lenient_or_unbounded() {
    let mut qemu = qemu!(Monitor::Unix);
    let mut qmp = qemu.connect(BIG);
    qmp.negotiate(false);
    let mut mirror = Mirror::new(Commands);
    for input in [
        &b"{'execute':'query-status','id':'bad'}"[..],
        &b"{\"execute\":\"query-status\",\"id\":\"\xc0\x80\"}"[..],
    ] {
        qmp.send_raw(input);
        let marker = qmp.send(&QueryStatus);
        let exchange = qmp.reply_to(marker);
        let [ran] = &exchange.before[..] else {
            panic!("{exchange:?}")
        };
        assert!(ran.returned::<QueryStatus>().running, "QEMU runs it");
        let (ours, lines) = mirror.answer(input, &marker_command(marker), marker);
        assert_eq!(
            ours,
            Answer {
                class: GENERIC.to_owned(),
                desc: "JSON parse error, unexpected byte".to_owned(),
                id: false,
                replies: 1,
                marker: true,
            },
            "{lines:?}"
        );
    }

    let mut input = b"[\"".to_vec();
    input.extend(std::iter::repeat_n(b'a', 100));
    input.extend_from_slice(b"\xff]");
    qmp.send_raw(&input);
    let marker = qmp.send(&QueryStatus);
    let exchange = qmp.reply_to(marker);
    let descs: Vec<String> = exchange
        .before
        .iter()
        .map(|r| r.error().desc.to_string())
        .collect();
    let stray = |n: usize| format!("JSON parse error, stray '\"{}\u{FFFD}'", "a".repeat(n));
    let expecting = "JSON parse error, expecting value".to_owned();
    assert_eq!(descs, [stray(100), expecting.clone()]);
    let lines = mirror.feed(&[input, marker_command(marker)].concat());
    let ours: Vec<String> = lines[..2]
        .iter()
        .map(|line| {
            let Message::Error(error) = Message::parse(Frame::parse(line).unwrap()).unwrap() else {
                panic!("{}", String::from_utf8_lossy(line))
            };
            error.desc.to_string()
        })
        .collect();
    // The first 64 bytes of the token: the quote and 63 letters.
    let short = format!("JSON parse error, stray '\"{}'", "a".repeat(63));
    assert_eq!(ours, [short, expecting]);
    assert_eq!(lines.len(), 3, "and the marker's reply");
}

/// `encode::resync` (0xFF): QEMU answers one id-less error, dropping a half-sent
/// command with it, and the next command gets its own reply.
#[test]
fn resync_byte() {
    let mut qemu = qemu!(Monitor::Unix);
    let mut qmp = qemu.connect(BIG);
    qmp.negotiate(false);
    let mut byte = [0u8; 1];
    let mut sink = SliceSink::new(&mut byte);
    encode::resync(&mut sink).unwrap();
    let resync = sink.written().to_vec();
    assert_eq!(resync, [0xFF]);

    let mut mirror = Mirror::new(Commands);
    for (before, desc) in [
        (&b""[..], "JSON parse error, stray '\u{FFFD}'"),
        (
            &br#"{"execute":"query-st"#[..],
            "JSON parse error, stray '\"query-st\u{FFFD}'",
        ),
        (
            &br#"{"execute":"query-status","arguments":{"#[..],
            "JSON parse error, stray '\u{FFFD}'",
        ),
    ] {
        qmp.send_raw(before);
        qmp.send_raw(&resync);
        let exchange = qmp.execute(&QueryStatus);
        let [stray] = &exchange.before[..] else {
            panic!("one error expected: {exchange:?}")
        };
        let error = stray.error();
        assert_eq!(error.class, ErrorClass::GenericError);
        assert_eq!(error.desc.to_string(), desc);
        assert_eq!(error.id, None);
        assert!(exchange.reply.returned::<QueryStatus>().running);

        // A Server on the same bytes answers the same.
        let marker = exchange
            .reply
            .message()
            .id()
            .and_then(|i| i.as_u64())
            .unwrap();
        let mut input = before.to_vec();
        input.extend_from_slice(&resync);
        let (ours, lines) = mirror.answer(&input, &marker_command(marker), marker);
        let want = Answer {
            class: GENERIC.to_owned(),
            desc: desc.to_owned(),
            id: false,
            replies: 1,
            marker: true,
        };
        assert_eq!(ours, want, "{lines:?}");
    }
}

/// An argument nested 1100 levels deep (QEMU's limit is 1024): QEMU answers with a
/// stream of id-less errors as its parser recovers piece by piece, all of which frame
/// cleanly, and then the next command's reply.
#[test]
fn nesting_past_qemus_limit() {
    let mut qemu = qemu!(Monitor::Unix);
    let mut qmp = qemu.connect(BIG);
    qmp.negotiate(false);
    let depth = 1100;
    let mut input = br#"{"execute":"query-status","arguments":{"deep":"#.to_vec();
    input.extend(std::iter::repeat_n(b'[', depth));
    input.extend(std::iter::repeat_n(b']', depth));
    input.extend_from_slice(br#"},"id":"deep"}"#);
    qmp.send_raw(&input);
    let exchange = qmp.execute(&QueryStatus);
    assert!(exchange.reply.returned::<QueryStatus>().running);

    let mut descs = BTreeMap::<String, usize>::new();
    for reply in &exchange.before {
        let error = reply.error();
        assert_eq!(error.class, ErrorClass::GenericError, "{reply:?}");
        assert_eq!(error.id, None, "{reply:?}");
        *descs.entry(error.desc.to_string()).or_default() += 1;
    }
    // Recorded from QEMU 10.0.2: the limit cuts the message at depth 1025; the rest
    // comes through as fresh input, each stray bracket or scalar an error of its own.
    let recorded = BTreeMap::from([
        ("JSON nesting depth limit exceeded".to_owned(), 1),
        ("JSON parse error, expecting value".to_owned(), 1027),
        ("QMP input must be a JSON object".to_owned(), 3),
    ]);
    assert_eq!(descs, recorded, "{} errors", exchange.before.len());
    assert_eq!(exchange.before.len(), 1031);
    assert_eq!(
        exchange.before[0].error().desc.to_string(),
        "JSON nesting depth limit exceeded"
    );

    // A Server on the same bytes answers the same 1031 errors, in the same order.
    let marker = exchange
        .reply
        .message()
        .id()
        .and_then(|i| i.as_u64())
        .unwrap();
    let mut mirror = Mirror::new(Commands);
    let lines = mirror.feed(&[input, marker_command(marker)].concat());
    let qemu_descs: Vec<String> = exchange
        .before
        .iter()
        .map(|r| r.error().desc.to_string())
        .collect();
    let ours: Vec<String> = lines
        .iter()
        .take(lines.len() - 1)
        .map(|line| {
            let frame = Frame::parse(line).unwrap();
            let Message::Error(error) = Message::parse(frame).unwrap() else {
                panic!("{}", String::from_utf8_lossy(line))
            };
            assert_eq!(error.id, None);
            error.desc.to_string()
        })
        .collect();
    assert_eq!(ours, qemu_descs);
}

/// `stop`, `cont`, `system_reset` and `system_powerdown`: each one's event arrives
/// before the command's return, and decodes with `schema::Event`.
#[test]
fn run_state_events_precede_replies() {
    let mut qemu = qemu!(Monitor::Unix);
    let mut qmp = qemu.connect(BIG);
    qmp.negotiate(false);
    let mut last = (0, 0);
    let mut one_event = |exchange: &common::qemu::Exchange, name: &str| {
        let [event] = &exchange.before[..] else {
            panic!("one event before the reply expected: {exchange:?}")
        };
        assert!(event.offset < exchange.reply.offset);
        let (message, _) = event.event();
        assert_eq!(message.name, name);
        let ts = (message.timestamp.seconds, message.timestamp.microseconds);
        assert!(
            ts.0 > 1_600_000_000 && (0..1_000_000).contains(&ts.1),
            "{ts:?}"
        );
        assert!(ts >= last, "timestamps go forward");
        last = ts;
        event.clone()
    };

    let exchange = qmp.execute(&Stop);
    exchange.reply.returned::<Stop>();
    let event = one_event(&exchange, "STOP");
    assert_eq!(event.event().1, Event::Stop);
    let status = qmp.execute(&QueryStatus).reply;
    let status = status.returned::<QueryStatus>();
    assert_eq!((status.running, status.status), (false, RunState::Paused));

    let exchange = qmp.execute(&Cont);
    exchange.reply.returned::<Cont>();
    let event = one_event(&exchange, "RESUME");
    assert_eq!(event.event().1, Event::Resume);
    let status = qmp.execute(&QueryStatus).reply;
    assert!(status.returned::<QueryStatus>().running);

    let exchange = qmp.execute(&SystemReset);
    exchange.reply.returned::<SystemReset>();
    let event = one_event(&exchange, "RESET");
    let Event::Reset(reset) = event.event().1 else {
        panic!("{event:?}")
    };
    assert_eq!(reset.guest, Some(false));
    assert_eq!(reset.reason, Some(ShutdownCause::HostQmpSystemReset));

    let exchange = qmp.execute(&SystemPowerdown);
    exchange.reply.returned::<SystemPowerdown>();
    let event = one_event(&exchange, "POWERDOWN");
    assert_eq!(event.event().1, Event::Powerdown);
}

/// Re-encode a message compactly (`encode::message`): the same bytes for a message
/// whatever its layout on the wire.
fn compact(message: &Message<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; BIG];
    let n = encode::message_to_slice(message, &mut buf).expect("re-encoding");
    buf.truncate(n);
    buf
}

/// A pretty-printing monitor (`-mon …,pretty=on`) beside a compact one in the same
/// QEMU: the same conversation frames and parses to the same messages on both,
/// broadcast events included.
#[test]
fn pretty_monitor_frames_like_compact() {
    let mut qemu = qemu!(Monitor::Unix, |dir| vec![
        "-chardev".to_owned(),
        format!(
            "socket,id=pretty,path={},server=on,wait=off",
            dir.join("pretty.sock").display()
        ),
        "-mon".to_owned(),
        "chardev=pretty,mode=control,pretty=on".to_owned(),
    ]);
    let pretty_path = Endpoint::Unix(qemu.dir().join("pretty.sock"));
    let mut plain = qemu.connect(BIG);
    let mut pretty = qemu.connect_to(&pretty_path, BIG);

    let conversation = |qmp: &mut Qmp| {
        let mut got = vec![qmp.negotiate(false)];
        got.push(qmp.execute(&QueryStatus).reply);
        got.push(qmp.execute(&QueryVersion).reply);
        got.push(qmp.execute(&QueryCommands).reply);
        let id = qmp.send(&QmpCapabilities::default());
        got.push(qmp.reply_to(id).reply);
        qmp.send_raw(b"[1]");
        let exchange = qmp.execute(&QueryStatus);
        got.extend(exchange.before);
        got.push(exchange.reply);
        got
    };
    let on_plain = conversation(&mut plain);
    let on_pretty = conversation(&mut pretty);
    assert_eq!(on_plain.len(), 7);
    assert_eq!(on_pretty.len(), on_plain.len());
    for (p, q) in on_plain.iter().zip(&on_pretty) {
        assert!(!p.bytes.contains(&b'\n'), "compact: {p:?}");
        assert_eq!(compact(&p.message()), compact(&q.message()));
    }
    // Pretty mode: multi-line, two-space indents, no trailing spaces; `{}` stays.
    for q in &on_pretty[1..] {
        let text = std::str::from_utf8(&q.bytes).unwrap();
        assert!(text.contains("\n    \""), "pretty: {text}");
        assert!(!text.contains(" \n"), "pretty: {text}");
    }

    // An event reaches every monitor with the same timestamp.
    let exchange = pretty.execute(&Stop);
    let [stop_pretty] = &exchange.before[..] else {
        panic!("{exchange:?}")
    };
    assert!(stop_pretty.bytes.contains(&b'\n'));
    let stop_plain = plain.recv();
    assert_eq!(stop_plain.event().1, Event::Stop);
    assert_eq!(
        compact(&stop_plain.message()),
        compact(&stop_pretty.message())
    );
}

/// `-qmp tcp:127.0.0.1:PORT,server=on,wait=off` works as the unix socket does.
#[test]
fn tcp_monitor() {
    let mut qemu = qemu!(Monitor::Tcp);
    let Endpoint::Tcp(addr) = qemu.monitor().clone() else {
        unreachable!()
    };
    assert!(addr.ip().is_loopback());
    let mut qmp = qemu.connect(BIG);
    let greeting = qmp.negotiate(false);
    assert!(greeting.greeting().offers("oob"));
    assert_eq!(
        qmp.execute(&QueryVersion)
            .reply
            .returned::<QueryVersion>()
            .qemu
            .major,
        10
    );
    assert!(
        qmp.execute(&QueryStatus)
            .reply
            .returned::<QueryStatus>()
            .running
    );
    qmp.send_raw(br#"{"execute":"no-such-command","id":"bad"}"#);
    let error = qmp.recv();
    let error = error.error();
    assert_eq!(error.class, ErrorClass::CommandNotFound);
    assert_eq!(error.id.and_then(|id| id.as_str()), Some("bad"));
}

/// `-qmp tcp:localhost:PORT,server,wait=off`, the legacy option form (a bare `server`
/// flag without `=on`, and a host name rather than an IP): QEMU 10 still accepts it,
/// listens on loopback, and serves the greeting, negotiation and `query-status` as
/// with the current form ([`tcp_monitor`]).
#[test]
fn tcp_monitor_legacy_form() {
    let mut qemu = qemu!(Monitor::TcpLegacy);
    let Endpoint::Tcp(addr) = qemu.monitor().clone() else {
        unreachable!()
    };
    assert!(addr.ip().is_loopback(), "localhost resolved to {addr}");
    let mut qmp = qemu.connect(BIG);
    assert_eq!(
        qmp.stream().local_tcp_addr().map(|a| a.ip()),
        Some(addr.ip())
    );
    let greeting = qmp.negotiate(false);
    assert_eq!(greeting.offset, 0);
    assert!(greeting.greeting().offers("oob"));
    let status = qmp.execute(&QueryStatus);
    assert!(status.before.is_empty(), "{status:?}");
    let status = status.reply.returned::<QueryStatus>();
    assert!(status.running);
    assert_eq!(status.status, RunState::Running);
    // The legacy form draws no deprecation warning (or any other output) from QEMU 10.
    assert_eq!(qemu.stderr(), "");
}

/// `quit`: the SHUTDOWN event, then the return, then the end of the stream (EOF or
/// ECONNRESET), and QEMU exits with status 0.
#[test]
fn quit_ends_the_stream() {
    let mut qemu = qemu!(Monitor::Unix);
    let mut qmp = qemu.connect(BIG);
    qmp.negotiate(false);
    let exchange = qmp.execute(&Quit);
    exchange.reply.returned::<Quit>();
    // QEMU 10.0.2 sends the event first, as for every other run-state command.
    let [shutdown] = &exchange.before[..] else {
        panic!("SHUTDOWN before the return expected: {exchange:?}")
    };
    let Event::Shutdown(data) = shutdown.event().1 else {
        panic!("{shutdown:?}")
    };
    assert_eq!(data.guest, Some(false));
    assert_eq!(data.reason, Some(ShutdownCause::HostQmpQuit));
    match qmp.recv_or_closed() {
        Err(Closed::Eof | Closed::Reset) => {}
        Ok(more) => panic!("nothing expected after quit's return: {more:?}"),
    }
    let status = qemu.wait_exit();
    assert!(status.success(), "{status}");
}

/// Read events until `n` have arrived (no command is outstanding).
fn events(qmp: &mut Qmp, n: usize) -> Vec<common::qemu::Received> {
    (0..n).map(|_| qmp.recv()).collect()
}

/// `-vnc unix:PATH`: a client that reads the 12-byte RFB banner and hangs up gives
/// VNC_CONNECTED then VNC_DISCONNECTED.
#[test]
fn vnc_banner_only() {
    let mut qemu = qemu!(Monitor::Unix, |dir| vec![
        "-vnc".to_owned(),
        format!("unix:{}", dir.join("vnc.sock").display()),
    ]);
    let vnc_path = qemu.dir().join("vnc.sock");
    let mut qmp = qemu.connect(BIG);
    qmp.negotiate(false);

    let mut vnc = qemu.open(&Endpoint::Unix(vnc_path.clone()));
    let mut banner = [0u8; 12];
    vnc.read_exact_timeout(&mut banner).unwrap();
    assert_eq!(&banner, b"RFB 003.008\n");
    vnc.shutdown();
    drop(vnc);

    let got = events(&mut qmp, 2);
    let path = vnc_path.display().to_string();
    let Event::VncConnected(connected) = got[0].event().1 else {
        panic!("{got:?}")
    };
    let Event::VncDisconnected(disconnected) = got[1].event().1 else {
        panic!("{got:?}")
    };
    for server in [connected.server, disconnected.server] {
        assert_eq!(server.family, NetworkAddressFamily::Unix);
        assert_eq!(server.host, "");
        assert_eq!(server.service, path.as_str());
        assert_eq!(server.websocket, Some(false));
        assert!(server.auth.is_some_and(|a| a == "none"));
    }
    assert_eq!(connected.client.family, NetworkAddressFamily::Unix);
    assert_eq!(disconnected.client.family, NetworkAddressFamily::Unix);
    for client in [connected.client.host, connected.client.service] {
        assert_eq!(client, "");
    }
    for client in [disconnected.client.host, disconnected.client.service] {
        assert_eq!(client, "");
    }
}

/// `-vnc 127.0.0.1:N` (the first free display from 0) and a full RFB 3.8 handshake:
/// VNC_CONNECTED, VNC_INITIALIZED, VNC_DISCONNECTED, with the client's address and
/// port; `query-vnc` lists the client meanwhile.
#[test]
fn vnc_full_handshake() {
    let mut qemu = qemu!(Monitor::Unix, |_| vec![
        "-vnc".to_owned(),
        "127.0.0.1:0,to=99".to_owned(),
    ]);
    let mut qmp = qemu.connect(BIG);
    qmp.negotiate(false);
    let info = qmp.execute(&QueryVnc).reply;
    let info = info.returned::<QueryVnc>();
    assert!(info.enabled);
    assert_eq!(info.family, Some(NetworkAddressFamily::Ipv4));
    assert!(info.host.is_some_and(|h| h == "127.0.0.1"));
    assert!(info.clients.is_some_and(|c| c.is_empty()));
    let port: u16 = info.service.unwrap().to_string().parse().unwrap();
    assert!((5900..6000).contains(&port));
    let server_service = port.to_string();

    let mut vnc = qemu.open(&Endpoint::Tcp(([127, 0, 0, 1], port).into()));
    let client_service = vnc.local_tcp_addr().unwrap().port().to_string();
    rfb_handshake(&mut vnc);

    // While connected, query-vnc lists the client (the two events come first).
    let exchange = qmp.execute(&QueryVnc);
    let info = exchange.reply.returned::<QueryVnc>();
    let clients: Vec<_> = info.clients.unwrap().iter().map(Result::unwrap).collect();
    let [client] = &clients[..] else {
        panic!("{exchange:?}")
    };
    assert_eq!(client.service, client_service.as_str());
    assert_eq!(exchange.event_names(), ["VNC_CONNECTED", "VNC_INITIALIZED"]);

    vnc.shutdown();
    drop(vnc);
    let mut got = exchange.before;
    got.extend(events(&mut qmp, 1));
    let decoded: Vec<_> = got.iter().map(|r| r.event().1).collect();
    let [Event::VncConnected(connected), Event::VncInitialized(initialized), Event::VncDisconnected(disconnected)] =
        decoded[..]
    else {
        panic!("{got:?}")
    };
    for server in [connected.server, initialized.server, disconnected.server] {
        assert_eq!(server.family, NetworkAddressFamily::Ipv4);
        assert_eq!(server.host, "127.0.0.1");
        assert_eq!(server.service, server_service.as_str());
        assert_eq!(server.websocket, Some(false));
        assert!(server.auth.is_some_and(|a| a == "none"));
    }
    assert_eq!(connected.client.family, NetworkAddressFamily::Ipv4);
    assert_eq!(connected.client.host, "127.0.0.1");
    assert_eq!(connected.client.service, client_service.as_str());
    for client in [initialized.client, disconnected.client] {
        assert_eq!(client.family, NetworkAddressFamily::Ipv4);
        assert_eq!(client.host, "127.0.0.1");
        assert_eq!(client.service, client_service.as_str());
        assert_eq!(client.websocket, Some(false));
        assert_eq!((client.x509_dname, client.sasl_username), (None, None));
    }
}

/// The RFB 3.8 handshake up to ServerInit, with security type None.
fn rfb_handshake(vnc: &mut common::qemu::Stream) {
    use std::io::Write;
    let mut banner = [0u8; 12];
    vnc.read_exact_timeout(&mut banner).unwrap();
    assert_eq!(&banner, b"RFB 003.008\n");
    vnc.write_all(b"RFB 003.008\n").unwrap();
    let mut count = [0u8; 1];
    vnc.read_exact_timeout(&mut count).unwrap();
    let mut types = vec![0u8; count[0].into()];
    vnc.read_exact_timeout(&mut types).unwrap();
    assert!(types.contains(&1), "security types {types:?} lack None");
    vnc.write_all(&[1]).unwrap();
    let mut result = [0u8; 4];
    vnc.read_exact_timeout(&mut result).unwrap();
    assert_eq!(u32::from_be_bytes(result), 0, "SecurityResult");
    // ClientInit: shared.
    vnc.write_all(&[1]).unwrap();
    // ServerInit: width, height, pixel format (16), name length, name.
    let mut init = [0u8; 24];
    vnc.read_exact_timeout(&mut init).unwrap();
    let name_len = u32::from_be_bytes(init[20..24].try_into().unwrap());
    assert!(name_len < 1024, "name of {name_len} bytes");
    let mut name = vec![0u8; name_len as usize];
    vnc.read_exact_timeout(&mut name).unwrap();
}

/// `-spice port=P,addr=127.0.0.1,disable-ticketing=on` on a port that was free a moment
/// ago.
fn spice_args(port: u16) -> Vec<String> {
    vec![
        "-spice".to_owned(),
        format!("port={port},addr=127.0.0.1,disable-ticketing=on"),
    ]
}

/// Decode a received SPICE event and feed it to the session tracker; panics on
/// anything else or if the tracker refuses it.
fn track(sessions: &mut SpiceSessions<8>, received: &Received) -> SpiceOutcome {
    let (_, event) = received.event();
    sessions
        .handle(&event)
        .unwrap_or_else(|e| panic!("tracking {received:?}: {e}"))
        .unwrap_or_else(|| panic!("not a SPICE connection event: {received:?}"))
}

/// The client address the tracker should hold for our socket `local`.
fn spice_client(local: SocketAddr) -> SpiceClient {
    SpiceClient {
        family: AddressFamily::Ipv4,
        host: "127.0.0.1".try_into().unwrap(),
        port: Some(local.port().to_string().as_str().try_into().unwrap()),
    }
}

/// Check one end of a `SPICE_CONNECTED`/`SPICE_DISCONNECTED` event against the socket.
fn assert_spice_end(end: &SpiceBasicInfo<'_>, addr: SocketAddr) {
    assert_eq!(end.family, NetworkAddressFamily::Ipv4);
    assert_eq!(end.host, addr.ip().to_string().as_str());
    assert_eq!(
        end.port.and_then(|p| p.as_str()),
        Some(addr.port().to_string().as_str())
    );
}

/// A raw TCP connect and close on the SPICE port, with no link message: QEMU reports
/// SPICE_CONNECTED then SPICE_DISCONNECTED and nothing else (no SPICE_INITIALIZED),
/// with our socket's address as the client and P as the server; the session tracker
/// records a pending connection, then calls it abandoned, and holds no session.
#[test]
fn spice_connect_and_close() {
    let port = free_tcp_addr().port();
    let mut qemu = qemu!(Monitor::Unix, move |_| spice_args(port));
    let server: SocketAddr = (Ipv4Addr::LOCALHOST, port).into();
    let mut qmp = qemu.connect(BIG);
    qmp.negotiate(false);
    let mut sessions = SpiceSessions::<8>::new();

    let probe = qemu.open(&Endpoint::Tcp(server));
    let local = probe.local_tcp_addr().unwrap();
    probe.shutdown();
    drop(probe);

    let got = events(&mut qmp, 2);
    let decoded: Vec<_> = got.iter().map(|r| r.event().1).collect();
    let [Event::SpiceConnected(connected), Event::SpiceDisconnected(disconnected)] = decoded[..]
    else {
        panic!("{got:?}")
    };
    for (server_end, client_end) in [
        (connected.server, connected.client),
        (disconnected.server, disconnected.client),
    ] {
        assert_spice_end(&server_end, server);
        assert_spice_end(&client_end, local);
    }

    let client = spice_client(local);
    assert_eq!(
        track(&mut sessions, &got[0]),
        SpiceOutcome::Opened {
            client: client.clone()
        }
    );
    let connections: Vec<_> = sessions.connections().collect();
    assert_eq!(connections, [(&client, None)]);
    assert_eq!(sessions.sessions().count(), 0);
    assert_eq!(
        track(&mut sessions, &got[1]),
        SpiceOutcome::Abandoned { client }
    );
    assert!(sessions.is_empty());

    // Nothing else came: the next reply is not preceded by a SPICE_INITIALIZED.
    let exchange = qmp.execute(&QueryStatus);
    assert!(exchange.before.is_empty(), "{exchange:?}");
}

/// A SPICE main-channel link done by the test as a client does it (link message,
/// the server's RSA key, the ticket encrypted with RSA-OAEP(SHA-1), link result 0,
/// then SPICE_MSG_MAIN_INIT): QEMU reports SPICE_CONNECTED, SPICE_INITIALIZED and, once
/// the test hangs up, SPICE_DISCONNECTED. Their fields match reality (our socket's
/// address, server port P, ipv4, main channel 0, no TLS, auth "none", and the
/// connection id equal to the session id the main channel announced), as does
/// `query-spice`; the session tracker, fed every event in order, opens the session
/// with that client address and channel at SPICE_INITIALIZED and has nothing left after
/// SPICE_DISCONNECTED.
#[test]
fn spice_main_channel_link() {
    let port = free_tcp_addr().port();
    let mut qemu = qemu!(Monitor::Unix, move |_| spice_args(port));
    let server: SocketAddr = (Ipv4Addr::LOCALHOST, port).into();
    let mut qmp = qemu.connect(BIG);
    qmp.negotiate(false);
    let mut sessions = SpiceSessions::<8>::new();

    let mut link = qemu.open(&Endpoint::Tcp(server));
    let local = link.local_tcp_addr().unwrap();
    let session_id = spice_link_main(&mut link);
    // QEMU reports the u32 session id as a signed 32-bit integer.
    let connection_id = i64::from(session_id as i32);

    let got = events(&mut qmp, 2);
    let decoded: Vec<_> = got.iter().map(|r| r.event().1).collect();
    let [Event::SpiceConnected(connected), Event::SpiceInitialized(initialized)] = decoded[..]
    else {
        panic!("{got:?}")
    };
    assert_spice_end(&connected.server, server);
    assert_spice_end(&connected.client, local);
    let (s, c) = (initialized.server, initialized.client);
    assert_eq!(s.family, NetworkAddressFamily::Ipv4);
    assert_eq!(s.host, "127.0.0.1");
    assert_eq!(
        s.port.and_then(|p| p.as_str()),
        Some(port.to_string().as_str())
    );
    assert!(s.auth.is_some_and(|a| a == "none"), "{s:?}");
    assert_eq!(c.family, NetworkAddressFamily::Ipv4);
    assert_eq!(c.host, "127.0.0.1");
    assert_eq!(
        c.port.and_then(|p| p.as_str()),
        Some(local.port().to_string().as_str())
    );
    assert!(c.is_main());
    assert_eq!(
        (c.connection_id, c.channel_type, c.channel_id, c.tls),
        (connection_id, 1, 0, false)
    );

    let client = spice_client(local);
    assert_eq!(
        track(&mut sessions, &got[0]),
        SpiceOutcome::Opened {
            client: client.clone()
        }
    );
    assert_eq!(sessions.sessions().count(), 0);
    assert_eq!(
        track(&mut sessions, &got[1]),
        SpiceOutcome::Initialized {
            connection_id,
            client: client.clone(),
            tls: false
        }
    );
    let session = sessions
        .session(connection_id)
        .expect("the session is open");
    assert_eq!(session.client, &client);
    assert_eq!((session.tls, session.channels), (false, 0));
    assert_eq!(sessions.sessions().count(), 1);
    let connections: Vec<_> = sessions.connections().collect();
    let [(tracked, Some(channel))] = connections[..] else {
        panic!("{connections:?}")
    };
    assert_eq!(tracked, &client);
    assert!(channel.is_main());
    assert_eq!(
        channel,
        ChannelInfo {
            connection_id,
            channel_type: 1,
            channel_id: 0,
            tls: false
        }
    );

    // query-spice agrees while the link is up.
    let exchange = qmp.execute(&QuerySpice);
    assert!(exchange.before.is_empty(), "{exchange:?}");
    let info = exchange.reply.returned::<QuerySpice>();
    assert!(info.enabled);
    assert_eq!(info.port, Some(i64::from(port)));
    assert!(info.host.is_some_and(|h| h == "127.0.0.1"));
    assert!(info.auth.is_some_and(|a| a == "none"));
    let channels: Vec<_> = info.channels.unwrap().iter().map(Result::unwrap).collect();
    let [listed] = &channels[..] else {
        panic!("{:?}", exchange.reply)
    };
    assert_eq!(*listed, c);

    link.shutdown();
    drop(link);
    let [gone] = &events(&mut qmp, 1)[..] else {
        unreachable!()
    };
    let Event::SpiceDisconnected(disconnected) = gone.event().1 else {
        panic!("{gone:?}")
    };
    assert_spice_end(&disconnected.server, server);
    assert_spice_end(&disconnected.client, local);
    assert_eq!(
        track(&mut sessions, gone),
        SpiceOutcome::Closed {
            connection_id,
            client,
            channels_left: 0
        }
    );
    assert!(sessions.session(connection_id).is_none());
    assert!(sessions.is_empty());
}

/// How many VNC clients a burst holds open at once.
const BURST: usize = 100;

/// Every `HANDSHAKED`-th client of a burst does the full RFB handshake.
const HANDSHAKED: usize = 5;

/// `-vnc` options for a burst: QEMU's default limit of 32 concurrent clients
/// (`connections=`) is raised to [`BURST`]. Past the limit each new client makes QEMU
/// drop the oldest one still in the handshake (measured with QEMU 10.0.2: of 100
/// clients opened without a handshake, 68 were closed by QEMU at once; the events still
/// came 100 and 100). The sharing policy stays the default `allow-exclusive`: the
/// handshaked clients ask for a shared session, so none is dropped for exclusivity.
fn burst_options() -> String {
    format!("connections={BURST}")
}

/// One VNC event of a burst, decoded and reduced to what the checks compare.
#[derive(Clone, Debug, PartialEq, Eq)]
struct VncSeen {
    /// `VNC_CONNECTED`, `VNC_INITIALIZED` or `VNC_DISCONNECTED`.
    name: &'static str,
    /// The address family, the same for client and server.
    family: AddressFamily,
    /// The client's host and service (port), empty on a unix socket.
    client: (String, String),
    /// The server's service (port or socket path).
    server: String,
}

impl VncSeen {
    fn new(received: &Received) -> Self {
        let (name, client, server) = match received.event().1 {
            Event::VncConnected(e) => (
                "VNC_CONNECTED",
                (e.client.family, e.client.host, e.client.service),
                e.server,
            ),
            Event::VncInitialized(e) => (
                "VNC_INITIALIZED",
                (e.client.family, e.client.host, e.client.service),
                e.server,
            ),
            Event::VncDisconnected(e) => (
                "VNC_DISCONNECTED",
                (e.client.family, e.client.host, e.client.service),
                e.server,
            ),
            _ => panic!("a VNC event expected: {received:?}"),
        };
        let (family, host, service) = client;
        assert_eq!(family, server.family, "{received:?}");
        assert_eq!(server.websocket, Some(false), "{received:?}");
        Self {
            name,
            family: family.into(),
            client: (host.to_string(), service.to_string()),
            server: server.service.to_string(),
        }
    }
}

/// A burst of [`BURST`] VNC clients on `endpoint`, with QMP negotiated on `qmp`: the
/// clients connect one after the other and all stay open, every [`HANDSHAKED`]-th doing
/// the full RFB handshake and the others reading the banner; `query-vnc` then lists
/// all of them; then all are closed at once, and exactly the expected number of
/// events is read. Checks what holds on any transport (counts, order of phases,
/// nothing more after them) and returns the events and, per client in opening order,
/// its TCP port (none on a unix socket) and whether it was handshaked.
///
/// Each client waits for its banner (QEMU has accepted it) before the next one
/// connects: QEMU listens with a backlog of 1, so back-to-back TCP connects overflow
/// the accept queue and the kernel drops their SYNs, which are retried only after a
/// second (measured: 100 back-to-back connects took 45 s, almost all of it such waits).
fn vnc_burst(
    qemu: &mut Qemu,
    qmp: &mut Qmp,
    endpoint: &Endpoint,
) -> (Vec<VncSeen>, Vec<(Option<u16>, bool)>) {
    let mut clients = Vec::with_capacity(BURST);
    let mut opened = Vec::with_capacity(BURST);
    for i in 0..BURST {
        let mut vnc = qemu.open(endpoint);
        let handshaked = i % HANDSHAKED == 0;
        if handshaked {
            rfb_handshake(&mut vnc);
        } else {
            let mut banner = [0u8; 12];
            vnc.read_exact_timeout(&mut banner).unwrap();
            assert_eq!(&banner, b"RFB 003.008\n");
        }
        opened.push((vnc.local_tcp_addr().map(|a| a.port()), handshaked));
        clients.push(vnc);
    }
    let handshakes = opened.iter().filter(|(_, h)| *h).count();

    // All of them are open at once: QEMU lists every one.
    let exchange = qmp.execute(&QueryVnc);
    let info = exchange.reply.returned::<QueryVnc>();
    let listed = info.clients.expect("a client list").iter().count();
    assert_eq!(listed, BURST, "query-vnc while the burst is open");
    let mut got = exchange.before;

    for vnc in &clients {
        vnc.shutdown();
    }
    drop(clients);
    let want = 2 * BURST + handshakes;
    assert!(
        got.len() <= want,
        "{} events before query-vnc's reply",
        got.len()
    );
    let more = want - got.len();
    got.extend(events(qmp, more));
    let seen: Vec<VncSeen> = got.iter().map(VncSeen::new).collect();

    // None lost, none extra: nothing more arrives before the next reply.
    let exchange = qmp.execute(&QueryStatus);
    assert!(exchange.before.is_empty(), "after the burst: {exchange:?}");

    let count = |name| seen.iter().filter(|s| s.name == name).count();
    assert_eq!(count("VNC_CONNECTED"), BURST);
    assert_eq!(count("VNC_INITIALIZED"), handshakes);
    assert_eq!(count("VNC_DISCONNECTED"), BURST);
    // Every client was open before the first closed: the opening phase's events all
    // come before the first VNC_DISCONNECTED.
    let (open_phase, close_phase) = seen.split_at(BURST + handshakes);
    assert!(open_phase.iter().all(|s| s.name != "VNC_DISCONNECTED"));
    assert!(close_phase.iter().all(|s| s.name == "VNC_DISCONNECTED"));
    (seen, opened)
}

/// 100 VNC clients at once on `-vnc 127.0.0.1:N,connections=100` (see [`vnc_burst`]),
/// 20 of them handshaked: exactly 100 VNC_CONNECTED, 20 VNC_INITIALIZED and 100
/// VNC_DISCONNECTED, none lost; the VNC_CONNECTED events come in the order the clients
/// connected, and each client's port appears in one VNC_CONNECTED, then (if
/// handshaked) one VNC_INITIALIZED, then one VNC_DISCONNECTED, with the server's port
/// on all.
#[test]
fn vnc_burst_tcp() {
    let mut qemu = qemu!(Monitor::Unix, |_| vec![
        "-vnc".to_owned(),
        format!("127.0.0.1:0,to=99,{}", burst_options()),
    ]);
    let mut qmp = qemu.connect(BIG);
    qmp.negotiate(false);
    let info = qmp.execute(&QueryVnc).reply;
    let port: u16 = info
        .returned::<QueryVnc>()
        .service
        .unwrap()
        .to_string()
        .parse()
        .unwrap();
    let endpoint = Endpoint::Tcp((Ipv4Addr::LOCALHOST, port).into());

    let (seen, opened) = vnc_burst(&mut qemu, &mut qmp, &endpoint);
    for s in &seen {
        assert_eq!(s.family, AddressFamily::Ipv4, "{s:?}");
        assert_eq!(s.client.0, "127.0.0.1", "{s:?}");
        assert_eq!(s.server, port.to_string(), "{s:?}");
    }
    let connected: Vec<&str> = seen
        .iter()
        .filter(|s| s.name == "VNC_CONNECTED")
        .map(|s| s.client.1.as_str())
        .collect();
    let ports: Vec<String> = opened.iter().map(|(p, _)| p.unwrap().to_string()).collect();
    assert_eq!(connected, ports, "VNC_CONNECTED in connection order");
    for (port, handshaked) in &opened {
        let port = port.unwrap().to_string();
        let mine: Vec<(usize, &str)> = seen
            .iter()
            .enumerate()
            .filter(|(_, s)| s.client.1 == port)
            .map(|(i, s)| (i, s.name))
            .collect();
        let names: Vec<&str> = mine.iter().map(|(_, name)| *name).collect();
        if *handshaked {
            assert_eq!(
                names,
                ["VNC_CONNECTED", "VNC_INITIALIZED", "VNC_DISCONNECTED"],
                "client port {port}"
            );
        } else {
            assert_eq!(
                names,
                ["VNC_CONNECTED", "VNC_DISCONNECTED"],
                "client port {port}"
            );
        }
    }
}

/// The same burst on `-vnc unix:PATH,connections=100`: the same counts and phases, all
/// events naming the socket path as the server and no client address (QEMU reports
/// none for unix clients, so the events cannot be matched to clients one by one).
#[test]
fn vnc_burst_unix() {
    let mut qemu = qemu!(Monitor::Unix, |dir| vec![
        "-vnc".to_owned(),
        format!(
            "unix:{},{}",
            dir.join("vnc.sock").display(),
            burst_options()
        ),
    ]);
    let path = qemu.dir().join("vnc.sock");
    let mut qmp = qemu.connect(BIG);
    qmp.negotiate(false);

    let (seen, opened) = vnc_burst(&mut qemu, &mut qmp, &Endpoint::Unix(path.clone()));
    assert!(opened.iter().all(|(port, _)| port.is_none()));
    let path = path.display().to_string();
    for s in &seen {
        assert_eq!(s.family, AddressFamily::Unix, "{s:?}");
        assert_eq!(s.client, (String::new(), String::new()), "{s:?}");
        assert_eq!(s.server, path, "{s:?}");
    }
}
