//! Schema tests: real QEMU 10.0.2 captures checked field by field against serde_json,
//! historic documentation samples, open enums, errors, introspection, the SPICE
//! tracker and command encoding.

extern crate std;

use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

use serde_json::Value;

use super::commands::*;
use super::events::*;
use super::introspect::{JsonType, MetaType, SchemaInfo};
use super::spice::{AddressFamily, SpiceError, SpiceOutcome, SpiceSessions};
use super::*;
use crate::frame::Framer;
use crate::json::{JsonStr, Kind, RawJson};

// ---------------------------------------------------------------------------------
// Fixtures

/// Every capture received from QEMU 10.0.2 (`testdata/captures/*.rx.bin`).
const CAPTURES: &[(&str, &[u8])] = &[
    (
        "chardev_mon",
        include_bytes!("../../../testdata/captures/chardev_mon.rx.bin"),
    ),
    (
        "chardev_mon_pretty",
        include_bytes!("../../../testdata/captures/chardev_mon_pretty.rx.bin"),
    ),
    (
        "event_before_greeting",
        include_bytes!("../../../testdata/captures/event_before_greeting.rx.bin"),
    ),
    (
        "extras",
        include_bytes!("../../../testdata/captures/extras.rx.bin"),
    ),
    (
        "oob",
        include_bytes!("../../../testdata/captures/oob.rx.bin"),
    ),
    (
        "spice_events",
        include_bytes!("../../../testdata/captures/spice_events.rx.bin"),
    ),
    (
        "stdio",
        include_bytes!("../../../testdata/captures/stdio.rx.bin"),
    ),
    (
        "tcp",
        include_bytes!("../../../testdata/captures/tcp.rx.bin"),
    ),
    (
        "unix_basic",
        include_bytes!("../../../testdata/captures/unix_basic.rx.bin"),
    ),
    (
        "vnc_events",
        include_bytes!("../../../testdata/captures/vnc_events.rx.bin"),
    ),
    (
        "vnc_unix_events",
        include_bytes!("../../../testdata/captures/vnc_unix_events.rx.bin"),
    ),
];

/// The `query-qmp-schema` reply: `{"return": [...], "id": "schema"}`.
const SCHEMA_REPLY: &[u8] = include_bytes!("../../../testdata/captures/query-qmp-schema.json");

/// The event names with a typed variant.
const CATALOGUE: &[&str] = &[
    "SPICE_CONNECTED",
    "SPICE_INITIALIZED",
    "SPICE_DISCONNECTED",
    "SPICE_MIGRATE_COMPLETED",
    "VNC_CONNECTED",
    "VNC_INITIALIZED",
    "VNC_DISCONNECTED",
    "SHUTDOWN",
    "POWERDOWN",
    "RESET",
    "STOP",
    "RESUME",
    "SUSPEND",
    "WAKEUP",
    "GUEST_PANICKED",
    "DEVICE_DELETED",
    "BLOCK_JOB_COMPLETED",
    "BLOCK_JOB_READY",
    "BLOCK_JOB_CANCELLED",
    "BLOCK_JOB_ERROR",
    "JOB_STATUS_CHANGE",
    "MIGRATION",
    "BALLOON_CHANGE",
    "RTC_CHANGE",
    "WATCHDOG",
];

fn capture(name: &str) -> &'static [u8] {
    match CAPTURES.iter().find(|(n, _)| *n == name) {
        Some((_, bytes)) => bytes,
        None => panic!("no capture {name}"),
    }
}

/// The frames of a capture, found by the crate's framer (so pretty-printed captures
/// work too). Framing errors (the `inf` id in `extras`) are skipped.
fn frames(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut framer = Framer::new(vec![0u8; 256 * 1024]);
    let mut out = Vec::new();
    let mut rest = bytes;
    let drain = |framer: &mut Framer<Vec<u8>>, out: &mut Vec<Vec<u8>>| {
        while let Some(item) = framer.next() {
            if let Ok(frame) = item {
                out.push(frame.as_bytes().to_vec());
            }
        }
    };
    while !rest.is_empty() {
        let n = framer.push(rest);
        rest = &rest[n..];
        drain(&mut framer, &mut out);
        assert!(n > 0 || rest.is_empty(), "framer made no progress");
    }
    framer.finish();
    drain(&mut framer, &mut out);
    out
}

fn raw(text: &[u8]) -> RawJson<'_> {
    match RawJson::parse(text) {
        Ok(v) => v,
        Err(e) => panic!("{}: {e}", String::from_utf8_lossy(text)),
    }
}

fn value(text: &[u8]) -> Value {
    match serde_json::from_slice(text) {
        Ok(v) => v,
        Err(e) => panic!("{}: {e}", String::from_utf8_lossy(text)),
    }
}

/// Decode a whole event message (any member order, any whitespace).
fn decode_message(msg: RawJson<'_>) -> Result<Event<'_>, DecodeError> {
    let name = msg.get("event").and_then(|n| n.as_json_str());
    let name = name.unwrap_or_else(|| panic!("no event name in {msg}"));
    Event::decode_escaped(name, msg.get("data"))
}

fn ok<T, E: core::fmt::Debug>(r: Result<T, E>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("unexpected error {e:?}"),
    }
}

/// A `JsonStr` equals serde_json's string.
fn same_str(ours: JsonStr<'_>, theirs: &Value) {
    let Some(text) = theirs.as_str() else {
        panic!("{theirs} is not a string (ours {ours:?})");
    };
    assert!(ours == text, "{ours:?} != {text:?}");
}

/// An optional `JsonStr` equals serde_json's optional string.
fn same_opt_str(ours: Option<JsonStr<'_>>, theirs: &Value) {
    match ours {
        Some(s) => same_str(s, theirs),
        None => assert!(theirs.is_null(), "missing {theirs}"),
    }
}

/// An open enum equals serde_json's string, and is a known value.
fn same_enum(ours: Option<&'static str>, theirs: &Value) {
    assert!(ours.is_some(), "unknown enum value {theirs}");
    assert_eq!(ours, theirs.as_str());
}

fn same_opt_bool(ours: Option<bool>, theirs: &Value) {
    assert_eq!(ours, theirs.as_bool(), "{theirs}");
}

fn check_spice_basic(ours: &SpiceBasicInfo<'_>, theirs: &Value) {
    same_str(ours.host, &theirs["host"]);
    same_opt_str(ours.port, &theirs["port"]);
    same_enum(ours.family.as_str(), &theirs["family"]);
}

fn check_vnc_server(ours: &VncServerInfo<'_>, theirs: &Value) {
    same_str(ours.host, &theirs["host"]);
    same_str(ours.service, &theirs["service"]);
    same_enum(ours.family.as_str(), &theirs["family"]);
    same_opt_bool(ours.websocket, &theirs["websocket"]);
    same_opt_str(ours.auth, &theirs["auth"]);
}

fn check_vnc_basic(ours: &VncBasicInfo<'_>, theirs: &Value) {
    same_str(ours.host, &theirs["host"]);
    same_str(ours.service, &theirs["service"]);
    same_enum(ours.family.as_str(), &theirs["family"]);
    same_opt_bool(ours.websocket, &theirs["websocket"]);
}

fn check_vnc_client(ours: &VncClientInfo<'_>, theirs: &Value) {
    same_str(ours.host, &theirs["host"]);
    same_str(ours.service, &theirs["service"]);
    same_enum(ours.family.as_str(), &theirs["family"]);
    same_opt_bool(ours.websocket, &theirs["websocket"]);
    same_opt_str(ours.x509_dname, &theirs["x509_dname"]);
    same_opt_str(ours.sasl_username, &theirs["sasl_username"]);
}

fn check_spice_channel(ours: &SpiceChannel<'_>, theirs: &Value) {
    same_str(ours.host, &theirs["host"]);
    same_opt_str(ours.port, &theirs["port"]);
    same_enum(ours.family.as_str(), &theirs["family"]);
    assert_eq!(Some(ours.connection_id), theirs["connection-id"].as_i64());
    assert_eq!(Some(ours.channel_type), theirs["channel-type"].as_i64());
    assert_eq!(Some(ours.channel_id), theirs["channel-id"].as_i64());
    assert_eq!(Some(ours.tls), theirs["tls"].as_bool());
}

/// Compare a decoded event with serde_json's parse of the same message, field by field.
/// Returns false for variants this function does not cover.
fn check_event(ev: &Event<'_>, msg: &Value) -> bool {
    assert_eq!(Some(ev.name()), msg["event"].as_str());
    let data = &msg["data"];
    match ev {
        Event::SpiceConnected(e) => {
            check_spice_basic(&e.server, &data["server"]);
            check_spice_basic(&e.client, &data["client"]);
        }
        Event::SpiceDisconnected(e) => {
            check_spice_basic(&e.server, &data["server"]);
            check_spice_basic(&e.client, &data["client"]);
        }
        Event::SpiceInitialized(e) => {
            same_str(e.server.host, &data["server"]["host"]);
            same_opt_str(e.server.port, &data["server"]["port"]);
            same_enum(e.server.family.as_str(), &data["server"]["family"]);
            same_opt_str(e.server.auth, &data["server"]["auth"]);
            check_spice_channel(&e.client, &data["client"]);
        }
        Event::VncConnected(e) => {
            check_vnc_server(&e.server, &data["server"]);
            check_vnc_basic(&e.client, &data["client"]);
        }
        Event::VncInitialized(e) => {
            check_vnc_server(&e.server, &data["server"]);
            check_vnc_client(&e.client, &data["client"]);
        }
        Event::VncDisconnected(e) => {
            check_vnc_server(&e.server, &data["server"]);
            check_vnc_client(&e.client, &data["client"]);
        }
        Event::Shutdown(Shutdown { guest, reason }) | Event::Reset(Reset { guest, reason }) => {
            same_opt_bool(*guest, &data["guest"]);
            match reason {
                Some(r) => same_enum(r.as_str(), &data["reason"]),
                None => assert!(data["reason"].is_null()),
            }
        }
        Event::Stop | Event::Resume | Event::Powerdown | Event::Suspend | Event::Wakeup => {
            assert!(data.is_null(), "unexpected data {data}");
        }
        _ => return false,
    }
    true
}

// ---------------------------------------------------------------------------------
// Events from real captures

#[test]
fn every_capture_event_decodes_into_its_typed_variant() {
    let mut seen: Vec<String> = Vec::new();
    let mut count = 0;
    for (file, bytes) in CAPTURES {
        for frame in frames(bytes) {
            let msg = raw(&frame);
            if msg.get("event").is_none() {
                continue;
            }
            let ev = match decode_message(msg) {
                Ok(ev) => ev,
                Err(e) => panic!("{file}: {msg}: {e}"),
            };
            // The same through the message layer.
            match crate::message::Message::parse(msg) {
                Ok(crate::message::Message::Event(m)) => {
                    assert_eq!(Event::from_message(&m), Ok(ev));
                }
                other => panic!("{file}: {msg} classified as {other:?}"),
            }
            let name = ev.name();
            assert!(CATALOGUE.contains(&name), "{file}: uncatalogued {name}");
            assert!(ev.is_known(), "{file}: {name} came back Unknown");
            assert!(
                check_event(&ev, &value(&frame)),
                "{file}: {name} not checked"
            );
            seen.push(name.to_string());
            count += 1;
        }
    }
    for must in [
        "SPICE_CONNECTED",
        "SPICE_INITIALIZED",
        "SPICE_DISCONNECTED",
        "VNC_CONNECTED",
        "VNC_INITIALIZED",
        "VNC_DISCONNECTED",
        "SHUTDOWN",
        "STOP",
        "RESUME",
        "RESET",
        "POWERDOWN",
    ] {
        assert!(seen.iter().any(|s| s == must), "no {must} in the captures");
    }
    assert_eq!(count, 28, "events in the captures: {seen:?}");
}

#[test]
fn capture_events_also_decode_split_on_crlf() {
    // The brief's independent route: compact captures split on CRLF, event lines only.
    let mut n = 0;
    for (file, bytes) in CAPTURES {
        if file.contains("pretty") {
            continue;
        }
        for line in bytes.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if !line.windows(7).any(|w| w == b"\"event\"") || line.starts_with(b"{\"return\"") {
                continue;
            }
            let ev = ok(decode_message(raw(line)));
            assert!(ev.is_known());
            assert!(check_event(&ev, &value(line)));
            n += 1;
        }
    }
    assert_eq!(n, 27); // all but the pretty-printed SHUTDOWN
}

#[test]
fn capture_spice_events_in_detail() {
    let evs: Vec<Vec<u8>> = frames(capture("spice_events"))
        .into_iter()
        .filter(|f| raw(f).get("event").is_some())
        .collect();
    let Event::SpiceInitialized(init) = ok(decode_message(raw(&evs[3]))) else {
        panic!("4th event is not SPICE_INITIALIZED");
    };
    assert!(init.client.is_main());
    assert!(is_main_channel(&init.client));
    assert_eq!(init.client.kind(), SpiceChannelKind::Main);
    assert_eq!(init.client.connection_id, 1933299969);
    assert!(init.client.port.is_some_and(|p| p == "59206"));
    assert!(init.server.auth.is_some_and(|a| a == "none"));
    assert_eq!(init.server.family, NetworkAddressFamily::Ipv4);
    assert!(!init.client.tls);
    let Event::Shutdown(s) = ok(decode_message(raw(&evs[5]))) else {
        panic!("last event is not SHUTDOWN");
    };
    assert_eq!(s.guest, Some(false));
    assert_eq!(s.reason, Some(ShutdownCause::HostQmpQuit));
}

#[test]
fn capture_vnc_unix_events_have_empty_hosts() {
    let evs: Vec<Vec<u8>> = frames(capture("vnc_unix_events"))
        .into_iter()
        .filter(|f| raw(f).get("event").is_some())
        .collect();
    let Event::VncConnected(c) = ok(decode_message(raw(&evs[0]))) else {
        panic!("not VNC_CONNECTED");
    };
    assert_eq!(c.server.family, NetworkAddressFamily::Unix);
    assert!(c.server.service == "/run/vm/vnc.sock");
    assert!(c.client.host == "" && c.client.service == "");
    assert_eq!(c.client.websocket, Some(false));
}

// ---------------------------------------------------------------------------------
// Historic and documentation samples (the same as in testdata/samples)

/// `qemu/qemu QMP/qmp-events.txt` (≈1.2) and the current schema's doc examples.
const HISTORIC: &[&str] = &[
    r#"{ "event": "BALLOON_CHANGE",
    "data": { "actual": 944766976 },
    "timestamp": { "seconds": 1267020223, "microseconds": 435656 } }"#,
    r#"{ "event": "BLOCK_JOB_CANCELLED",
     "data": { "type": "stream", "device": "virtio-disk0",
               "len": 10737418240, "offset": 134217728,
               "speed": 0 },
     "timestamp": { "seconds": 1267061043, "microseconds": 959568 } }"#,
    r#"{ "event": "BLOCK_JOB_COMPLETED",
     "data": { "type": "stream", "device": "virtio-disk0",
               "len": 10737418240, "offset": 10737418240,
               "speed": 0 },
     "timestamp": { "seconds": 1267061043, "microseconds": 959568 } }"#,
    r#"{ "event": "BLOCK_JOB_ERROR",
    "data": { "device": "ide0-hd1",
              "operation": "write",
              "action": "stop" },
    "timestamp": { "seconds": 1265044230, "microseconds": 450486 } }"#,
    r#"{ "event": "BLOCK_JOB_READY",
    "data": { "device": "ide0-hd1" },
    "timestamp": { "seconds": 1265044230, "microseconds": 450486 } }"#,
    r#"{ "event": "DEVICE_DELETED",
  "data": { "device": "virtio-net-pci-0" },
  "timestamp": { "seconds": 1265044230, "microseconds": 450486 } }"#,
    r#"{ "event": "RESET",
    "timestamp": { "seconds": 1267041653, "microseconds": 9518 } }"#,
    r#"{ "event": "RESUME",
    "timestamp": { "seconds": 1271770767, "microseconds": 582542 } }"#,
    r#"{ "event": "RTC_CHANGE",
    "data": { "offset": 78 },
    "timestamp": { "seconds": 1267020223, "microseconds": 435656 } }"#,
    r#"{ "event": "SHUTDOWN",
    "timestamp": { "seconds": 1267040730, "microseconds": 682951 } }"#,
    r#"{ "timestamp": {"seconds": 1290688046, "microseconds": 388707},
  "event": "SPICE_CONNECTED",
  "data": {
    "server": { "port": "5920", "family": "ipv4", "host": "127.0.0.1"},
    "client": {"port": "52873", "family": "ipv4", "host": "127.0.0.1"}
}}"#,
    r#"{ "timestamp": {"seconds": 1290688046, "microseconds": 417172},
  "event": "SPICE_INITIALIZED",
  "data": {"server": {"auth": "spice", "port": "5921",
                      "family": "ipv4", "host": "127.0.0.1"},
           "client": {"port": "49004", "family": "ipv4", "channel-type": 3,
                      "connection-id": 1804289383, "host": "127.0.0.1",
                      "channel-id": 0, "tls": true}
}}"#,
    r#"{ "timestamp": {"seconds": 1290688046, "microseconds": 388707},
     "event": "SPICE_DISCONNECTED",
     "data": {
       "server": { "port": "5920", "family": "ipv4", "host": "127.0.0.1"},
       "client": {"port": "52873", "family": "ipv4", "host": "127.0.0.1"}
   }}"#,
    r#"{ "timestamp": {"seconds": 1290688046, "microseconds": 417172},
     "event": "SPICE_MIGRATE_COMPLETED" }"#,
    r#"{ "event": "STOP",
    "timestamp": { "seconds": 1267041730, "microseconds": 281295 } }"#,
    r#"{ "event": "SUSPEND",
     "timestamp": { "seconds": 1344456160, "microseconds": 309119 } }"#,
    r#"{ "event": "VNC_CONNECTED",
    "data": {
        "server": { "auth": "sasl", "family": "ipv4",
                    "service": "5901", "host": "0.0.0.0" },
        "client": { "family": "ipv4", "service": "58425",
                    "host": "127.0.0.1" } },
    "timestamp": { "seconds": 1262976601, "microseconds": 975795 } }"#,
    r#"{ "event": "VNC_DISCONNECTED",
    "data": {
        "server": { "auth": "sasl", "family": "ipv4",
                    "service": "5901", "host": "0.0.0.0" },
        "client": { "family": "ipv4", "service": "58425",
                    "host": "127.0.0.1", "sasl_username": "luiz" } },
    "timestamp": { "seconds": 1262976601, "microseconds": 975795 } }"#,
    r#"{ "event": "VNC_INITIALIZED",
      "data": {
           "server": { "auth": "sasl", "family": "ipv4", "websocket": false,
                       "service": "5901", "host": "0.0.0.0"},
           "client": { "family": "ipv4", "service": "46089", "websocket": false,
                       "host": "127.0.0.1", "sasl_username": "luiz" } },
      "timestamp": { "seconds": 1263475302, "microseconds": 150772 } }"#,
    r#"{ "event": "WATCHDOG",
     "data": { "action": "reset" },
     "timestamp": { "seconds": 1267061043, "microseconds": 959568 } }"#,
    r#"{ "event": "SHUTDOWN",
     "data": { "guest": true, "reason": "guest-shutdown" },
     "timestamp": { "seconds": 1267040730, "microseconds": 682951 } }"#,
    r#"{ "event": "POWERDOWN",
     "timestamp": { "seconds": 1267040730, "microseconds": 682951 } }"#,
    r#"{ "event": "RESET",
     "data": { "guest": false, "reason": "guest-reset" },
     "timestamp": { "seconds": 1267041653, "microseconds": 9518 } }"#,
    r#"{ "event": "WAKEUP",
     "timestamp": { "seconds": 1344522075, "microseconds": 745528 } }"#,
    r#"{ "event": "GUEST_PANICKED",
     "data": { "action": "pause" },
     "timestamp": { "seconds": 1648245231, "microseconds": 900001 } }"#,
    r#"{ "event": "BLOCK_JOB_READY",
     "data": { "device": "drive0", "type": "mirror", "speed": 0,
               "len": 2097152, "offset": 2097152 },
     "timestamp": { "seconds": 1265044230, "microseconds": 450486 } }"#,
    r#"{ "event": "DEVICE_DELETED",
     "data": { "device": "virtio-net-pci-0",
               "path": "/machine/peripheral/virtio-net-pci-0" },
     "timestamp": { "seconds": 1265044230, "microseconds": 450486 } }"#,
    r#"{"timestamp": {"seconds": 1432121972, "microseconds": 744001},
    "event": "MIGRATION",
    "data": {"status": "completed"} }"#,
];

#[test]
fn historic_samples_decode() {
    for sample in HISTORIC {
        let msg = raw(sample.as_bytes());
        let ev = match decode_message(msg) {
            Ok(ev) => ev,
            Err(e) => panic!("{sample}: {e}"),
        };
        assert!(ev.is_known(), "{sample}");
        // Where check_event covers the variant, compare with serde_json too.
        check_event(&ev, &value(sample.as_bytes()));
        match ev {
            Event::BalloonChange(b) => assert_eq!(b.actual, 944766976),
            Event::BlockJobCancelled(j) => {
                assert_eq!(j.kind, JobType::Stream);
                assert!(j.device == "virtio-disk0");
                assert_eq!((j.len, j.offset, j.speed), (10737418240, 134217728, 0));
            }
            Event::BlockJobCompleted(j) => {
                assert_eq!(j.kind, JobType::Stream);
                assert_eq!(j.offset, 10737418240);
                assert_eq!(j.error, None);
            }
            Event::BlockJobError(j) => {
                assert!(j.device == "ide0-hd1");
                assert_eq!(j.operation, IoOperationType::Write);
                assert_eq!(j.action, BlockErrorAction::Stop);
            }
            Event::BlockJobReady(j) if j.device == "ide0-hd1" => {
                assert_eq!((j.kind, j.len, j.offset, j.speed), (None, None, None, None));
            }
            Event::BlockJobReady(j) => {
                assert_eq!(j.kind, Some(JobType::Mirror));
                assert_eq!(j.len, Some(2097152));
            }
            Event::DeviceDeleted(d) => {
                assert!(d.device.is_some_and(|d| d == "virtio-net-pci-0"));
                if let Some(path) = d.path {
                    assert!(path == "/machine/peripheral/virtio-net-pci-0");
                }
            }
            Event::RtcChange(r) => {
                assert_eq!(r.offset, 78);
                assert_eq!(r.qom_path, None);
            }
            Event::SpiceInitialized(s) => {
                assert_eq!(s.client.kind(), SpiceChannelKind::Inputs);
                assert!(!s.client.is_main());
                assert!(s.client.tls);
                assert!(s.server.auth.is_some_and(|a| a == "spice"));
            }
            Event::VncConnected(v) => {
                assert_eq!(v.server.websocket, None);
                assert!(v.server.auth.is_some_and(|a| a == "sasl"));
            }
            Event::VncDisconnected(v) => {
                assert!(v.client.sasl_username.is_some_and(|u| u == "luiz"));
            }
            Event::Watchdog(w) => assert_eq!(w.action, WatchdogAction::Reset),
            Event::GuestPanicked(g) => {
                assert_eq!(g.action, GuestPanicAction::Pause);
                assert_eq!(g.info, None);
            }
            Event::Migration(m) => assert_eq!(m.status, MigrationStatus::Completed),
            Event::Shutdown(s) if s.guest.is_none() => assert_eq!(s.reason, None),
            Event::Shutdown(s) => assert_eq!(s.reason, Some(ShutdownCause::GuestShutdown)),
            Event::Reset(r) if r.guest.is_none() => assert_eq!(r.reason, None),
            Event::Reset(r) => assert_eq!(r.reason, Some(ShutdownCause::GuestReset)),
            _ => {}
        }
    }
}

#[test]
fn historic_watchdog_without_data_is_missing_data() {
    // qmp-events.txt's WAKEUP example is mislabelled WATCHDOG and has no data: a
    // WATCHDOG needs `action`, so this is reported, not guessed.
    let sample = r#"{ "event": "WATCHDOG",
     "timestamp": { "seconds": 1344522075, "microseconds": 745528 } }"#;
    assert_eq!(
        decode_message(raw(sample.as_bytes())).map_err(|e| e.kind),
        Err(DecodeErrorKind::MissingData { event: "WATCHDOG" })
    );
}

#[test]
fn downstream_spice_initialized_without_port_decodes() {
    let data = br#"{"server": {"auth": "spice", "family": "ipv4", "host": "10.0.0.1"},
        "client": {"family": "ipv4", "host": "10.0.0.2", "channel-type": 1,
                   "connection-id": 42, "channel-id": 0, "tls": false}}"#;
    let Event::SpiceInitialized(e) = ok(Event::decode("SPICE_INITIALIZED", Some(raw(data)))) else {
        panic!("not SPICE_INITIALIZED");
    };
    assert_eq!(e.client.port, None);
    assert_eq!(e.server.port, None);
    assert!(e.client.is_main());
}

#[test]
fn guest_panicked_union_decodes_flat() {
    let hv = br#"{"action": "run", "info": {"type": "hyper-v", "arg1": 1, "arg2": 18446744073709551615, "arg3": 3, "arg4": 4, "arg5": 5}}"#;
    let Event::GuestPanicked(g) = ok(Event::decode("GUEST_PANICKED", Some(raw(hv)))) else {
        panic!();
    };
    assert_eq!(g.action, GuestPanicAction::Run);
    let info = g.info.unwrap_or_else(|| panic!("no info"));
    assert_eq!(info.kind, GuestPanicInformationType::HyperV);
    assert_eq!(info.arg2, Some(u64::MAX));
    assert_eq!(info.core, None);
    let s390 = br#"{"action": "pause", "info": {"type": "s390", "core": 0, "psw-mask": 562956395872256, "psw-addr": 1024, "reason": "disabled-wait"}}"#;
    let Event::GuestPanicked(g) = ok(Event::decode("GUEST_PANICKED", Some(raw(s390)))) else {
        panic!();
    };
    let info = g.info.unwrap_or_else(|| panic!("no info"));
    assert_eq!(info.kind, GuestPanicInformationType::S390);
    assert_eq!(info.psw_mask, Some(562956395872256));
    assert_eq!(info.reason, Some(S390CrashReason::DisabledWait));
    // A branch added later (10.1's tdx) keeps its tag and loses nothing else.
    let tdx = br#"{"action": "pause", "info": {"type": "tdx", "error-code": 0, "message": "x", "gpa": 4096}}"#;
    let Event::GuestPanicked(g) = ok(Event::decode("GUEST_PANICKED", Some(raw(tdx)))) else {
        panic!();
    };
    assert!(
        matches!(g.info.map(|i| i.kind), Some(GuestPanicInformationType::Other(t)) if t == "tdx")
    );
}

#[test]
fn synthetic_events_cover_the_rest_of_the_catalogue() {
    let cases: &[(&str, &str)] = &[
        ("JOB_STATUS_CHANGE", r#"{"status": "null", "id": "job0"}"#),
        (
            "BLOCK_JOB_COMPLETED",
            r#"{"device": "j", "len": 1, "offset": 0, "speed": 0, "type": "commit", "error": "Input\/output error"}"#,
        ),
        (
            "RTC_CHANGE",
            r#"{"offset": -3600, "qom-path": "/machine/unattached/device[14]"}"#,
        ),
        (
            "DEVICE_DELETED",
            r#"{"path": "/machine/peripheral-anon/device[0]"}"#,
        ),
    ];
    for (name, data) in cases {
        let ev = ok(Event::decode(name, Some(raw(data.as_bytes()))));
        assert_eq!(ev.name(), *name);
        match ev {
            Event::JobStatusChange(j) => {
                assert_eq!(j.status, JobStatus::Null);
                assert!(j.id == "job0");
            }
            Event::BlockJobCompleted(j) => {
                assert_eq!(j.kind, JobType::Commit);
                let error = j.error.unwrap_or_else(|| panic!("no error"));
                assert!(error == "Input/output error");
                assert_eq!(error.as_str(), None); // escaped on the wire
                let mut buf = [0u8; 32];
                assert_eq!(error.unescape_into(&mut buf), Ok("Input/output error"));
            }
            Event::RtcChange(r) => {
                assert_eq!(r.offset, -3600);
                assert!(r
                    .qom_path
                    .is_some_and(|p| p == "/machine/unattached/device[14]"));
            }
            Event::DeviceDeleted(d) => assert_eq!(d.device, None),
            other => panic!("{other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------
// Open enums, unknown members, unknown events

#[test]
fn unknown_enum_values_and_extra_members_do_not_fail() {
    let data = br#"{"guest": true, "reason": "host-teleport", "__com.vendor_x": [1, {"y": null}], "z": -1.5e3}"#;
    let Event::Shutdown(s) = ok(Event::decode("SHUTDOWN", Some(raw(data)))) else {
        panic!();
    };
    let reason = s.reason.unwrap_or_else(|| panic!("no reason"));
    assert!(matches!(reason, ShutdownCause::Other(r) if r == "host-teleport"));
    assert!(!reason.is_known());
    assert_eq!(reason.as_str(), None);
    assert_eq!(reason.to_string(), "host-teleport");

    let Event::Migration(m) = ok(Event::decode(
        "MIGRATION",
        Some(raw(
            br#"{"status": "postcopy-device", "reason": "new in 2025"}"#,
        )),
    )) else {
        panic!();
    };
    assert!(matches!(m.status, MigrationStatus::Other(v) if v == "postcopy-device"));

    // Escaped values are decoded before matching.
    let Event::Watchdog(w) = ok(Event::decode(
        "WATCHDOG",
        Some(raw(br#"{"action": "inject\u002Dnmi"}"#)),
    )) else {
        panic!();
    };
    assert_eq!(w.action, WatchdogAction::InjectNmi);
    assert_eq!(w.action.to_string(), "inject-nmi");

    // A family this crate does not know, and QEMU's own `unknown`.
    let data = br#"{"server": {"port": "1", "family": "bluetooth", "host": "h"}, "client": {"port": "2", "family": "unknown", "host": "c"}}"#;
    let Event::SpiceConnected(c) = ok(Event::decode("SPICE_CONNECTED", Some(raw(data)))) else {
        panic!();
    };
    assert!(matches!(c.server.family, NetworkAddressFamily::Other(f) if f == "bluetooth"));
    assert_eq!(c.client.family, NetworkAddressFamily::Unknown);

    let status = ok(QueryStatus::decode_return(raw(
        br#"{"status": "hibernating", "running": false, "singlestep": false}"#,
    )));
    assert!(matches!(status.status, RunState::Other(s) if s == "hibernating"));
    assert_eq!(status.singlestep, Some(false));
}

#[test]
fn unknown_events_keep_name_and_data() {
    let data = raw(br#"{"device": "ide1-cd0", "tray-open": true}"#);
    let ev = ok(Event::decode("DEVICE_TRAY_MOVED", Some(data)));
    assert_eq!(
        ev,
        Event::Unknown {
            name: "DEVICE_TRAY_MOVED",
            data: Some(data)
        }
    );
    assert_eq!(ev.name(), "DEVICE_TRAY_MOVED");
    assert!(!ev.is_known());
    assert_eq!(
        ok(Event::decode("SUSPEND_DISK", None)),
        Event::Unknown {
            name: "SUSPEND_DISK",
            data: None
        }
    );
    // Unit events ignore data they do not expect.
    assert_eq!(ok(Event::decode("STOP", Some(data))), Event::Stop);
}

#[test]
fn escaped_event_names() {
    let name = raw(br#""ST\u004FP""#)
        .as_json_str()
        .unwrap_or_else(|| panic!());
    assert_eq!(ok(Event::decode_escaped(name, None)), Event::Stop);
    let name = raw(br#""X\u0041""#)
        .as_json_str()
        .unwrap_or_else(|| panic!());
    assert_eq!(
        ok(Event::decode_escaped(name, None)),
        Event::Unknown {
            name: r"X\u0041",
            data: None
        }
    );
    let long = format!("\"{}\\u0041\"", "A".repeat(100));
    let name = raw(long.as_bytes())
        .as_json_str()
        .unwrap_or_else(|| panic!());
    assert!(!ok(Event::decode_escaped(name, None)).is_known());
}

// ---------------------------------------------------------------------------------
// Errors

#[test]
fn bad_payloads_are_typed_errors() {
    use serde_json_core::de::Error as SjcError;
    use DecodeErrorKind::{DuplicateMember, InvalidMember, MissingMember, WrongKind};

    fn decode<'a>(name: &'a str, data: &'a str) -> Result<Event<'a>, DecodeErrorKind> {
        Event::decode(name, Some(raw(data.as_bytes()))).map_err(|e| e.kind)
    }
    assert_eq!(
        decode("SHUTDOWN", r#"{"guest": "yes"}"#),
        Err(InvalidMember {
            what: "SHUTDOWN",
            member: "guest",
            expected: Kind::Bool,
            found: Kind::String
        })
    );
    // Not an integer, or out of the member's range.
    let not_integer = |what, member| InvalidMember {
        what,
        member,
        expected: Kind::Number,
        found: Kind::Number,
    };
    assert_eq!(
        decode("BALLOON_CHANGE", r#"{"actual": 1.5}"#),
        Err(not_integer("BALLOON_CHANGE", "actual"))
    );
    assert_eq!(
        decode("BALLOON_CHANGE", r#"{"actual": 9223372036854775808}"#),
        Err(not_integer("BALLOON_CHANGE", "actual"))
    );
    assert_eq!(
        decode(
            "GUEST_PANICKED",
            r#"{"action": "pause", "info": {"type": "s390", "core": 4294967296}}"#
        ),
        Err(not_integer("GUEST_PANICKED", "core"))
    );
    assert_eq!(
        decode(
            "GUEST_PANICKED",
            r#"{"action": "pause", "info": {"type": "hyper-v", "arg1": -1}}"#
        ),
        Err(not_integer("GUEST_PANICKED", "arg1"))
    );
    assert_eq!(
        decode("SPICE_CONNECTED", "[]"),
        Err(WrongKind {
            what: "SPICE_CONNECTED",
            expected: Kind::Object,
            found: Kind::Array
        })
    );
    // A nested struct's member: the innermost name, attributed to the event.
    let server = r#""server": {"host": "h", "port": "1", "family": "ipv4"}"#;
    assert_eq!(
        decode(
            "SPICE_CONNECTED",
            &format!(r#"{{{server}, "client": {{"host": "c", "port": 59196, "family": "ipv4"}}}}"#)
        ),
        Err(InvalidMember {
            what: "SPICE_CONNECTED",
            member: "port",
            expected: Kind::String,
            found: Kind::Number
        })
    );
    assert_eq!(
        decode(
            "SPICE_CONNECTED",
            &format!(r#"{{{server}, "client": {{"host": "c", "port": "2"}}}}"#)
        ),
        Err(MissingMember {
            what: "SPICE_CONNECTED",
            member: "family"
        })
    );
    // `null` is an absent optional member, and a wrong value for a required one.
    assert_eq!(
        decode(
            "SPICE_CONNECTED",
            &format!(r#"{{{server}, "client": null}}"#)
        ),
        Err(InvalidMember {
            what: "SPICE_CONNECTED",
            member: "client",
            expected: Kind::Object,
            found: Kind::Null
        })
    );
    assert_eq!(
        decode("SHUTDOWN", r#"{"guest": null, "reason": null}"#),
        Ok(Event::Shutdown(Shutdown {
            guest: None,
            reason: None
        }))
    );
    assert_eq!(
        decode("JOB_STATUS_CHANGE", r#"{"id": null, "status": "running"}"#),
        Err(InvalidMember {
            what: "JOB_STATUS_CHANGE",
            member: "id",
            expected: Kind::String,
            found: Kind::Null
        })
    );
    // Required members missing.
    assert_eq!(
        decode("JOB_STATUS_CHANGE", r#"{"id": "j"}"#),
        Err(MissingMember {
            what: "JOB_STATUS_CHANGE",
            member: "status"
        })
    );
    // A member given twice, in any spelling, is refused (as serde did).
    for data in [
        r#"{"id": "a", "status": "running", "id": "b"}"#,
        r#"{"id": "a", "status": "running", "i\u0064": "b"}"#,
        r#"{"guest": null, "id": "a", "status": "running", "guest": true, "id": null}"#,
    ] {
        assert_eq!(
            decode("JOB_STATUS_CHANGE", data),
            Err(DuplicateMember {
                what: "JOB_STATUS_CHANGE",
                member: "id"
            })
        );
    }
    assert_eq!(
        Event::decode("MIGRATION", None).map_err(|e| e.kind),
        Err(DecodeErrorKind::MissingData { event: "MIGRATION" })
    );

    // Messages.
    let err = DecodeError::from(DecodeErrorKind::Invalid {
        what: "SHUTDOWN",
        error: DeserializeError {
            error: SjcError::InvalidType,
        },
    });
    assert_eq!(
        err.to_string(),
        "invalid SHUTDOWN: the value does not fit the type: Invalid type at byte 0"
    );
    assert!(core::error::Error::source(&err).is_some());
    assert_eq!(
        DecodeErrorKind::MissingData { event: "X" }.to_string(),
        "event X has no data"
    );
    assert_eq!(
        not_integer("BALLOON_CHANGE", "actual").to_string(),
        "invalid BALLOON_CHANGE: member `actual` is not an integer in range"
    );
    let err = decode("SHUTDOWN", r#"{"guest": "yes"}"#).err();
    assert_eq!(
        err.map(|e| e.to_string()).as_deref(),
        Some("invalid SHUTDOWN: member `guest`: expected Bool, found String")
    );
    assert_eq!(
        DuplicateMember {
            what: "X",
            member: "id"
        }
        .to_string(),
        "invalid X: member `id` repeated"
    );

    assert_eq!(
        QueryStatus::decode_return(raw(br#"{"running": 1, "status": "running"}"#)),
        Err(DecodeError::at(
            InvalidMember {
                what: "query-status",
                member: "running",
                expected: Kind::Bool,
                found: Kind::Number
            },
            12
        ))
    );
    assert_eq!(
        QueryVersion::decode_return(raw(
            br#"{"qemu": {"major": 10, "minor": 0}, "package": ""}"#
        )),
        // The nested object that lacks the member, counted from the outer value.
        Err(DecodeError::at(
            MissingMember {
                what: "query-version",
                member: "micro"
            },
            9
        ))
    );
    assert_eq!(
        Quit::decode_return(raw(b"[]")).map_err(|e| e.kind),
        Err(WrongKind {
            what: "quit",
            expected: Kind::Object,
            found: Kind::Array
        })
    );
    assert_eq!(
        QueryCommands::decode_return(raw(br#"{"name": "x"}"#)).map_err(|e| e.kind),
        Err(WrongKind {
            what: "query-commands",
            expected: Kind::Array,
            found: Kind::Object
        })
    );
    assert_eq!(
        HumanMonitorCommand::decode_return(raw(b"{}")).map_err(|e| e.kind),
        Err(WrongKind {
            what: "human-monitor-command",
            expected: Kind::String,
            found: Kind::Object
        })
    );
    assert_eq!(
        SchemaInfo::from_json(raw(br#"{"meta-type": "enum"}"#)).map_err(|e| e.kind),
        Err(MissingMember {
            what: "SchemaInfo",
            member: "name"
        })
    );
    assert!(MissingMember {
        what: "SchemaInfo",
        member: "name"
    }
    .to_string()
    .contains("`name`"));
}

#[test]
fn member_names_match_raw_first_then_unescaped() {
    // QEMU never escapes member names, but an escaped name still means the member.
    let data = br#"{"g\u0075est": true, "r\u0065ason": "host-qmp-quit", "\u0067": 1}"#;
    assert_eq!(
        Event::decode("SHUTDOWN", Some(raw(data))),
        Ok(Event::Shutdown(Shutdown {
            guest: Some(true),
            reason: Some(ShutdownCause::HostQmpQuit)
        }))
    );
    let data = br#"{"connection\u002did": 7, "host": "h", "family": "unix",
        "channel-type": 1, "channel-id": 0, "tls": true, "x\"y": {"host": 1}}"#;
    let channel = ok(SpiceChannel::from_json(raw(data)));
    assert_eq!(channel.connection_id, 7);
    assert_eq!(channel.port, None);
    assert!(channel.tls);
    // Names that only look alike do not match.
    assert_eq!(
        SpiceChannel::from_json(raw(
            br#"{"Host": "h", "family": "ipv4", "channel-type": 1, "connection-id": 2}"#
        )),
        Err(DecodeError::from(DecodeErrorKind::MissingMember {
            what: "SpiceChannel",
            member: "host"
        }))
    );
}

#[test]
fn deep_values_are_skipped_without_recursion() {
    let deep = |levels: usize| {
        format!(
            r#"{{"guest": true, "x": {}0{}}}"#,
            "[{\"a\": ".repeat(levels),
            "}]".repeat(levels)
        )
    };
    // Ignored members are skipped iteratively, however deep (within the scanner's
    // limit of 1024 levels).
    for levels in [1, MAX_DECODE_DEPTH, 500] {
        let data = deep(levels);
        assert_eq!(
            Event::decode("SHUTDOWN", Some(raw(data.as_bytes()))),
            Ok(Event::Shutdown(Shutdown {
                guest: Some(true),
                reason: None
            })),
            "{levels} levels"
        );
    }
    let max = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
    assert!(Event::decode("RESET", Some(raw(max.as_bytes()))).is_err());

    // `Deserialize` types still go through serde-json-core, which recurses: deeper
    // values are refused before it starts.
    #[derive(serde::Deserialize)]
    struct Guest {
        #[allow(dead_code)]
        guest: bool,
    }
    let fits = format!(
        r#"{{"guest": true, "x": {}0{}}}"#,
        "[".repeat(MAX_DECODE_DEPTH - 1),
        "]".repeat(MAX_DECODE_DEPTH - 1)
    );
    assert!(Guest::from_json(raw(fits.as_bytes())).is_ok());
    let too_deep = deep(MAX_DECODE_DEPTH);
    assert!(matches!(
        Guest::from_json(raw(too_deep.as_bytes())),
        Err(DecodeError {
            kind: DecodeErrorKind::TooDeep { .. },
            offset: 0
        })
    ));
    // Brackets inside strings do not count.
    let in_string = format!(
        r#"{{"guest": true, "x": "{}\"{}"}}"#,
        "[".repeat(100),
        "{".repeat(100)
    );
    assert!(Guest::from_json(raw(in_string.as_bytes())).is_ok());
    assert!(Event::decode("SHUTDOWN", Some(raw(in_string.as_bytes()))).is_ok());
}

// ---------------------------------------------------------------------------------
// Member order and layout (generated)

/// A small deterministic generator for the layout tests.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// How [`write_layout`] lays a payload out.
#[derive(Clone, Copy)]
struct Layout {
    /// Shuffle the members of every object.
    shuffle: bool,
    /// Whitespace between tokens, none to pretty.
    spaces: bool,
    /// Unknown members (with nested containers and tricky strings) between known ones.
    junk: bool,
}

const JUNK: &[&str] = &[
    r#"{"server": {"host": "}\"{", "port": [1, {"]": "["}]}}"#,
    r#"[[], {}, [{}], "\\", "x\"}"]"#,
    r#""a string with } and ] inside""#,
    "-1.5e-3",
    "null",
    "true",
    r#"{"client": {}, "data": [null]}"#,
];

/// Write `v` with the given layout; object member names are written as they are
/// (no escaping needed for the names in the payloads).
fn write_layout(v: &Value, layout: Layout, rng: &mut Lcg, out: &mut String) {
    let ws = |rng: &mut Lcg, out: &mut String| {
        if layout.spaces {
            out.push_str(["", " ", "\n  ", "\t", "\r\n"][rng.below(5)]);
        }
    };
    match v {
        Value::Object(members) => {
            let mut members: Vec<(String, Option<&Value>)> =
                members.iter().map(|(k, v)| (k.clone(), Some(v))).collect();
            if layout.shuffle {
                for i in (1..members.len()).rev() {
                    members.swap(i, rng.below(i + 1));
                }
            }
            if layout.junk {
                for n in 0..1 + rng.below(3) {
                    let at = rng.below(members.len() + 1);
                    members.insert(at, (format!("x-junk-{n}"), None));
                }
            }
            out.push('{');
            for (i, (key, value)) in members.iter().enumerate() {
                if i > 0 {
                    ws(rng, out);
                    out.push(',');
                }
                ws(rng, out);
                out.push_str(&serde_json::to_string(key).unwrap_or_default());
                ws(rng, out);
                out.push(':');
                ws(rng, out);
                match value {
                    Some(value) => write_layout(value, layout, rng, out),
                    None => out.push_str(JUNK[rng.below(JUNK.len())]),
                }
            }
            ws(rng, out);
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                ws(rng, out);
                write_layout(item, layout, rng, out);
            }
            ws(rng, out);
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Every catalogued event payload in the captures, and synthetic ones for the nested
/// union and the other catalogued shapes.
fn payloads() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (_, bytes) in CAPTURES {
        for frame in frames(bytes) {
            let msg = value(&frame);
            if let (Some(name), Some(data)) = (msg["event"].as_str(), msg.get("data")) {
                out.push((name.to_string(), data.clone()));
            }
        }
    }
    for (name, data) in [
        (
            "GUEST_PANICKED",
            r#"{"action": "run", "info": {"type": "hyper-v", "arg1": 1, "arg2": 2, "arg3": 3, "arg4": 4, "arg5": 5}}"#,
        ),
        (
            "GUEST_PANICKED",
            r#"{"action": "pause", "info": {"type": "s390", "core": 0, "psw-mask": 5, "psw-addr": 1024, "reason": "disabled-wait"}}"#,
        ),
        ("JOB_STATUS_CHANGE", r#"{"status": "null", "id": "job0"}"#),
        (
            "BLOCK_JOB_COMPLETED",
            r#"{"device": "j", "len": 1, "offset": 0, "speed": 0, "type": "commit", "error": "Input/output error"}"#,
        ),
        // Members this crate does not model, at both levels.
        (
            "SHUTDOWN",
            r#"{"x-vendor": {"a": [1]}, "guest": true, "reason": "guest-shutdown"}"#,
        ),
        (
            "VNC_CONNECTED",
            r#"{"server": {"auth": "none", "family": "ipv4", "service": "5900", "host": "127.0.0.1", "websocket": false, "x-new": 1}, "client": {"family": "ipv4", "service": "1", "host": "127.0.0.1", "websocket": false, "x-other": {"b": "}"}}}"#,
        ),
        (
            "SPICE_INITIALIZED",
            r#"{"server": {"auth": "spice", "port": "5900", "family": "ipv4", "host": "127.0.0.1"}, "client": {"port": "3", "family": "ipv6", "host": "::1", "connection-id": 7, "channel-type": 1, "channel-id": 0, "tls": true}}"#,
        ),
    ] {
        out.push((name.to_string(), value(data.as_bytes())));
    }
    out
}

#[test]
fn payloads_decode_the_same_in_any_member_order_and_layout() {
    let payloads = payloads();
    assert!(payloads.len() >= 25, "{} payloads", payloads.len());
    let mut rng = Lcg(0x5eed);
    let mut variants = 0;
    for (name, data) in &payloads {
        let plain = Layout {
            shuffle: false,
            spaces: false,
            junk: false,
        };
        let mut canonical = String::new();
        write_layout(data, plain, &mut rng, &mut canonical);
        let expected = Event::decode(name, Some(raw(canonical.as_bytes())));
        let expected = expected.unwrap_or_else(|e| panic!("{name} {canonical}: {e}"));
        assert!(expected.is_known(), "{name}");
        for round in 0..64 {
            let layout = Layout {
                shuffle: round % 2 == 1,
                spaces: round % 4 >= 2,
                junk: round % 8 >= 4,
            };
            let mut text = String::new();
            write_layout(data, layout, &mut rng, &mut text);
            assert_eq!(
                Event::decode(name, Some(raw(text.as_bytes()))),
                Ok(expected),
                "{name}: {text}"
            );
            variants += 1;
        }
    }
    assert!(variants >= 25 * 64);
}

/// `data` with its member `path` (object names) removed, or given twice (the copy at a
/// random place among its siblings).
fn edit_member(data: &Value, path: &[String], twice: bool, rng: &mut Lcg) -> String {
    fn edit(v: &Value, path: &[String], twice: bool, rng: &mut Lcg, out: &mut String) {
        let Value::Object(members) = v else {
            out.push_str(&v.to_string());
            return;
        };
        let mut list: Vec<(&String, &Value)> = members.iter().collect();
        if let [last] = path {
            let (_, value) = *list.iter().find(|(k, _)| *k == last).expect("member");
            if twice {
                let at = rng.below(list.len() + 1);
                list.insert(at, (last, value));
            } else {
                list.retain(|(k, _)| *k != last);
            }
        }
        out.push('{');
        for (i, (key, value)) in list.into_iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&serde_json::to_string(key).unwrap_or_default());
            out.push_str(": ");
            match path.split_first() {
                Some((first, rest)) if first == key && !rest.is_empty() => {
                    edit(value, rest, twice, rng, out)
                }
                _ => out.push_str(&value.to_string()),
            }
        }
        out.push('}');
    }
    let mut out = String::new();
    edit(data, path, twice, rng, &mut out);
    out
}

/// The paths of every non-null member of `v` (objects only).
fn member_paths(v: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    if let Value::Object(members) = v {
        for (key, value) in members {
            prefix.push(key.clone());
            if !value.is_null() {
                out.push(prefix.clone());
            }
            member_paths(value, prefix, out);
            prefix.pop();
        }
    }
}

#[test]
fn a_known_member_given_twice_anywhere_is_refused() {
    let mut rng = Lcg(0xd0b1e);
    let (mut known, mut ignored) = (0, 0);
    for (name, data) in payloads() {
        let text = data.to_string();
        let expected = Event::decode(&name, Some(raw(text.as_bytes())));
        let mut paths = Vec::new();
        member_paths(&data, &mut Vec::new(), &mut paths);
        for path in paths {
            // A member the decoder reads changes the result when it is removed.
            let without = edit_member(&data, &path, false, &mut rng);
            let reads = Event::decode(&name, Some(raw(without.as_bytes()))) != expected;
            let twice = edit_member(&data, &path, true, &mut rng);
            let got = Event::decode(&name, Some(raw(twice.as_bytes())));
            let last = path.last().map(String::as_str).unwrap_or_default();
            if reads {
                assert!(
                    matches!(got, Err(DecodeError { kind: DecodeErrorKind::DuplicateMember { member, .. }, .. }) if member == last),
                    "{name}: {twice}: {got:?}"
                );
                known += 1;
            } else {
                assert_eq!(got.is_ok(), expected.is_ok(), "{name}: {twice}");
                ignored += 1;
            }
        }
    }
    assert!(known > 100, "{known} known members checked");
    assert!(ignored > 0, "{ignored} ignored members checked");
}

#[test]
fn no_panics_on_odd_payloads() {
    let odd: &[&[u8]] = &[
        b"null",
        b"true",
        b"0",
        b"-1",
        b"1e400",
        b"18446744073709551616",
        b"\"\"",
        b"\"\\u0000\"",
        b"[]",
        b"{}",
        b"[{}]",
        br#"{"server": null, "client": null}"#,
        br#"{"server": {}, "client": {}}"#,
        br#"{"server": {"host": 1, "port": [], "family": {}}, "client": "x"}"#,
        br#"{"type": {}, "device": [], "len": "1", "offset": null, "speed": 1e3}"#,
        br#"{"action": 5, "info": {"type": null}}"#,
        br#"{"status": ["running"], "id": {"a": 1}}"#,
        br#"{"guest": null, "reason": null}"#,
        br#"{"actual": -9223372036854775809}"#,
        br#"{"offset": 9223372036854775807, "qom-path": "\ud83d\ude00"}"#,
        br#"{"name": "a", "name": "b", "meta-type": "event", "meta-type": 1}"#,
        br#"{"a\"b": "\\", "\u00e9": "\u00E9"}"#,
    ];
    let mut spice = SpiceSessions::<2>::new();
    let mut values: Vec<Vec<u8>> = odd.iter().map(|b| b.to_vec()).collect();
    for (_, bytes) in CAPTURES {
        for f in frames(bytes) {
            let msg = raw(&f);
            for (_, v) in msg.members() {
                values.push(v.as_bytes().to_vec());
                for (_, w) in v.members() {
                    values.push(w.as_bytes().to_vec());
                }
            }
        }
    }
    for v in &values {
        let data = raw(v);
        for name in CATALOGUE {
            let _ = Event::decode(name, Some(data));
            if let Ok(ev) = Event::decode(name, Some(data)) {
                let _ = spice.handle(&ev);
            }
        }
        let _ = QueryStatus::decode_return(data);
        let _ = QueryVersion::decode_return(data);
        let _ = QueryName::decode_return(data);
        let _ = QuerySpice::decode_return(data).map(|s| s.channels.map(|c| c.iter().count()));
        let _ = QueryVnc::decode_return(data).map(|s| s.clients.map(|c| c.iter().count()));
        let _ = QueryCommands::decode_return(data).map(|l| l.iter().count());
        let _ = HumanMonitorCommand::decode_return(data);
        if let Ok(schema) = QueryQmpSchema::decode_return(data) {
            let _ = schema.get("x");
        }
        if let Ok(info) = SchemaInfo::from_json(data) {
            exercise(&info);
        }
    }
}

/// Call every accessor of a schema entry.
fn exercise(info: &SchemaInfo<'_>) -> usize {
    let mut n = info.features().count();
    n += info.json_type().is_some() as usize;
    n += info
        .enum_members()
        .map(|m| m.features().count())
        .sum::<usize>();
    n += info.element_type().is_some() as usize;
    n += info
        .object_members()
        .map(|m| m.features().count())
        .sum::<usize>();
    n += info.tag().is_some() as usize;
    n += info.variants().count();
    n += info.alternate_members().count();
    n += info.arg_type().is_some() as usize;
    n += info.ret_type().is_some() as usize;
    n += info.allow_oob() as usize;
    n
}

// ---------------------------------------------------------------------------------
// Introspection

fn schema_reply() -> RawJson<'static> {
    let reply = raw(SCHEMA_REPLY);
    reply.get("return").unwrap_or_else(|| panic!("no return"))
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn query_qmp_schema_iterates_completely_and_matches_serde_json() {
    let schema = ok(QueryQmpSchema::decode_return(schema_reply()));
    let theirs = value(SCHEMA_REPLY);
    let theirs = theirs["return"]
        .as_array()
        .unwrap_or_else(|| panic!("no array"));
    assert_eq!(schema.len(), theirs.len());
    assert_eq!(schema.len(), 1172);

    let mut counts: Vec<(String, usize)> = Vec::new();
    let mut n = 0;
    for (info, t) in schema.iter().zip(theirs) {
        let info = ok(info);
        n += 1;
        let meta = info
            .meta_type()
            .as_str()
            .unwrap_or_else(|| panic!("unknown meta-type in {info:?}"));
        assert_eq!(Some(meta), t["meta-type"].as_str());
        match counts.iter_mut().find(|(m, _)| m == meta) {
            Some((_, c)) => *c += 1,
            None => counts.push((meta.to_string(), 1)),
        }
        same_str(info.name(), &t["name"]);
        let features: Vec<JsonStr<'_>> = info.features().collect();
        assert_eq!(features.len(), strs(&t["features"]).len());
        for (ours, theirs) in features.iter().zip(strs(&t["features"])) {
            assert!(*ours == theirs);
        }
        match info.meta_type() {
            MetaType::Builtin => {
                let jt = info.json_type().unwrap_or_else(|| panic!("{info:?}"));
                same_enum(jt.as_str(), &t["json-type"]);
            }
            MetaType::Enum => {
                let ours: Vec<JsonStr<'_>> = info.enum_members().map(|m| m.name).collect();
                let members = t["members"].as_array().unwrap_or_else(|| panic!());
                assert_eq!(ours.len(), members.len());
                for (o, m) in ours.iter().zip(members) {
                    same_str(*o, &m["name"]);
                }
                assert_eq!(strs(&t["values"]).len(), ours.len());
                let with_features: usize = info.enum_members().map(|m| m.features().count()).sum();
                let theirs: usize = members.iter().map(|m| strs(&m["features"]).len()).sum();
                assert_eq!(with_features, theirs);
            }
            MetaType::Array => same_opt_str(info.element_type(), &t["element-type"]),
            MetaType::Object => {
                let members = t["members"].as_array().unwrap_or_else(|| panic!());
                let ours: Vec<_> = info.object_members().collect();
                assert_eq!(ours.len(), members.len());
                for (o, m) in ours.iter().zip(members) {
                    same_str(o.name, &m["name"]);
                    same_str(o.type_name, &m["type"]);
                    assert_eq!(o.optional, m.get("default").is_some());
                    assert_eq!(o.features().count(), strs(&m["features"]).len());
                }
                same_opt_str(info.tag(), &t["tag"]);
                let variants: Vec<_> = info.variants().collect();
                let tv = t["variants"].as_array().map(Vec::as_slice).unwrap_or(&[]);
                assert_eq!(variants.len(), tv.len());
                for (o, v) in variants.iter().zip(tv) {
                    same_str(o.case, &v["case"]);
                    same_str(o.type_name, &v["type"]);
                }
            }
            MetaType::Alternate => {
                let ours: Vec<_> = info.alternate_members().collect();
                let members = t["members"].as_array().unwrap_or_else(|| panic!());
                assert_eq!(ours.len(), members.len());
                for (o, m) in ours.iter().zip(members) {
                    same_str(*o, &m["type"]);
                }
            }
            MetaType::Command => {
                same_opt_str(info.arg_type(), &t["arg-type"]);
                same_opt_str(info.ret_type(), &t["ret-type"]);
                assert_eq!(info.allow_oob(), t["allow-oob"].as_bool().unwrap_or(false));
            }
            MetaType::Event => same_opt_str(info.arg_type(), &t["arg-type"]),
            other => panic!("unknown meta-type {other:?}"),
        }
        // Accessors of other meta-types are empty.
        if info.meta_type() != MetaType::Object {
            assert_eq!(info.object_members().count(), 0);
            assert_eq!(info.tag(), None);
        }
        if info.meta_type() != MetaType::Command {
            assert!(!info.allow_oob());
            assert_eq!(info.ret_type(), None);
        }
        exercise(&info);
    }
    assert_eq!(n, theirs.len());

    let mut expected: Vec<(String, usize)> = Vec::new();
    for t in theirs {
        let meta = t["meta-type"].as_str().unwrap_or_default();
        match expected.iter_mut().find(|(m, _)| m == meta) {
            Some((_, c)) => *c += 1,
            None => expected.push((meta.to_string(), 1)),
        }
    }
    counts.sort();
    expected.sort();
    assert_eq!(counts, expected);
    assert_eq!(counts.len(), 7);
}

#[test]
fn legacy_enum_values_and_oob_commands() {
    let legacy = raw(br#"{"name": "5", "meta-type": "enum", "values": ["a", "b\u0021"]}"#);
    let info = ok(SchemaInfo::from_json(legacy));
    let names: Vec<_> = info.enum_members().map(|m| m.name).collect();
    assert_eq!(names.len(), 2);
    assert!(names[1] == "b!");
    assert_eq!(
        info.enum_members()
            .map(|m| m.features().count())
            .sum::<usize>(),
        0
    );
    let future = ok(SchemaInfo::from_json(raw(
        br#"{"name": "x", "meta-type": "module", "features": ["unstable"]}"#,
    )));
    assert!(matches!(future.meta_type(), MetaType::Other(m) if m == "module"));
    assert!(future.has_feature("unstable"));
    assert_eq!(exercise(&future), 1);

    let schema = ok(QueryQmpSchema::decode_return(schema_reply()));
    let oob: Vec<String> = schema
        .iter()
        .flatten()
        .filter(SchemaInfo::allow_oob)
        .map(|i| i.name().to_string())
        .collect();
    assert_eq!(
        oob,
        ["migrate-recover", "migrate-pause", "yank", "query-yank"]
    );
    let str_type = ok(schema.get("str").ok_or("no str"));
    assert_eq!(str_type.json_type(), Some(JsonType::String));
    assert!(schema.command("SHUTDOWN").is_none());
    assert!(schema.event("SHUTDOWN").is_some());
    let hmp = ok(schema.command("human-monitor-command").ok_or("no hmp"));
    assert!(hmp.has_feature("savevm-monitor-nodes"));
}

/// The enum type of member `member` of the object type `object`.
fn member_enum<'a>(schema: &Schema<'a>, object: JsonStr<'a>, member: &str) -> SchemaInfo<'a> {
    let object = ok(schema.get(object.raw()).ok_or("no object type"));
    let m = object
        .object_members()
        .find(|m| m.name == member)
        .unwrap_or_else(|| panic!("no member {member} in {object:?}"));
    let mut t = ok(schema.get(m.type_name.raw()).ok_or("no member type"));
    if let Some(element) = t.element_type() {
        t = ok(schema.get(element.raw()).ok_or("no element type"));
    }
    assert_eq!(t.meta_type(), MetaType::Enum, "{member}");
    t
}

#[test]
fn every_schema_enum_value_is_known() {
    let schema = ok(QueryQmpSchema::decode_return(schema_reply()));
    let event_arg = |name: &str| {
        let ev = schema
            .event(name)
            .unwrap_or_else(|| panic!("no event {name}"));
        ev.arg_type().unwrap_or_else(|| panic!("no arg-type"))
    };
    let command = |name: &str| schema.command(name).unwrap_or_else(|| panic!("no {name}"));
    let known = |info: SchemaInfo<'_>, check: &dyn Fn(JsonStr<'_>) -> bool| {
        let mut n = 0;
        for m in info.enum_members() {
            assert!(check(m.name), "{:?} not known", m.name);
            n += 1;
        }
        assert!(n > 0);
        n
    };
    type Check = dyn Fn(JsonStr<'_>) -> bool;
    let cases: &[(&str, &str, &Check)] = &[
        ("SHUTDOWN", "reason", &|v| {
            ShutdownCause::from_json_str(v).is_known()
        }),
        ("RESET", "reason", &|v| {
            ShutdownCause::from_json_str(v).is_known()
        }),
        ("WATCHDOG", "action", &|v| {
            WatchdogAction::from_json_str(v).is_known()
        }),
        ("GUEST_PANICKED", "action", &|v| {
            GuestPanicAction::from_json_str(v).is_known()
        }),
        ("JOB_STATUS_CHANGE", "status", &|v| {
            JobStatus::from_json_str(v).is_known()
        }),
        ("BLOCK_JOB_COMPLETED", "type", &|v| {
            JobType::from_json_str(v).is_known()
        }),
        ("MIGRATION", "status", &|v| {
            MigrationStatus::from_json_str(v).is_known()
        }),
        ("BLOCK_JOB_ERROR", "operation", &|v| {
            IoOperationType::from_json_str(v).is_known()
        }),
        ("BLOCK_JOB_ERROR", "action", &|v| {
            BlockErrorAction::from_json_str(v).is_known()
        }),
    ];
    for (event, member, check) in cases {
        known(member_enum(&schema, event_arg(event), member), *check);
    }
    // Nested types: SPICE/VNC families, the panic-information union and its s390 branch.
    let spice = ok(schema
        .get(event_arg("SPICE_INITIALIZED").raw())
        .ok_or("no type"));
    let server = ok(spice
        .object_members()
        .find(|m| m.name == "server")
        .ok_or("no server"));
    known(member_enum(&schema, server.type_name, "family"), &|v| {
        NetworkAddressFamily::from_json_str(v).is_known()
    });
    let panicked = ok(schema
        .get(event_arg("GUEST_PANICKED").raw())
        .ok_or("no type"));
    let info = ok(panicked
        .object_members()
        .find(|m| m.name == "info")
        .ok_or("no info"));
    let union = ok(schema.get(info.type_name.raw()).ok_or("no union"));
    assert!(union.tag().is_some_and(|t| t == "type"));
    known(member_enum(&schema, info.type_name, "type"), &|v| {
        GuestPanicInformationType::from_json_str(v).is_known()
    });
    let s390 = ok(union.variants().find(|v| v.case == "s390").ok_or("no s390"));
    known(member_enum(&schema, s390.type_name, "reason"), &|v| {
        S390CrashReason::from_json_str(v).is_known()
    });
    let hyperv = ok(union
        .variants()
        .find(|v| v.case == "hyper-v")
        .ok_or("no hyper-v"));
    let hyperv = ok(schema.get(hyperv.type_name.raw()).ok_or("no hyper-v type"));
    let args: Vec<_> = hyperv
        .object_members()
        .map(|m| m.name.to_string())
        .collect();
    assert_eq!(args, ["arg1", "arg2", "arg3", "arg4", "arg5"]);
    // Command return and argument enums.
    let status = command("query-status")
        .ret_type()
        .unwrap_or_else(|| panic!());
    known(member_enum(&schema, status, "status"), &|v| {
        RunState::from_json_str(v).is_known()
    });
    let spice = command("query-spice")
        .ret_type()
        .unwrap_or_else(|| panic!());
    known(member_enum(&schema, spice, "mouse-mode"), &|v| {
        SpiceQueryMouseMode::from_json_str(v).is_known()
    });
    let caps = command("qmp_capabilities")
        .arg_type()
        .unwrap_or_else(|| panic!());
    known(member_enum(&schema, caps, "enable"), &|v| v == "oob");
    let dump = command("screendump").arg_type().unwrap_or_else(|| panic!());
    let formats = known(member_enum(&schema, dump, "format"), &|v| {
        [ImageFormat::Ppm, ImageFormat::Png]
            .iter()
            .any(|f| serde_json::to_string(f).ok() == Some(format!("\"{}\"", v)))
    });
    assert_eq!(formats, 2);
}

#[test]
fn event_payload_members_match_the_schema() {
    // Every member the 10.0.2 schema declares for a catalogued event is a field we
    // decode (SPICE/VNC nested structs are checked through their events above).
    let fields: &[(&str, &[&str])] = &[
        ("SHUTDOWN", &["guest", "reason"]),
        ("RESET", &["guest", "reason"]),
        ("GUEST_PANICKED", &["action", "info"]),
        ("DEVICE_DELETED", &["device", "path"]),
        (
            "BLOCK_JOB_COMPLETED",
            &["type", "device", "len", "offset", "speed", "error"],
        ),
        (
            "BLOCK_JOB_READY",
            &["type", "device", "len", "offset", "speed"],
        ),
        (
            "BLOCK_JOB_CANCELLED",
            &["type", "device", "len", "offset", "speed"],
        ),
        ("BLOCK_JOB_ERROR", &["device", "operation", "action"]),
        ("JOB_STATUS_CHANGE", &["id", "status"]),
        ("MIGRATION", &["status"]),
        ("BALLOON_CHANGE", &["actual"]),
        ("RTC_CHANGE", &["offset", "qom-path"]),
        ("WATCHDOG", &["action"]),
        ("SPICE_CONNECTED", &["server", "client"]),
        ("SPICE_INITIALIZED", &["server", "client"]),
        ("SPICE_DISCONNECTED", &["server", "client"]),
        ("VNC_CONNECTED", &["server", "client"]),
        ("VNC_INITIALIZED", &["server", "client"]),
        ("VNC_DISCONNECTED", &["server", "client"]),
        ("SPICE_MIGRATE_COMPLETED", &[]),
        ("POWERDOWN", &[]),
        ("STOP", &[]),
        ("RESUME", &[]),
        ("SUSPEND", &[]),
        ("WAKEUP", &[]),
    ];
    assert_eq!(fields.len(), CATALOGUE.len());
    let schema = ok(QueryQmpSchema::decode_return(schema_reply()));
    for (event, ours) in fields {
        let ev = schema.event(event).unwrap_or_else(|| panic!("no {event}"));
        let arg = ev.arg_type().unwrap_or_else(|| panic!());
        let t = ok(schema.get(arg.raw()).ok_or("no type"));
        let theirs: Vec<String> = t.object_members().map(|m| m.name.to_string()).collect();
        assert_eq!(theirs, *ours, "{event}");
    }
}

// ---------------------------------------------------------------------------------
// Commands

/// Serialize with serde_json (the reference) and with serde-json-core (the no_std
/// path); both must give `expected`.
fn json_of<T: serde::Serialize>(value: &T, expected: &str) {
    assert_eq!(ok(serde_json::to_string(value)), expected);
    let mut buf = [0u8; 512];
    let n = ok(serde_json_core::to_slice(value, &mut buf));
    assert_eq!(core::str::from_utf8(&buf[..n]), Ok(expected));
}

#[test]
fn command_args_serialize() {
    let caps = [QmpCapability::Oob];
    let negotiate = QmpCapabilities {
        enable: Some(&caps),
    };
    json_of(&negotiate.args(), r#"{"enable":["oob"]}"#);
    assert!(QmpCapabilities::default().args().is_none());
    json_of(&QmpCapabilities::default(), "{}");
    let future = [QmpCapability::Oob, QmpCapability::Other("x-new")];
    json_of(
        &QmpCapabilities {
            enable: Some(&future),
        },
        r#"{"enable":["oob","x-new"]}"#,
    );

    json_of(&Empty {}, "{}");
    assert!(Stop.args().is_none());
    assert!(QueryQmpSchema.args().is_none());

    json_of(
        &HumanMonitorCommand {
            command_line: "info version",
            cpu_index: None,
        },
        r#"{"command-line":"info version"}"#,
    );
    json_of(
        &HumanMonitorCommand {
            command_line: "echo \"é\"\n",
            cpu_index: Some(1),
        },
        "{\"command-line\":\"echo \\\"é\\\"\\n\",\"cpu-index\":1}",
    );
    json_of(&DeviceDel { id: "net1" }, r#"{"id":"net1"}"#);
    json_of(
        &Screendump {
            filename: "/tmp/image",
            device: None,
            head: None,
            format: None,
        },
        r#"{"filename":"/tmp/image"}"#,
    );
    json_of(
        &Screendump {
            filename: "/tmp/s.png",
            device: Some("video0"),
            head: Some(1),
            format: Some(ImageFormat::Png),
        },
        r#"{"filename":"/tmp/s.png","device":"video0","head":1,"format":"png"}"#,
    );
    let instances = [
        YankInstance::BlockNode { node_name: "nbd0" },
        YankInstance::Chardev { id: "char0" },
        YankInstance::Migration,
    ];
    json_of(
        &Yank {
            instances: &instances,
        },
        r#"{"instances":[{"type":"block-node","node-name":"nbd0"},{"type":"chardev","id":"char0"},{"type":"migration"}]}"#,
    );
}

#[test]
fn command_names_and_oob_flags_match_the_schema() {
    let schema = ok(QueryQmpSchema::decode_return(schema_reply()));
    let check = |name: &str, oob: bool| {
        let info = schema.command(name).unwrap_or_else(|| panic!("no {name}"));
        assert_eq!(info.allow_oob(), oob, "{name}");
    };
    check(QmpCapabilities::NAME, QmpCapabilities::ALLOW_OOB);
    check(QueryVersion::NAME, QueryVersion::ALLOW_OOB);
    check(QueryStatus::NAME, QueryStatus::ALLOW_OOB);
    check(QueryCommands::NAME, QueryCommands::ALLOW_OOB);
    check(QueryName::NAME, QueryName::ALLOW_OOB);
    check(QuerySpice::NAME, QuerySpice::ALLOW_OOB);
    check(QueryVnc::NAME, QueryVnc::ALLOW_OOB);
    check(QueryQmpSchema::NAME, QueryQmpSchema::ALLOW_OOB);
    check(SystemPowerdown::NAME, SystemPowerdown::ALLOW_OOB);
    check(SystemReset::NAME, SystemReset::ALLOW_OOB);
    check(Stop::NAME, Stop::ALLOW_OOB);
    check(Cont::NAME, Cont::ALLOW_OOB);
    check(Quit::NAME, Quit::ALLOW_OOB);
    check(HumanMonitorCommand::NAME, HumanMonitorCommand::ALLOW_OOB);
    check(DeviceDel::NAME, DeviceDel::ALLOW_OOB);
    check(Screendump::NAME, Screendump::ALLOW_OOB);
    check(MigratePause::NAME, MigratePause::ALLOW_OOB);
    check(Yank::NAME, Yank::ALLOW_OOB);
    const { assert!(MigratePause::ALLOW_OOB && Yank::ALLOW_OOB && !Stop::ALLOW_OOB) };
}

/// The `return` of the first reply in `file` for which `pick` holds.
fn reply<'f>(file: &'f [Vec<u8>], pick: impl Fn(RawJson<'_>) -> bool) -> (RawJson<'f>, Value) {
    let frame = file
        .iter()
        .find(|f| raw(f).get("return").is_some() && pick(raw(f)))
        .unwrap_or_else(|| panic!("no such reply"));
    let ret = raw(frame).get("return").unwrap_or_else(|| panic!());
    (ret, value(frame)["return"].clone())
}

#[test]
fn returns_decode_from_real_replies() {
    let unix = frames(capture("unix_basic"));
    let by_id = |id: &'static str| {
        move |m: RawJson<'_>| {
            m.get("id")
                .and_then(|i| i.as_json_str())
                .is_some_and(|i| i == id)
        }
    };

    let (ret, t) = reply(&unix, by_id("v"));
    let v = ok(QueryVersion::decode_return(ret));
    assert_eq!(Some(v.qemu.major), t["qemu"]["major"].as_u64());
    assert_eq!(Some(v.qemu.minor), t["qemu"]["minor"].as_u64());
    assert_eq!(Some(v.qemu.micro), t["qemu"]["micro"].as_u64());
    assert_eq!((v.qemu.major, v.qemu.minor, v.qemu.micro), (10, 0, 2));
    same_str(v.package, &t["package"]);

    let (ret, t) = reply(&unix, |m| {
        m.get("id").is_some_and(|i| i.kind() == Kind::Array)
    });
    let s = ok(QueryStatus::decode_return(ret));
    assert_eq!(Some(s.running), t["running"].as_bool());
    same_enum(s.status.as_str(), &t["status"]);
    assert_eq!(s.status, RunState::Running);
    assert_eq!(s.singlestep, None);

    let (ret, t) = reply(&unix, |m| {
        let r = m.get("return");
        r.is_some_and(|r| r.kind() == Kind::Array)
            && r.and_then(|r| r.elements().next())
                .is_some_and(|e| e.get("meta-type").is_none())
    });
    let commands = ok(QueryCommands::decode_return(ret));
    let theirs = t.as_array().unwrap_or_else(|| panic!());
    assert_eq!(commands.len(), theirs.len());
    assert!(commands.len() > 200);
    for (ours, theirs) in commands.iter().zip(theirs) {
        same_str(ok(ours).name, &theirs["name"]);
    }
    assert!(commands
        .iter()
        .flatten()
        .any(|c| c.name == "query-qmp-schema"));

    // The schema reply inside the session capture.
    let (ret, t) = reply(&unix, |m| {
        m.get("return")
            .and_then(|r| r.elements().next())
            .is_some_and(|e| e.get("meta-type").is_some())
    });
    let schema = ok(QueryQmpSchema::decode_return(ret));
    assert_eq!(Some(schema.len()), t.as_array().map(Vec::len));
    assert!(schema
        .iter()
        .all(|i| i.is_ok_and(|i| i.meta_type().is_known())));

    // qmp_capabilities and quit return {}.
    let (ret, _) = reply(&unix, |m| m.get("id").and_then(|i| i.as_u64()) == Some(1));
    assert_eq!(ok(QmpCapabilities::decode_return(ret)), Empty {});
    let (ret, _) = reply(&unix, by_id("q"));
    assert_eq!(ok(Quit::decode_return(ret)), Empty {});
}

#[test]
fn escaped_returns_decode_from_real_replies() {
    let extras = frames(capture("extras"));
    let (ret, t) = reply(&extras, |m| {
        m.get("return").is_some_and(|r| r.get("name").is_some())
    });
    let name = ok(QueryName::decode_return(ret));
    let name = name.name.unwrap_or_else(|| panic!("no name"));
    same_str(name, &t["name"]);
    assert!(name == "vm-\u{e9}\u{20ac}");
    assert_eq!(name.raw(), r"vm-\u00E9\u20AC");

    let hmp: Vec<_> = extras
        .iter()
        .filter(|f| {
            raw(f)
                .get("return")
                .is_some_and(|r| r.kind() == Kind::String)
        })
        .collect();
    assert_eq!(hmp.len(), 2);
    for f in hmp {
        let out = ok(HumanMonitorCommand::decode_return(
            raw(f).get("return").unwrap_or_else(|| panic!()),
        ));
        same_str(out, &value(f)["return"]);
        assert!(out.raw().ends_with(r"\r\n"));
        assert!(out.chars().last() == Some('\n'));
    }
    let (ret, _) = reply(&extras, |m| {
        m.get("return").and_then(|r| r.get("status")).is_some()
    });
    assert_eq!(
        ok(QueryStatus::decode_return(ret)).status,
        RunState::Prelaunch
    );
}

#[test]
fn query_spice_and_query_vnc_decode_from_real_replies() {
    let spice = frames(capture("spice_events"));
    let replies: Vec<_> = spice
        .iter()
        .filter(|f| {
            raw(f)
                .get("return")
                .is_some_and(|r| r.get("enabled").is_some())
        })
        .collect();
    assert_eq!(replies.len(), 2);
    for f in &replies {
        let ret = raw(f).get("return").unwrap_or_else(|| panic!());
        let t = &value(f)["return"];
        let info = ok(QuerySpice::decode_return(ret));
        assert_eq!(Some(info.enabled), t["enabled"].as_bool());
        same_opt_bool(info.migrated, &t["migrated"]);
        same_opt_str(info.host, &t["host"]);
        assert_eq!(info.port, t["port"].as_i64());
        assert_eq!(info.tls_port, None);
        same_opt_str(info.auth, &t["auth"]);
        same_opt_str(info.compiled_version, &t["compiled-version"]);
        assert_eq!(info.mouse_mode, Some(SpiceQueryMouseMode::Server));
        let channels = info.channels.unwrap_or_else(|| panic!("no channels"));
        let theirs = t["channels"].as_array().unwrap_or_else(|| panic!());
        assert_eq!(channels.len(), theirs.len());
        for (c, tc) in channels.iter().zip(theirs) {
            let c = ok(c);
            check_spice_channel(&c, tc);
            assert!(is_main_channel(&c));
        }
    }
    assert_eq!(
        ok(QuerySpice::decode_return(raw(
            br#"{"enabled": false, "migrated": false}"#
        )))
        .channels,
        None
    );

    let vnc = frames(capture("vnc_events"));
    let replies: Vec<_> = vnc
        .iter()
        .filter(|f| {
            raw(f)
                .get("return")
                .is_some_and(|r| r.get("enabled").is_some())
        })
        .collect();
    assert_eq!(replies.len(), 2);
    let mut clients = 0;
    for f in &replies {
        let ret = raw(f).get("return").unwrap_or_else(|| panic!());
        let t = &value(f)["return"];
        let info = ok(QueryVnc::decode_return(ret));
        assert!(info.enabled);
        same_opt_str(info.host, &t["host"]);
        same_opt_str(info.service, &t["service"]);
        same_opt_str(info.auth, &t["auth"]);
        same_enum(info.family.and_then(|f| f.as_str()), &t["family"]);
        let list = info.clients.unwrap_or_else(|| panic!("no clients"));
        for (c, tc) in list
            .iter()
            .zip(t["clients"].as_array().unwrap_or_else(|| panic!()))
        {
            check_vnc_client(&ok(c), tc);
            clients += 1;
        }
    }
    assert_eq!(clients, 1);
    assert_eq!(
        QueryVnc::decode_return(raw(br#"{"enabled": true, "clients": {}}"#)).map_err(|e| e.kind),
        Err(DecodeErrorKind::InvalidMember {
            what: "query-vnc",
            member: "clients",
            expected: Kind::Array,
            found: Kind::Object
        })
    );
}

#[test]
fn raw_list_yields_bad_elements_as_errors() {
    let list = ok(QueryCommands::decode_return(raw(
        br#"[{"name": "a"}, 5, {"nom": "b"}, {"name": "c\u0021"}]"#,
    )));
    let items: Vec<_> = list.iter().collect();
    assert_eq!(items.len(), 4);
    assert!(items[0].is_ok_and(|c| c.name == "a"));
    assert_eq!(
        items[1].map_err(|e| e.kind),
        Err(DecodeErrorKind::WrongKind {
            what: "CommandInfo",
            expected: Kind::Object,
            found: Kind::Number
        })
    );
    assert_eq!(
        items[2].map_err(|e| e.kind),
        Err(DecodeErrorKind::MissingMember {
            what: "CommandInfo",
            member: "name"
        })
    );
    assert!(items[3].is_ok_and(|c| c.name == "c!"));
    assert_eq!(list.into_iter().flatten().count(), 2);
    let empty = ok(RawList::<CommandInfo<'_>>::new(raw(b"[]")));
    assert!(empty.is_empty());
    assert_eq!(empty.len(), 0);
    assert_eq!(empty.raw().as_bytes(), b"[]");
    assert_eq!(format!("{empty:?}"), "RawList(RawJson([]))");
}

#[test]
fn qmp_capability_decodes() {
    let caps: RawList<'_, QmpCapability<'_>> = ok(RawList::new(raw(br#"["oob", "x-future"]"#)));
    let caps: Vec<_> = caps.iter().map(ok).collect();
    assert_eq!(caps, [QmpCapability::Oob, QmpCapability::Other("x-future")]);
    assert_eq!(caps[1].to_string(), "x-future");
}

// ---------------------------------------------------------------------------------
// SPICE sessions

fn spice_event(
    name: &str,
    client_port: Option<&str>,
    host: &str,
    init: Option<(i64, i64)>,
) -> String {
    let port = client_port
        .map(|p| format!(r#""port": "{p}", "#))
        .unwrap_or_default();
    let channel = match init {
        Some((id, kind)) => format!(
            r#", "connection-id": {id}, "channel-type": {kind}, "channel-id": 0, "tls": true"#
        ),
        None => String::new(),
    };
    let auth = if init.is_some() {
        r#", "auth": "spice""#
    } else {
        ""
    };
    format!(
        r#"{{"event": "{name}", "data": {{"server": {{"port": "5930", "family": "ipv4", "host": "10.0.0.1"{auth}}}, "client": {{{port}"family": "ipv4", "host": "{host}"{channel}}}}}}}"#
    )
}

fn feed<const N: usize>(
    tracker: &mut SpiceSessions<N>,
    msg: &str,
) -> Result<Option<SpiceOutcome>, SpiceError> {
    let ev = ok(decode_message(raw(msg.as_bytes())));
    tracker.handle(&ev)
}

#[test]
fn spice_tracker_on_the_real_capture() {
    let mut tracker = SpiceSessions::<8>::new();
    let mut outcomes = Vec::new();
    for f in frames(capture("spice_events")) {
        let msg = raw(&f);
        if msg.get("event").is_none() {
            continue;
        }
        let ev = ok(decode_message(msg));
        outcomes.push(ok(tracker.handle(&ev)));
        if matches!(ev, Event::SpiceInitialized(_)) {
            let sessions: Vec<_> = tracker.sessions().collect();
            assert_eq!(sessions.len(), 1);
            assert_eq!(sessions[0].connection_id, 1933299969);
            assert_eq!(sessions[0].client.to_string(), "127.0.0.1:59206");
            assert_eq!(sessions[0].channels, 0);
            assert!(!sessions[0].tls);
        }
    }
    let client = |port: &str| -> super::spice::SpiceClient {
        let mut host = heapless::String::new();
        let _ = host.push_str("127.0.0.1");
        let mut p = heapless::String::new();
        let _ = p.push_str(port);
        super::spice::SpiceClient {
            family: AddressFamily::Ipv4,
            host,
            port: Some(p),
        }
    };
    assert_eq!(
        outcomes,
        [
            Some(SpiceOutcome::Opened {
                client: client("59196")
            }),
            Some(SpiceOutcome::Abandoned {
                client: client("59196")
            }),
            Some(SpiceOutcome::Opened {
                client: client("59206")
            }),
            Some(SpiceOutcome::Initialized {
                connection_id: 1933299969,
                client: client("59206"),
                tls: false
            }),
            Some(SpiceOutcome::Closed {
                connection_id: 1933299969,
                client: client("59206"),
                channels_left: 0
            }),
            None, // SHUTDOWN
        ]
    );
    assert!(tracker.is_empty());
}

#[test]
fn spice_tracker_attaches_channels_to_sessions() {
    let mut t = SpiceSessions::<8>::new();
    let h = "192.168.1.9";
    assert!(matches!(
        feed(
            &mut t,
            &spice_event("SPICE_CONNECTED", Some("1000"), h, None)
        ),
        Ok(Some(SpiceOutcome::Opened { .. }))
    ));
    assert!(matches!(
        feed(
            &mut t,
            &spice_event("SPICE_INITIALIZED", Some("1000"), h, Some((7, 1)))
        ),
        Ok(Some(SpiceOutcome::Initialized {
            connection_id: 7,
            tls: true,
            ..
        }))
    ));
    for (port, kind) in [("1001", 2), ("1002", 3), ("1003", 4)] {
        let _ = ok(feed(
            &mut t,
            &spice_event("SPICE_CONNECTED", Some(port), h, None),
        ));
        let out = ok(feed(
            &mut t,
            &spice_event("SPICE_INITIALIZED", Some(port), h, Some((7, kind))),
        ));
        let Some(SpiceOutcome::ChannelAttached {
            channel,
            session_open,
        }) = out
        else {
            panic!("{out:?}");
        };
        assert!(session_open);
        assert_eq!((channel.connection_id, channel.channel_type), (7, kind));
    }
    // A second client.
    let _ = ok(feed(
        &mut t,
        &spice_event("SPICE_CONNECTED", Some("2000"), "10.9.9.9", None),
    ));
    let _ = ok(feed(
        &mut t,
        &spice_event("SPICE_INITIALIZED", Some("2000"), "10.9.9.9", Some((8, 1))),
    ));
    assert_eq!(t.sessions().count(), 2);
    assert_eq!(t.session(7).map(|s| s.channels), Some(3));
    assert_eq!(t.session(8).map(|s| s.channels), Some(0));
    assert_eq!(t.len(), 5);
    assert_eq!(t.connections().filter(|(_, ch)| ch.is_some()).count(), 5);

    // A display channel goes first, then the main channel closes the session.
    assert!(matches!(
        feed(&mut t, &spice_event("SPICE_DISCONNECTED", Some("1001"), h, None)),
        Ok(Some(SpiceOutcome::ChannelDetached { channel })) if channel.channel_type == 2
    ));
    assert!(matches!(
        feed(
            &mut t,
            &spice_event("SPICE_DISCONNECTED", Some("1000"), h, None)
        ),
        Ok(Some(SpiceOutcome::Closed {
            connection_id: 7,
            channels_left: 2,
            ..
        }))
    ));
    assert!(t.session(7).is_none());
    assert!(t.session(8).is_some());
    for port in ["1002", "1003"] {
        assert!(matches!(
            feed(
                &mut t,
                &spice_event("SPICE_DISCONNECTED", Some(port), h, None)
            ),
            Ok(Some(SpiceOutcome::ChannelDetached { .. }))
        ));
    }
    // A channel of an unknown session.
    let out = ok(feed(
        &mut t,
        &spice_event("SPICE_INITIALIZED", Some("3000"), h, Some((99, 2))),
    ));
    assert!(matches!(
        out,
        Some(SpiceOutcome::ChannelAttached {
            session_open: false,
            ..
        })
    ));
    assert_eq!(t.len(), 2);
    t.clear();
    assert!(t.is_empty());
}

#[test]
fn spice_tracker_reports_overflow() {
    let mut t = SpiceSessions::<2>::new();
    assert_eq!(t.capacity(), 2);
    let h = "10.0.0.2";
    let _ = ok(feed(
        &mut t,
        &spice_event("SPICE_CONNECTED", Some("1"), h, None),
    ));
    let _ = ok(feed(
        &mut t,
        &spice_event("SPICE_CONNECTED", Some("2"), h, None),
    ));
    assert_eq!(
        feed(&mut t, &spice_event("SPICE_CONNECTED", Some("3"), h, None)),
        Err(SpiceError::Full { capacity: 2 })
    );
    // Initializing a pending connection needs no new slot.
    assert!(matches!(
        feed(
            &mut t,
            &spice_event("SPICE_INITIALIZED", Some("1"), h, Some((5, 1)))
        ),
        Ok(Some(SpiceOutcome::Initialized {
            connection_id: 5,
            ..
        }))
    ));
    // The connection that did not fit.
    assert_eq!(
        feed(
            &mut t,
            &spice_event("SPICE_INITIALIZED", Some("3"), h, Some((5, 2)))
        ),
        Err(SpiceError::Full { capacity: 2 })
    );
    assert!(matches!(
        feed(
            &mut t,
            &spice_event("SPICE_DISCONNECTED", Some("3"), h, None)
        ),
        Ok(Some(SpiceOutcome::Untracked { .. }))
    ));
    assert!(matches!(
        feed(
            &mut t,
            &spice_event("SPICE_DISCONNECTED", Some("2"), h, None)
        ),
        Ok(Some(SpiceOutcome::Abandoned { .. }))
    ));
    assert_eq!(t.len(), 1);
    assert_eq!(
        SpiceError::Full { capacity: 2 }.to_string(),
        "SPICE session table full (2 connections)"
    );

    let long = "a".repeat(100);
    assert_eq!(
        feed(
            &mut t,
            &spice_event("SPICE_CONNECTED", Some("4"), &long, None)
        ),
        Err(SpiceError::AddressTooLong)
    );
    assert_eq!(
        feed(
            &mut t,
            &spice_event("SPICE_CONNECTED", Some("123456789"), h, None)
        ),
        Err(SpiceError::AddressTooLong)
    );
    assert_eq!(t.len(), 1);
    // Non-SPICE events are not the tracker's business.
    assert_eq!(t.handle(&Event::Stop), Ok(None));
}

#[test]
fn spice_tracker_downstream_variant_without_port() {
    let mut t = SpiceSessions::<4>::new();
    let h = "fe80::1%eth0";
    let _ = ok(feed(
        &mut t,
        &spice_event("SPICE_CONNECTED", Some("4000"), h, None),
    ));
    let out = ok(feed(
        &mut t,
        &spice_event("SPICE_INITIALIZED", None, h, Some((3, 1))),
    ));
    let Some(SpiceOutcome::Initialized { client, .. }) = out else {
        panic!("{out:?}");
    };
    // The port comes from the pending connection.
    assert_eq!(client.port.as_deref(), Some("4000"));
    assert_eq!(client.family, AddressFamily::Ipv4); // as the helper writes it
    assert_eq!(client.to_string(), "[fe80::1%eth0]:4000");
    assert!(matches!(
        feed(&mut t, &spice_event("SPICE_DISCONNECTED", None, h, None)),
        Ok(Some(SpiceOutcome::Closed {
            connection_id: 3,
            ..
        }))
    ));
    assert!(t.is_empty());
}

#[test]
fn spice_tracker_reconnect_replaces_stale_entries() {
    let mut t = SpiceSessions::<4>::new();
    let h = "10.1.1.1";
    let _ = ok(feed(
        &mut t,
        &spice_event("SPICE_CONNECTED", Some("5"), h, None),
    ));
    let _ = ok(feed(
        &mut t,
        &spice_event("SPICE_CONNECTED", Some("5"), h, None),
    ));
    assert_eq!(t.len(), 1);
    let _ = ok(feed(
        &mut t,
        &spice_event("SPICE_INITIALIZED", Some("5"), h, Some((1, 1))),
    ));
    // A new main channel for the same session from another port supersedes the first.
    let _ = ok(feed(
        &mut t,
        &spice_event("SPICE_INITIALIZED", Some("6"), h, Some((1, 1))),
    ));
    assert_eq!(t.sessions().count(), 1);
    assert_eq!(
        t.session(1).and_then(|s| s.client.port.clone()).as_deref(),
        Some("6")
    );
}

#[test]
fn public_event_names_are_the_catalogue() {
    // CATALOGUE above is the specification: the events `schema::events`' module docs
    // promise a typed variant for, written out by hand apart from the decoder's table.
    // The public list must match it.
    assert_eq!(events::EVENT_NAMES.len(), CATALOGUE.len());
    for name in CATALOGUE {
        assert!(events::EVENT_NAMES.contains(name), "{name} is not public");
    }
}

#[test]
fn decode_errors_say_where_and_frames_make_them_absolute() {
    // A nested member of the wrong type: counted from the start of `data`.
    let line = br#"{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "SPICE_CONNECTED", "data": {"server": {"port": 5900, "family": "ipv4", "host": "127.0.0.1"}, "client": {"port": "1", "family": "ipv4", "host": "h"}}}"#;
    let mut framer = Framer::new([0u8; 512]);
    assert_eq!(framer.push(b"\r\n\r\n"), 4);
    assert_eq!(framer.push(line), line.len());
    let frame = framer.next().unwrap().unwrap();
    let crate::message::Message::Event(event) = crate::message::Message::parse(frame).unwrap()
    else {
        panic!("an event")
    };
    let data = event.data.unwrap();
    let error = Event::from_message(&event).unwrap_err();
    assert_eq!(
        error.kind,
        DecodeErrorKind::InvalidMember {
            what: "SPICE_CONNECTED",
            member: "port",
            expected: Kind::String,
            found: Kind::Number
        }
    );
    let at = error.offset;
    assert!(data.as_bytes()[at..].starts_with(b"5900,"), "{at}");
    // The frame places it in the stream: after the four bytes that came before it.
    let absolute = frame.offset_of(data.as_bytes()).unwrap() + error.offset as u64;
    let stream_pos = 4 + line.windows(5).position(|w| w == b"5900,").unwrap();
    assert_eq!(absolute, stream_pos as u64);
}

#[test]
fn typed_commands_encode_and_read_their_replies() {
    use crate::encode::{Id, SliceSink};
    use crate::message::Message;

    let mut buf = [0u8; 128];
    let encoded = |f: &dyn Fn(&mut SliceSink<'_>)| {
        let mut buf = [0u8; 128];
        let mut sink = SliceSink::new(&mut buf);
        f(&mut sink);
        String::from_utf8(sink.written().to_vec()).unwrap()
    };
    assert_eq!(
        encoded(&|s| QmpCapabilities { enable: None }
            .encode(s, Some(Id::U64(1)))
            .unwrap()),
        r#"{"execute":"qmp_capabilities","id":1}"#
    );
    let oob = [QmpCapability::Oob];
    assert_eq!(
        encoded(&|s| QmpCapabilities { enable: Some(&oob) }
            .encode(s, None)
            .unwrap()),
        r#"{"execute":"qmp_capabilities","arguments":{"enable":["oob"]}}"#
    );
    assert_eq!(
        encoded(&|s| DeviceDel { id: "net0" }
            .encode(s, Some(Id::Str("d")))
            .unwrap()),
        r#"{"execute":"device_del","arguments":{"id":"net0"},"id":"d"}"#
    );
    assert_eq!(
        encoded(&|s| Yank { instances: &[] }
            .encode_oob(s, Some(Id::U64(9)))
            .unwrap()),
        r#"{"exec-oob":"yank","arguments":{"instances":[]},"id":9}"#
    );
    // A buffer too small is the sink's error, as for every encoder.
    let mut small = SliceSink::new(&mut buf[..8]);
    assert!(QueryStatus.encode(&mut small, None).is_err());

    let message = |text: &'static str| Message::parse(raw(text.as_bytes())).unwrap();
    let ok = message(r#"{"return": {"status": "running", "running": true}, "id": 1}"#);
    assert_eq!(
        QueryStatus::decode_reply(&ok).unwrap().status,
        RunState::Running
    );
    let bad = message(r#"{"return": [], "id": 1}"#);
    assert!(matches!(
        QueryStatus::decode_reply(&bad),
        Err(ReplyError::Decode(_))
    ));
    let refused = message(r#"{"error": {"class": "CommandNotFound", "desc": "nope"}}"#);
    assert!(matches!(
        QueryStatus::decode_reply(&refused),
        Err(ReplyError::Error(e)) if e.class == crate::message::ErrorClass::CommandNotFound
    ));
    let event = message(r#"{"event": "STOP", "timestamp": {"seconds": 1, "microseconds": 0}}"#);
    assert_eq!(
        QueryStatus::decode_reply(&event),
        Err(ReplyError::NotAReply)
    );
    assert_eq!(
        ReplyError::Error(match refused {
            Message::Error(e) => e,
            _ => unreachable!(),
        })
        .to_string(),
        "the command failed: CommandNotFound: nope"
    );
}
