//! Semantic views of QMP messages for comparing our parser and encoder with an
//! independent reading (serde_json).
//!
//! - [`describe`] turns a parsed [`Message`] into a `serde_json::Value` that says what the
//!   message means (kind, name, id, payload), using only our own accessors for names and
//!   strings and serde_json for the embedded raw values.
//! - [`expect`] computes the same description straight from serde_json's reading of the
//!   message text, by QMP's rules (the kind given by which top-level key is present;
//!   see [`kind_of`]), without our parser.
//! - [`canonical`] is the object our encoder should write for a message, as serde_json
//!   sees it: the protocol members only, unknown members dropped.
//! - [`same`] compares JSON values as serde_json does, except that numbers compare by
//!   value (`-0` equals `0`, `1.0` equals `1`).
//! - [`raw_matches`] walks a [`RawJson`] with our own accessors (members, elements,
//!   unescaped strings, `as_i64`/`as_u64`/`as_f64`) and checks it against a value.
//!
//! The crate's own checks, shared with the fuzz harnesses, are in
//! `qmp_core::fuzz::oracle`: the compact-ASCII check on encoder output, and JSON texts
//! compared by meaning on the stack. The catalogued event names are
//! `qmp_core::schema::events::EVENT_NAMES`.

use qmp_core::json::{JsonStr, Kind, RawJson};
use qmp_core::message::{ErrorClass, Message, QemuVersion};
use serde_json::{json, Number, Value};

/// A JSON string decoded by our own unescaper.
pub fn text(s: JsonStr<'_>) -> String {
    s.chars().collect()
}

/// serde_json's reading of a raw value.
pub fn value(raw: RawJson<'_>) -> Value {
    serde_json::from_slice(raw.as_bytes())
        .unwrap_or_else(|e| panic!("serde_json rejects {raw:?}: {e}"))
}

/// A description object: `(key, value)` pairs, absent optional members left out (so
/// an absent member and a `null` one differ).
fn obj<const N: usize>(members: [(&str, Option<Value>); N]) -> Value {
    Value::Object(
        members
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_owned(), v?)))
            .collect(),
    )
}

/// An error class by name, decoded.
pub fn class_name(class: &ErrorClass<'_>) -> String {
    match class {
        ErrorClass::Other(name) => text(*name),
        known => known.name().to_owned(),
    }
}

/// What `message` means, as a JSON value (see the module docs). Absent optional members
/// are left out of the description.
pub fn describe(message: &Message<'_>) -> Value {
    let s = |v: &str| Some(Value::String(v.to_owned()));
    match message {
        Message::Greeting(g) => obj([
            ("kind", s("greeting")),
            (
                "version",
                g.version.map(|v| {
                    obj([
                        (
                            "qemu",
                            Some(match v.qemu {
                                QemuVersion::Triple {
                                    major,
                                    minor,
                                    micro,
                                } => json!([major, minor, micro]),
                                QemuVersion::Text(s) => Value::String(text(s)),
                            }),
                        ),
                        ("package", v.package.map(|p| Value::String(text(p)))),
                    ])
                }),
            ),
            ("capabilities", Some(value(g.capabilities))),
        ]),
        Message::Request(c) => obj([
            ("kind", s("command")),
            ("name", Some(Value::String(text(c.name)))),
            ("oob", Some(Value::Bool(c.oob))),
            ("arguments", c.arguments.map(value)),
            ("id", c.id.map(value)),
        ]),
        Message::Return(r) => obj([
            ("kind", s("return")),
            ("value", Some(value(r.value))),
            ("id", r.id.map(value)),
        ]),
        Message::Error(e) => obj([
            ("kind", s("error")),
            ("class", Some(Value::String(class_name(&e.class)))),
            ("desc", Some(Value::String(text(e.desc)))),
            ("data", e.data.map(value)),
            ("id", e.id.map(value)),
        ]),
        Message::Event(e) => obj([
            ("kind", s("event")),
            ("name", Some(Value::String(text(e.name)))),
            ("data", e.data.map(value)),
            (
                "timestamp",
                Some(json!([e.timestamp.seconds, e.timestamp.microseconds])),
            ),
        ]),
    }
}

/// The kind QMP's rules give an object by its keys (`QMP` greeting, `execute` or
/// `exec-oob` command, `return`, `error`, `event`; other members do not count), or `None`
/// when it has none or several of the kinds' keys (`execute` with `exec-oob` included).
pub fn kind_of(v: &Value) -> Option<&'static str> {
    let o = v.as_object()?;
    let kinds: Vec<&'static str> = [
        ("QMP", "greeting"),
        ("execute", "command"),
        ("exec-oob", "command"),
        ("return", "return"),
        ("error", "error"),
        ("event", "event"),
    ]
    .iter()
    .filter(|(key, _)| o.contains_key(*key))
    .map(|(_, kind)| *kind)
    .collect();
    match kinds.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

/// An integer as serde_json reads it, as `i64` (timestamps) or `u64` (versions); other
/// numbers as they are (serde_json reads `-0` as a float).
fn int(v: &Value) -> Value {
    match (v.as_i64(), v.as_u64()) {
        (Some(i), _) => i.into(),
        (None, Some(u)) => u.into(),
        _ => v.clone(),
    }
}

/// The description [`describe`] should give for the message serde_json read as `v`;
/// `None` if it is not a QMP message by QMP's rules.
pub fn expect(v: &Value) -> Option<Value> {
    let o = v.as_object()?;
    let s = |v: &str| Some(Value::String(v.to_owned()));
    let get = |key: &str| o.get(key).cloned();
    Some(match kind_of(v)? {
        "greeting" => {
            let qmp = o["QMP"].as_object()?;
            let version = qmp.get("version").map(|v| {
                let qemu = match &v["qemu"] {
                    Value::String(s) => Value::String(s.clone()),
                    q => json!([int(&q["major"]), int(&q["minor"]), int(&q["micro"])]),
                };
                obj([("qemu", Some(qemu)), ("package", v.get("package").cloned())])
            });
            obj([
                ("kind", s("greeting")),
                ("version", version),
                ("capabilities", qmp.get("capabilities").cloned()),
            ])
        }
        "command" => {
            let (name, oob) = match (o.get("execute"), o.get("exec-oob")) {
                (Some(n), None) => (
                    n,
                    o.get("control").and_then(|c| c.get("run-oob")) == Some(&json!(true)),
                ),
                (None, Some(n)) => (n, true),
                _ => return None,
            };
            obj([
                ("kind", s("command")),
                ("name", Some(name.clone())),
                ("oob", Some(Value::Bool(oob))),
                ("arguments", get("arguments")),
                ("id", get("id")),
            ])
        }
        "return" => obj([
            ("kind", s("return")),
            ("value", get("return")),
            ("id", get("id")),
        ]),
        "error" => {
            let e = o["error"].as_object()?;
            obj([
                ("kind", s("error")),
                ("class", e.get("class").cloned()),
                ("desc", e.get("desc").cloned()),
                ("data", e.get("data").cloned()),
                ("id", get("id")),
            ])
        }
        "event" => obj([
            ("kind", s("event")),
            ("name", get("event")),
            ("data", get("data")),
            (
                "timestamp",
                Some(json!([
                    int(&o["timestamp"]["seconds"]),
                    int(&o["timestamp"]["microseconds"])
                ])),
            ),
        ]),
        _ => unreachable!(),
    })
}

/// The object the encoder should write for the message serde_json read as `v`: the
/// protocol members of its kind only (QEMU 2.12's `control: {"run-oob": true}` becomes
/// `exec-oob`), version triples reduced to their three numbers.
pub fn canonical(v: &Value) -> Option<Value> {
    let d = expect(v)?;
    let get = |key: &str| d.get(key).cloned();
    Some(match d["kind"].as_str().unwrap() {
        "greeting" => {
            let version = d.get("version").map(|v| {
                let qemu = match &v["qemu"] {
                    Value::Array(t) => json!({"major": t[0], "minor": t[1], "micro": t[2]}),
                    s => s.clone(),
                };
                obj([("qemu", Some(qemu)), ("package", v.get("package").cloned())])
            });
            obj([(
                "QMP",
                Some(obj([
                    ("version", version),
                    ("capabilities", get("capabilities")),
                ])),
            )])
        }
        "command" => {
            let key = if d["oob"] == json!(true) {
                "exec-oob"
            } else {
                "execute"
            };
            obj([
                (key, get("name")),
                ("arguments", get("arguments")),
                ("id", get("id")),
            ])
        }
        "return" => obj([("return", get("value")), ("id", get("id"))]),
        "error" => obj([
            ("id", get("id")),
            (
                "error",
                Some(obj([
                    ("class", get("class")),
                    ("desc", get("desc")),
                    ("data", get("data")),
                ])),
            ),
        ]),
        "event" => obj([
            (
                "timestamp",
                Some(json!({"seconds": d["timestamp"][0], "microseconds": d["timestamp"][1]})),
            ),
            ("event", get("name")),
            ("data", get("data")),
        ]),
        _ => unreachable!(),
    })
}

/// Numbers equal by value: exactly as integers when both are, else as `f64` (so `-0`,
/// `0.0` and `0` are equal).
pub fn same_number(a: &Number, b: &Number) -> bool {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x == y;
    }
    // A float on either side (or a negative integer against one beyond i64).
    a.as_f64() == b.as_f64()
}

/// JSON equality with numbers compared by value.
///
/// Not the oracle's `json_eq`: this compares the `Value`s serde_json built, an independent
/// reading of the text (objects as maps, so member order does not count; numbers as
/// serde_json parsed them), which is what these tests set against our parser.
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => same_number(x, y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Whether our accessors read `raw` as `v`: same kind, members (unescaped names, in any
/// order, no extras), elements, unescaped strings, and numbers. Integers must come back
/// exactly through `as_i64`/`as_u64`; floats through `as_f64` (Rust's correctly rounded
/// parser, so the text must round-trip the exact `f64`). Returns the first difference.
pub fn raw_matches(v: &Value, raw: RawJson<'_>) -> Result<(), String> {
    let fail = |what: &str| Err(format!("{what}: want {v}, got {raw:?}"));
    match v {
        Value::Null => {
            if !raw.is_null() || raw.kind() != Kind::Null {
                return fail("null");
            }
        }
        Value::Bool(b) => {
            if raw.as_bool() != Some(*b) || raw.kind() != Kind::Bool {
                return fail("bool");
            }
        }
        Value::Number(n) => {
            if raw.kind() != Kind::Number {
                return fail("number kind");
            }
            let ok = if let Some(i) = n.as_i64() {
                raw.as_i64() == Some(i) && (i < 0 || raw.as_u64() == Some(i as u64))
            } else if let Some(u) = n.as_u64() {
                raw.as_u64() == Some(u) && raw.as_i64().is_none()
            } else {
                raw.as_f64() == n.as_f64()
            };
            if !ok {
                return fail("number");
            }
        }
        Value::String(s) => match raw.as_json_str() {
            Some(js) if text(js) == *s && js == s.as_str() => {}
            _ => return fail("string"),
        },
        Value::Array(items) => {
            if raw.kind() != Kind::Array {
                return fail("array kind");
            }
            let got: Vec<RawJson<'_>> = raw.elements().collect();
            if got.len() != items.len() {
                return fail("array length");
            }
            for (i, (want, got)) in items.iter().zip(got).enumerate() {
                raw_matches(want, got).map_err(|e| format!("[{i}]: {e}"))?;
            }
        }
        Value::Object(members) => {
            if raw.kind() != Kind::Object {
                return fail("object kind");
            }
            let got: Vec<(String, RawJson<'_>)> =
                raw.members().map(|(k, v)| (text(k), v)).collect();
            if got.len() != members.len() {
                return fail("member count");
            }
            for (key, got) in got {
                let Some(want) = members.get(&key) else {
                    return fail(&format!("unexpected member {key:?}"));
                };
                raw_matches(want, got).map_err(|e| format!(".{key}: {e}"))?;
                // `get` finds the member by its unescaped name too.
                if raw.get(&key) != Some(got) {
                    return fail(&format!("get({key:?})"));
                }
            }
        }
    }
    Ok(())
}
