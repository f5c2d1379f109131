//! `qmp events`: follow QEMU's events, one readable line each, or the SPICE session
//! tracker's view of them.

use std::io::{self, Write};
use std::time::Duration;

use qmp_core::io::Error;
use qmp_core::json::{Kind, RawJson};
use qmp_core::message::EventMessage;
use qmp_core::schema::spice::{SpiceOutcome, SpiceSessions};
use qmp_core::schema::Event;

use crate::exit;
use crate::json;
use crate::style::{Paint, Style};
use crate::target::{self, Target};

/// Which events to show: names compared without regard to case, a trailing `*`
/// matching any rest (`SPICE_*`). Empty: all.
#[derive(Clone, Debug, Default)]
pub struct Filter(Vec<String>);

impl Filter {
    /// The filter for `names` (each may also be a comma-separated list).
    pub fn new(names: &[String]) -> Self {
        Self(
            names
                .iter()
                .flat_map(|n| n.split(','))
                .filter(|n| !n.is_empty())
                .map(|n| n.to_ascii_uppercase())
                .collect(),
        )
    }

    /// Does `name` pass?
    pub fn accepts(&self, name: &str) -> bool {
        self.0.is_empty()
            || self.0.iter().any(|want| match want.strip_suffix('*') {
                Some(prefix) => name.to_ascii_uppercase().starts_with(prefix),
                None => name.eq_ignore_ascii_case(want),
            })
    }
}

/// One event as a line: the time of day (UTC), the name, then the fields of its data
/// as `key=value` (nested objects as `a.b=value`; client and server addresses as
/// `host:port`).
pub fn event_line(event: &EventMessage<'_>, style: Style) -> String {
    let time = crate::time::format_timestamp(event.timestamp.seconds, event.timestamp.microseconds);
    let time = time.split_once(' ').map(|(_, t)| t).unwrap_or(&time);
    let mut line = format!(
        "{}  {}",
        style.paint(Paint::Dim, time),
        style.paint(Paint::Event, event.name.raw())
    );
    if let Some(data) = event.data {
        let mut fields = Vec::new();
        flatten("", data, &mut fields);
        for field in fields {
            line.push_str("  ");
            line.push_str(&field);
        }
    }
    line
}

/// `key=value` for every scalar in `value`, with dotted keys for nesting.
fn flatten(prefix: &str, value: RawJson<'_>, out: &mut Vec<String>) {
    match value.kind() {
        Kind::Object => {
            // An address (SPICE, VNC, migration peers): host:port in one field, the
            // family shown by the form of the host.
            let [host, port, service] = value.get_all(["host", "port", "service"]);
            let port = port.or(service);
            let address = host.is_some() && port.is_some();
            if let (Some(host), Some(port)) = (host, port) {
                let host = host
                    .as_json_str()
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                let port = port
                    .as_json_str()
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| port.as_text().to_string());
                let addr = if host.contains(':') {
                    format!("[{host}]:{port}")
                } else {
                    format!("{host}:{port}")
                };
                let key = if prefix.is_empty() { "address" } else { prefix };
                out.push(format!("{key}={addr}"));
            }
            for (key, member) in value.members() {
                let key = key.to_string();
                if address && ["host", "port", "service", "family"].contains(&key.as_str()) {
                    continue;
                }
                let path = if prefix.is_empty() {
                    key
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, member, out);
            }
        }
        _ => {
            let mut text = Vec::new();
            match value.as_json_str() {
                // Strings without quotes unless they need them.
                Some(s) if !s.to_string().contains(char::is_whitespace) => {
                    text.extend_from_slice(s.to_string().as_bytes())
                }
                _ => json::compact(value.as_bytes(), &mut text),
            }
            let key = if prefix.is_empty() { "value" } else { prefix };
            out.push(format!("{key}={}", String::from_utf8_lossy(&text)));
        }
    }
}

/// The name of a SPICE channel type.
pub fn channel_name(channel_type: i64) -> String {
    match channel_type {
        1 => "main".into(),
        2 => "display".into(),
        3 => "inputs".into(),
        4 => "cursor".into(),
        5 => "playback".into(),
        6 => "record".into(),
        7 => "tunnel".into(),
        8 => "smartcard".into(),
        9 => "usbredir".into(),
        10 => "port".into(),
        11 => "webdav".into(),
        n => format!("type {n}"),
    }
}

/// What the SPICE tracker made of one event, as a line (without the time).
pub fn spice_line<const N: usize>(outcome: &SpiceOutcome, sessions: &SpiceSessions<N>) -> String {
    let open = sessions.sessions().count();
    let open = match open {
        1 => "1 session open".to_string(),
        n => format!("{n} sessions open"),
    };
    match outcome {
        SpiceOutcome::Opened { client } => {
            format!("connection from {client}: waiting for its link")
        }
        SpiceOutcome::Initialized {
            connection_id,
            client,
            tls,
        } => format!(
            "session {connection_id} began: main channel from {client}{} ({open})",
            if *tls { ", TLS" } else { "" }
        ),
        SpiceOutcome::ChannelAttached {
            channel,
            session_open,
        } => format!(
            "session {}: {} channel {} attached{}",
            channel.connection_id,
            channel_name(channel.channel_type),
            channel.channel_id,
            if *session_open {
                ""
            } else {
                " (its main channel is not tracked)"
            }
        ),
        SpiceOutcome::Closed {
            connection_id,
            client,
            channels_left,
        } => format!(
            "session {connection_id} ended: main channel from {client} closed, \
             {channels_left} other channel{} still open ({open})",
            if *channels_left == 1 { "" } else { "s" }
        ),
        SpiceOutcome::ChannelDetached { channel } => format!(
            "session {}: {} channel {} closed",
            channel.connection_id,
            channel_name(channel.channel_type),
            channel.channel_id
        ),
        SpiceOutcome::Abandoned { client } => {
            format!("connection from {client} closed before its link: no session")
        }
        SpiceOutcome::Untracked { client } => {
            format!("connection from {client} closed (connected before qmp started following)")
        }
        other => format!("{other:?}"),
    }
}

/// What the SPICE tracker made of one event, as JSON members: `"outcome"` (what
/// happened), `"client"` (`host:port`), and the session and channel where known.
pub fn spice_json(outcome: &SpiceOutcome) -> String {
    let quoted = |text: &str| {
        let mut out = Vec::new();
        json::quote(text, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    };
    let channel = |c: &qmp_core::schema::spice::ChannelInfo| {
        format!(
            ",\"connection-id\":{},\"channel\":{},\"channel-id\":{}",
            c.connection_id,
            quoted(&channel_name(c.channel_type)),
            c.channel_id
        )
    };
    match outcome {
        SpiceOutcome::Opened { client } => {
            format!("\"outcome\":\"connected\",\"client\":{}", quoted(&client.to_string()))
        }
        SpiceOutcome::Initialized {
            connection_id,
            client,
            tls,
        } => format!(
            "\"outcome\":\"session-began\",\"client\":{},\"connection-id\":{connection_id},\"tls\":{tls}",
            quoted(&client.to_string())
        ),
        SpiceOutcome::ChannelAttached {
            channel: c,
            session_open,
        } => format!(
            "\"outcome\":\"channel-attached\"{},\"session-open\":{session_open}",
            channel(c)
        ),
        SpiceOutcome::Closed {
            connection_id,
            client,
            channels_left,
        } => format!(
            "\"outcome\":\"session-ended\",\"client\":{},\"connection-id\":{connection_id},\"channels-left\":{channels_left}",
            quoted(&client.to_string())
        ),
        SpiceOutcome::ChannelDetached { channel: c } => {
            format!("\"outcome\":\"channel-closed\"{}", channel(c))
        }
        SpiceOutcome::Abandoned { client } => {
            format!("\"outcome\":\"no-session\",\"client\":{}", quoted(&client.to_string()))
        }
        SpiceOutcome::Untracked { client } => {
            format!("\"outcome\":\"untracked\",\"client\":{}", quoted(&client.to_string()))
        }
        other => format!("\"outcome\":{}", quoted(&format!("{other:?}"))),
    }
}

/// How `qmp events` shows what comes.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// The events as received, one JSON text per line.
    pub json: bool,
    /// The SPICE tracker's view instead of the events.
    pub spice_sessions: bool,
}

/// `qmp events`.
pub fn run(target: &str, filter: &Filter, options: Options, timeout: Option<Duration>) -> u8 {
    let target = match Target::parse(target) {
        Ok(t) => t,
        Err(e) => {
            crate::complain(&e);
            return exit::USAGE;
        }
    };
    let (mut qmp, handle) = match target::connect(&target, timeout) {
        Ok(c) => c,
        Err(e) => {
            crate::complain(&e);
            return exit::FAILURE;
        }
    };
    // Connected: from now on, wait as long as events take.
    if let Err(e) = handle.set_read_timeout(None) {
        crate::complain(&format!("{target}: {e}"));
        return exit::FAILURE;
    }
    // On stderr, so that stdout holds only events (and a test knows when to start).
    eprintln!(
        "{}",
        Style::stderr().paint(
            Paint::Dim,
            &format!("following events on {target} (Ctrl-C stops)")
        )
    );
    let style = Style::stdout();
    let mut out = io::stdout().lock();
    let mut sessions = SpiceSessions::<256>::new();
    let mut saw_shutdown = false;
    loop {
        let event = match qmp.next_event() {
            Ok(event) => event,
            Err(Error::Closed) if saw_shutdown => return exit::OK,
            Err(Error::Io(e)) if saw_shutdown && e.kind() == io::ErrorKind::ConnectionReset => {
                return exit::OK
            }
            Err(e) => {
                crate::complain(&format!(
                    "{target}: {}",
                    target::describe(&e, "waiting for events")
                ));
                return exit::FAILURE;
            }
        };
        saw_shutdown |= event.name == "SHUTDOWN";
        let line = if options.spice_sessions {
            let Ok(typed) = Event::from_message(&event) else {
                continue;
            };
            let outcome = match sessions.handle(&typed) {
                Ok(Some(outcome)) => outcome,
                Ok(None) => continue,
                Err(e) => {
                    crate::complain(&format!("{}: {e}", event.name));
                    continue;
                }
            };
            if !filter.accepts(event.name.raw()) {
                continue;
            }
            let time = crate::time::format_timestamp(
                event.timestamp.seconds,
                event.timestamp.microseconds,
            );
            let time = time
                .split_once(' ')
                .map(|(_, t)| t.to_string())
                .unwrap_or(time);
            if options.json {
                let mut line = format!(
                    "{{\"timestamp\":{{\"seconds\":{},\"microseconds\":{}}},\"event\":\"{}\",",
                    event.timestamp.seconds,
                    event.timestamp.microseconds,
                    event.name.raw()
                );
                line.push_str(&spice_json(&outcome));
                line.push_str(&format!(",\"sessions\":{}}}", sessions.sessions().count()));
                line
            } else {
                format!(
                    "{}  {}",
                    style.paint(Paint::Dim, &time),
                    spice_line(&outcome, &sessions)
                )
            }
        } else {
            if !filter.accepts(event.name.raw()) {
                continue;
            }
            if options.json {
                let mut text = Vec::new();
                let mut raw = format!(
                    "{{\"timestamp\":{{\"seconds\":{},\"microseconds\":{}}},\"event\":\"{}\"",
                    event.timestamp.seconds,
                    event.timestamp.microseconds,
                    event.name.raw()
                );
                if let Some(data) = event.data {
                    json::compact(data.as_bytes(), &mut text);
                    raw.push_str(",\"data\":");
                    raw.push_str(&String::from_utf8_lossy(&text));
                }
                raw.push('}');
                raw
            } else {
                event_line(&event, style)
            }
        };
        if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
            // The reader went away (`qmp events … | head`).
            return exit::OK;
        }
    }
}
