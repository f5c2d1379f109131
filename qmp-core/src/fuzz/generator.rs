//! [`Tree`]: a serde value generated from fuzzer bytes, covering the whole serde data
//! model, for `encode_arbitrary` and the reference serializer it is compared with.

use core::cell::Cell;

use serde::ser::{
    Serialize, SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant, SerializeTuple,
    SerializeTupleStruct, SerializeTupleVariant, Serializer,
};

use super::utf8_prefix;

/// A [`Tree`] value builds at most this many nodes.
const TREE_NODES: u32 = 256;
const TREE_DEPTH: u8 = 12;

pub(super) const NON_FINITE: u8 = 1;
pub(super) const BAD_KEY: u8 = 2;
/// Not a refusal: the value has an `f32`, whose shortest digits may break a tie the other
/// way than the reference's (`3988696.25f32`: ours `3988696.3`, ryu's `3988696.2`; both
/// read back as the same `f32`).
pub(super) const HAS_F32: u8 = 4;

const VARIANTS: [&str; 7] = ["A", "Variant", "é", "x\"y", "\u{1F600}", "", "\n\t"];
const FIELDS: [&str; 10] = [
    "execute",
    "arguments",
    "id",
    "a",
    "",
    "naïve",
    "tab\t",
    "quote\"",
    "\u{7f}",
    "😀",
];

/// A serde value generated from fuzzer bytes, for
/// [`encode_arbitrary`](super::encode_arbitrary()): every call to `serialize` replays the
/// same value (the whole serde data model: integers up to 128 bits, floats from raw bits
/// including NaN, chars, strings, bytes, options, unit and newtype structs, every kind of
/// enum variant, sequences, tuples, maps with keys of every kind, structs with skipped
/// fields). Public so that a reference serializer can render it.
pub struct Tree<'a> {
    bytes: &'a [u8],
    pos: Cell<usize>,
    nodes: Cell<u32>,
    flags: Cell<u8>,
}

impl<'a> Tree<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            pos: Cell::new(0),
            nodes: Cell::new(0),
            flags: Cell::new(0),
        }
    }

    /// What the last `serialize` produced that our serializer must refuse:
    /// [`NON_FINITE`] floats, [`BAD_KEY`] map keys.
    pub(super) fn flags(&self) -> u8 {
        self.flags.get()
    }

    fn flag(&self, f: u8) {
        self.flags.set(self.flags.get() | f);
    }

    fn byte(&self) -> u8 {
        let p = self.pos.get();
        match self.bytes.get(p) {
            Some(&b) => {
                self.pos.set(p + 1);
                b
            }
            None => 0,
        }
    }

    fn take(&self, n: usize) -> &'a [u8] {
        let p = self.pos.get().min(self.bytes.len());
        let end = p.saturating_add(n).min(self.bytes.len());
        self.pos.set(end);
        &self.bytes[p..end]
    }

    fn array<const N: usize>(&self) -> [u8; N] {
        let mut out = [0u8; N];
        let s = self.take(N);
        out[..s.len()].copy_from_slice(s);
        out
    }

    fn u64(&self) -> u64 {
        u64::from_le_bytes(self.array())
    }

    fn u128(&self) -> u128 {
        u128::from_le_bytes(self.array())
    }

    fn str(&self) -> &'a str {
        let n = usize::from(self.byte() % 40);
        utf8_prefix(self.take(n))
    }

    fn count(&self) -> usize {
        usize::from(self.byte() % 6)
    }

    fn pick<'s>(&self, names: &[&'s str]) -> (u32, &'s str) {
        let i = usize::from(self.byte()) % names.len();
        (i as u32, names[i])
    }
}

impl Serialize for Tree<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.pos.set(0);
        self.nodes.set(0);
        self.flags.set(0);
        Node {
            tree: self,
            depth: 0,
        }
        .serialize(s)
    }
}

/// One value of a [`Tree`].
struct Node<'t, 'a> {
    tree: &'t Tree<'a>,
    depth: u8,
}

/// A map key of a [`Tree`].
struct Key<'t, 'a>(&'t Tree<'a>);

impl Serialize for Node<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.tree;
        let op = t.byte();
        t.nodes.set(t.nodes.get() + 1);
        let leaf = self.depth >= TREE_DEPTH || t.nodes.get() >= TREE_NODES;
        let child = Node {
            tree: t,
            depth: self.depth + 1,
        };
        match op % 32 {
            0 => s.serialize_bool(op >= 128),
            1 => s.serialize_i64(t.u64() as i64),
            2 => s.serialize_u64(t.u64()),
            3 => s.serialize_i8(t.byte() as i8),
            4 => s.serialize_i16(i16::from_le_bytes(t.array())),
            5 => s.serialize_i32(i32::from_le_bytes(t.array())),
            6 => s.serialize_u8(t.byte()),
            7 => s.serialize_u16(u16::from_le_bytes(t.array())),
            8 => s.serialize_u32(u32::from_le_bytes(t.array())),
            9 => s.serialize_i128(t.u128() as i128),
            10 => s.serialize_u128(t.u128()),
            11 => {
                let v = f64::from_bits(t.u64());
                if !v.is_finite() {
                    t.flag(NON_FINITE);
                }
                s.serialize_f64(v)
            }
            12 => {
                let v = f32::from_bits(u32::from_le_bytes(t.array()));
                t.flag(if v.is_finite() { HAS_F32 } else { NON_FINITE });
                s.serialize_f32(v)
            }
            13 => {
                let c = char::from_u32(u32::from_le_bytes(t.array()) % 0x11_0000);
                s.serialize_char(c.unwrap_or('\u{FFFD}'))
            }
            14 => s.serialize_str(t.str()),
            15 => {
                let n = usize::from(t.byte() % 16);
                s.serialize_bytes(t.take(n))
            }
            16 => s.serialize_none(),
            17 => s.serialize_unit(),
            18 => s.serialize_unit_struct("Unit"),
            19 => s.collect_str(t.str()),
            22 => {
                let (i, v) = t.pick(&VARIANTS);
                s.serialize_unit_variant("E", i, v)
            }
            _ if leaf => s.serialize_f64(f64::from(op) / 8.0),
            20 => s.serialize_some(&child),
            21 => s.serialize_newtype_struct("Newtype", &child),
            23 => {
                let (i, v) = t.pick(&VARIANTS);
                s.serialize_newtype_variant("E", i, v, &child)
            }
            24 => {
                let n = t.count();
                let mut seq = s.serialize_seq((op & 0x80 != 0).then_some(n))?;
                for _ in 0..n {
                    seq.serialize_element(&child)?;
                }
                seq.end()
            }
            25 => {
                let n = t.count();
                let mut tuple = s.serialize_tuple(n)?;
                for _ in 0..n {
                    tuple.serialize_element(&child)?;
                }
                tuple.end()
            }
            26 => {
                let n = t.count();
                let mut tuple = s.serialize_tuple_struct("T", n)?;
                for _ in 0..n {
                    tuple.serialize_field(&child)?;
                }
                tuple.end()
            }
            27 => {
                let (i, v) = t.pick(&VARIANTS);
                let n = t.count();
                let mut tuple = s.serialize_tuple_variant("E", i, v, n)?;
                for _ in 0..n {
                    tuple.serialize_field(&child)?;
                }
                tuple.end()
            }
            28 => {
                let n = t.count();
                let mut map = s.serialize_map((op & 0x80 != 0).then_some(n))?;
                for _ in 0..n {
                    if t.byte() & 1 == 0 {
                        map.serialize_entry(&Key(t), &child)?;
                    } else {
                        map.serialize_key(&Key(t))?;
                        map.serialize_value(&child)?;
                    }
                }
                map.end()
            }
            29 => {
                let n = t.count();
                let mut st = s.serialize_struct("S", n)?;
                for _ in 0..n {
                    let (_, name) = t.pick(&FIELDS);
                    if t.byte() & 3 == 0 {
                        st.skip_field(name)?;
                    } else {
                        st.serialize_field(name, &child)?;
                    }
                }
                st.end()
            }
            30 => {
                let (i, v) = t.pick(&VARIANTS);
                let n = t.count();
                let mut st = s.serialize_struct_variant("E", i, v, n)?;
                for _ in 0..n {
                    let (_, name) = t.pick(&FIELDS);
                    st.serialize_field(name, &child)?;
                }
                st.end()
            }
            _ => s.serialize_f64(f64::from(op) * 1e300),
        }
    }
}

impl Serialize for Key<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let op = t.byte();
        match op % 12 {
            0 => s.serialize_str(t.str()),
            1 => s.serialize_char(char::from(op)),
            2 => s.serialize_i64(t.u64() as i64),
            3 => s.serialize_u64(t.u64()),
            4 => s.serialize_bool(op >= 128),
            5 => s.serialize_i128(t.u128() as i128),
            6 => s.serialize_u128(t.u128()),
            7 => s.serialize_i8(op as i8),
            8 => {
                let (i, v) = t.pick(&VARIANTS);
                s.serialize_unit_variant("E", i, v)
            }
            9 => s.serialize_newtype_struct("K", t.str()),
            10 => {
                // No JSON key: refused by every serializer.
                t.flag(BAD_KEY);
                s.serialize_unit()
            }
            _ => {
                // serde_json writes finite float keys as strings; ours refuses them
                // (documented: keys are strings, chars, integers or booleans).
                t.flag(BAD_KEY);
                s.serialize_f64(f64::from(op) / 4.0)
            }
        }
    }
}
