//! [`typed_events`]: typed events, command replies, introspection views and the SPICE
//! tracker on arbitrary frames: no panic, decoded values equal the raw members they came
//! from, and the tracker stays bounded and consistent.

use super::for_each_frame;
use super::tokens::for_each_array;
use crate::frame::Framer;
use crate::json::{JsonStr, RawJson};
use crate::message::{self, Message};
use crate::schema::commands::{
    Command, QueryCommands, QueryName, QueryQmpSchema, QuerySpice, QueryStatus, QueryVersion,
    QueryVnc,
};
use crate::schema::events::{Event as TypedEvent, EVENT_NAMES};
use crate::schema::spice::{SpiceError, SpiceOutcome, SpiceSessions, HOST_MAX, PORT_MAX};
use crate::schema::{FromJson, Schema};

/// Big enough for a whole `query-qmp-schema` reply (236 KB from QEMU 10.0).
const EVENT_CAPACITY: usize = 256 * 1024;

/// At most this many entries per schema are walked.
const ENTRIES_MAX: usize = 256;

/// Frame the input and run every typed view over each frame: events through
/// `schema::Event::from_message` into a `SpiceSessions<4>`, replies through the common
/// commands' `decode_return`, and every array as a `Schema`. Decoded values must equal
/// the raw members they came from, and the tracker must stay bounded and consistent.
pub fn typed_events(input: &[u8]) {
    // A buffer sized to the input (a frame is never longer), so that small inputs do not
    // pay for zeroing a big one.
    if input.len() <= 4096 {
        events::<4096>(input);
    } else if input.len() <= 64 * 1024 {
        events::<{ 64 * 1024 }>(input);
    } else {
        events::<EVENT_CAPACITY>(input);
    }
}

fn events<const N: usize>(input: &[u8]) {
    let mut tracker = SpiceSessions::<4>::new();
    let mut framer = Framer::new([0u8; N]);
    for_each_frame(&mut framer, input, |frame| {
        let json = RawJson::from(frame);
        for_each_array(json.as_bytes(), schema_views);
        match Message::parse(frame) {
            Ok(Message::Event(event)) => typed_event(&event, &mut tracker),
            Ok(Message::Return(ret)) => replies(ret.value),
            _ => {}
        }
    });
}

/// Whether some value at `path` (member names, compared decoded; any of duplicates)
/// satisfies `pred`. Decoded payloads must come from *a* member of that name: which one
/// wins among names that only differ by escapes is the decoder's business.
fn any_at(raw: Option<RawJson<'_>>, path: &[&str], pred: &dyn Fn(RawJson<'_>) -> bool) -> bool {
    let Some(raw) = raw else { return false };
    let Some((first, rest)) = path.split_first() else {
        return pred(raw);
    };
    raw.members()
        .any(|(k, v)| k == *first && any_at(Some(v), rest, pred))
}

/// A decoded string equals a raw member it can have come from.
fn check_str(decoded: JsonStr<'_>, data: Option<RawJson<'_>>, path: &[&str]) {
    let same = |v: RawJson<'_>| v.as_json_str().is_some_and(|s| s.raw() == decoded.raw());
    assert!(
        any_at(data, path, &same),
        "decoded {path:?} = {decoded:?} is in no such member"
    );
}

/// A decoded optional string: as [`check_str`], and `None` only where a member is `null`
/// or none is a string.
fn check_opt_str(decoded: Option<JsonStr<'_>>, data: Option<RawJson<'_>>, path: &[&str]) {
    match decoded {
        Some(s) => check_str(s, data, path),
        None => assert!(
            any_at(data, path, &|v| v.is_null())
                || !any_at(data, path, &|v| v.as_json_str().is_some()),
            "decoded {path:?} = None, but it is a string"
        ),
    }
}

fn check_i64(decoded: i64, data: Option<RawJson<'_>>, path: &[&str]) {
    let same = |v: RawJson<'_>| v.as_i64() == Some(decoded);
    assert!(
        any_at(data, path, &same),
        "decoded {path:?} = {decoded} is in no such member"
    );
}

fn check_bool(decoded: bool, data: Option<RawJson<'_>>, path: &[&str]) {
    let same = |v: RawJson<'_>| v.as_bool() == Some(decoded);
    assert!(
        any_at(data, path, &same),
        "decoded {path:?} = {decoded} is in no such member"
    );
}

/// The decoded server and client ends of a SPICE connection event equal the raw members.
fn check_basic(
    server: &crate::schema::events::SpiceBasicInfo<'_>,
    client: &crate::schema::events::SpiceBasicInfo<'_>,
    data: Option<RawJson<'_>>,
) {
    for (info, side) in [(server, "server"), (client, "client")] {
        check_str(info.host, data, &[side, "host"]);
        check_opt_str(info.port, data, &[side, "port"]);
    }
}

fn typed_event<const N: usize>(event: &message::EventMessage<'_>, tracker: &mut SpiceSessions<N>) {
    for name in EVENT_NAMES {
        if let Ok(ev) = TypedEvent::decode(name, event.data) {
            assert_eq!(ev.name(), name);
        }
    }
    let Ok(ev) = TypedEvent::from_message(event) else {
        return;
    };
    if ev.is_known() {
        assert!(
            event.name == ev.name(),
            "typed event renamed {:?}",
            event.name
        );
    } else if let TypedEvent::Unknown { name, data } = ev {
        assert_eq!(name, event.name.raw());
        assert_eq!(data, event.data);
    }
    let data = event.data;
    let mut client_len = None;
    match ev {
        TypedEvent::SpiceConnected(e) => {
            check_basic(&e.server, &e.client, data);
            client_len = Some((e.client.host, e.client.port));
        }
        TypedEvent::SpiceDisconnected(e) => {
            check_basic(&e.server, &e.client, data);
            client_len = Some((e.client.host, e.client.port));
        }
        TypedEvent::SpiceInitialized(e) => {
            let c = &e.client;
            check_str(c.host, data, &["client", "host"]);
            check_opt_str(c.port, data, &["client", "port"]);
            check_i64(c.connection_id, data, &["client", "connection-id"]);
            check_i64(c.channel_type, data, &["client", "channel-type"]);
            check_i64(c.channel_id, data, &["client", "channel-id"]);
            check_bool(c.tls, data, &["client", "tls"]);
            check_str(e.server.host, data, &["server", "host"]);
            client_len = Some((c.host, c.port));
        }
        TypedEvent::BalloonChange(e) => check_i64(e.actual, data, &["actual"]),
        TypedEvent::RtcChange(e) => {
            check_i64(e.offset, data, &["offset"]);
            check_opt_str(e.qom_path, data, &["qom-path"]);
        }
        TypedEvent::DeviceDeleted(e) => {
            check_opt_str(e.device, data, &["device"]);
            check_opt_str(e.path, data, &["path"]);
        }
        _ => {}
    }

    let before = tracker.len();
    let result = tracker.handle(&ev);
    let after = tracker.len();
    assert!(after <= tracker.capacity(), "tracker holds {after} of {N}");
    assert_eq!(tracker.connections().count(), after);
    assert!(tracker.sessions().count() <= after);
    for session in tracker.sessions() {
        assert!(
            session.channels < after,
            "a session counts more channels than tracked"
        );
    }
    let too_long = client_len.is_some_and(|(host, port)| {
        host.unescaped_len() > HOST_MAX || port.is_some_and(|p| p.unescaped_len() > PORT_MAX)
    });
    match result {
        Err(e) => {
            assert_eq!(after, before, "a refused event changed the table");
            match e {
                SpiceError::Full { capacity } => {
                    assert_eq!(capacity, N);
                    assert_eq!(before, N, "Full with room left");
                }
                SpiceError::AddressTooLong => assert!(too_long, "AddressTooLong for a short one"),
            }
        }
        Ok(None) => {
            assert!(client_len.is_none(), "a SPICE event gave no outcome");
            assert_eq!(after, before);
        }
        Ok(Some(outcome)) => {
            assert!(!too_long, "recorded an address that does not fit");
            match outcome {
                SpiceOutcome::Opened { .. } | SpiceOutcome::ChannelAttached { .. } => {
                    assert!(after <= before + 1)
                }
                SpiceOutcome::Initialized { connection_id, .. } => {
                    assert!(after <= before + 1);
                    assert!(
                        tracker.session(connection_id).is_some(),
                        "an initialized session is not open"
                    );
                }
                SpiceOutcome::Closed { connection_id, .. } => {
                    assert_eq!(after + 1, before);
                    assert!(
                        tracker.session(connection_id).is_none(),
                        "a closed session is still open"
                    );
                }
                SpiceOutcome::ChannelDetached { .. } | SpiceOutcome::Abandoned { .. } => {
                    assert_eq!(after + 1, before)
                }
                SpiceOutcome::Untracked { .. } => assert_eq!(after, before),
            }
        }
    }
}

/// Decode a reply value as each common command's return type.
fn replies(value: RawJson<'_>) {
    let _ = QueryVersion::decode_return(value);
    let _ = QueryStatus::decode_return(value);
    let _ = QueryName::decode_return(value);
    if let Ok(list) = QueryCommands::decode_return(value) {
        assert_eq!(list.len(), list.iter().count());
    }
    if let Ok(spice) = QuerySpice::decode_return(value) {
        if let Some(channels) = spice.channels {
            assert_eq!(channels.len(), channels.iter().count());
        }
    }
    if let Ok(vnc) = QueryVnc::decode_return(value) {
        if let Some(clients) = vnc.clients {
            assert_eq!(clients.len(), clients.iter().count());
        }
    }
    let _ = QueryQmpSchema::decode_return(value);
}

/// Walk `array` as a `query-qmp-schema` reply through every view.
fn schema_views(array: RawJson<'_>) {
    use crate::schema::introspect::MetaType;

    let schema = Schema::from_json(array).expect("an array is a schema");
    assert_eq!(schema.len(), schema.iter().count());
    assert_eq!(schema.is_empty(), schema.iter().next().is_none());
    for (i, entry) in schema.iter().take(ENTRIES_MAX).enumerate() {
        let Ok(info) = entry else { continue };
        let meta = info.meta_type();
        let _ = info.features().count();
        let _ = info.has_feature("deprecated");
        for m in info.enum_members() {
            let _ = m.features().count();
        }
        for m in info.object_members() {
            let _ = (m.optional, m.features().count());
        }
        let _ = (info.variants().count(), info.alternate_members().count());
        let _ = (info.tag(), info.element_type(), info.arg_type());
        assert!(meta == MetaType::Builtin || info.json_type().is_none());
        assert!(meta == MetaType::Enum || info.enum_members().next().is_none());
        assert!(meta == MetaType::Object || info.object_members().next().is_none());
        assert!(meta == MetaType::Alternate || info.alternate_members().next().is_none());
        assert!(meta == MetaType::Command || (info.ret_type().is_none() && !info.allow_oob()));
        if i < 16 {
            if let Some(name) = info.name().as_str() {
                let found = schema.get(name).expect("an entry cannot be found by name");
                assert!(found.name() == name);
                assert_eq!(
                    schema.command(name).is_some(),
                    found.meta_type() == MetaType::Command
                );
                assert_eq!(
                    schema.event(name).is_some(),
                    found.meta_type() == MetaType::Event
                );
            }
        }
    }
}
