//! The byte reader that turns an `encode_arbitrary` input into the parts of a message:
//! names, ids, strings and payloads of every kind. Reads past the end give zeros, so
//! every input builds a message.

use super::generator::Tree;
use super::{json, utf8_prefix};
use crate::encode::{Id, Text};
use crate::json::{JsonStr, RawJson};

/// A byte reader over an [`encode_arbitrary`](super::encode_arbitrary()) input; reads
/// past the end give zeros.
pub(super) struct Reader<'a> {
    pub(super) data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let (a, b) = self.data.split_at(n.min(self.data.len()));
        self.data = b;
        a
    }

    pub(super) fn u64(&mut self) -> u64 {
        let mut v = [0u8; 8];
        let s = self.take(8);
        v[..s.len()].copy_from_slice(s);
        u64::from_le_bytes(v)
    }

    fn len(&mut self, max: usize) -> usize {
        let lo = usize::from(self.byte());
        let hi = usize::from(self.byte());
        (hi << 8 | lo) % (max + 1)
    }

    fn str(&mut self) -> &'a str {
        let n = usize::from(self.byte() % 48);
        utf8_prefix(self.take(n))
    }

    /// Some raw JSON text from the input, or `None` if it is not valid.
    pub(super) fn raw(&mut self) -> Option<RawJson<'a>> {
        let n = self.len(256);
        RawJson::parse(self.take(n)).ok()
    }

    /// A string from the input: Rust text, or a still-escaped JSON string.
    pub(super) fn text(&mut self) -> Text<'a> {
        if self.byte() & 1 == 0 {
            return Text::Str(self.str());
        }
        match self.raw().and_then(|r| r.as_json_str()) {
            Some(s) => Text::Json(s),
            None => Text::Str(self.str()),
        }
    }

    pub(super) fn id(&mut self) -> Option<Id<'a>> {
        match self.byte() % 6 {
            0 => None,
            1 => Some(Id::U64(self.u64())),
            2 => Some(Id::I64(self.u64() as i64)),
            3 => Some(Id::Str(self.str())),
            _ => Some(Id::Raw(self.raw().unwrap_or(json(b"null")))),
        }
    }

    pub(super) fn payload(&mut self) -> Pay<'a> {
        match self.byte() % 10 {
            0 => Pay::Empty,
            1 => Pay::Unit,
            2 => Pay::Null,
            3 => match self.text() {
                Text::Str(s) => Pay::Text(s),
                Text::Json(s) => Pay::Json(s),
            },
            4..=6 => match self.raw() {
                Some(raw) => Pay::Raw(raw),
                None => Pay::Empty,
            },
            _ => {
                let n = self.len(512);
                Pay::Ser(Tree::new(self.take(n)))
            }
        }
    }
}

/// A payload for [`encode_arbitrary`](super::encode_arbitrary()), one of each
/// [`encode::Payload`](crate::encode::Payload) kind.
pub(super) enum Pay<'a> {
    Ser(Tree<'a>),
    Raw(RawJson<'a>),
    Text(&'a str),
    Json(JsonStr<'a>),
    Empty,
    Unit,
    Null,
}
