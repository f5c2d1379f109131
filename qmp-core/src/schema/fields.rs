//! Direct decoding of the schema's structs from a [`RawJson`] object: one walk over its
//! members, no serde.
//!
//! `from_members!` implements [`FromJson`](super::FromJson) for a struct from the list
//! of its fields (`field`, or `field = "wire-name"` when the names differ). The
//! generated `from_json` is a few calls, because the work happens in shared,
//! non-generic functions:
//!
//! 1. [`Fields::collect`] walks the object's members once, in wire order, and keeps
//!    each known member's value (still a [`RawJson`] view) in the slot of its name.
//!    Names are compared as raw bytes first, and unescaped only when they contain a
//!    backslash. Unknown members are skipped without being looked at; a known member
//!    given twice is an error, as it was with serde.
//! 2. Each field then takes the next slot with [`Member::member`], which dispatches on
//!    the field's type to one [`Value`] conversion per type (`JsonStr`, `bool`, `i64`,
//!    `u64`, `u32`, each open enum, each nested struct, [`RawList`]). An `Option`
//!    field is `None` when its member is absent or `null`; any other field's absence is
//!    [`DecodeErrorKind::MissingMember`].
//!
//! Conversions do not return `Result`s: the first error is recorded in [`Fields`]
//! (with the member's name) and a placeholder value stands in until
//! [`Fields::finish`] returns the error instead of the value. This keeps each field
//! down to one call, which matters for firmware size.
//!
//! Recursion is bounded by the schema, not by the input: only the fixed nesting of the
//! schema's own structs recurses (two levels at most, e.g. `GUEST_PANICKED` → `info`),
//! and everything else, however deep, is skipped by the iterative member walk. Lists
//! are [`RawList`]s, decoded element by element only when iterated.

use super::{DecodeError, DecodeErrorKind, RawList};
use crate::json::{JsonStr, Kind, RawJson};

/// Implement [`FromJson`](crate::schema::FromJson) (and [`Value`], so that the type can be
/// a member of another) for structs, from their fields: `field` when the member has the
/// field's name, `field = "wire-name"` otherwise. Every field's type must implement
/// [`Member`]. List the fields in the order QEMU sends the members where it is known:
/// the search for each member's name starts after the previous one's. See the
/// [module docs](self).
macro_rules! from_members {
    (@wire $field:ident) => { stringify!($field) };
    (@wire $field:ident $wire:literal) => { $wire };
    ($(
        $ty:ident $(<$lt:lifetime>)? { $( $field:ident $(= $wire:literal)? ),+ $(,)? }
    )+) => {$(
        impl<'a> $crate::schema::FromJson<'a> for $ty $(<$lt>)? {
            fn from_json(
                raw: $crate::json::RawJson<'a>,
            ) -> ::core::result::Result<Self, $crate::schema::DecodeError> {
                use $crate::schema::fields::{Fields, Member, Shape};
                const SHAPE: Shape = Shape {
                    what: stringify!($ty),
                    names: &[$( from_members!(@wire $field $($wire)?) ),+],
                };
                let mut slots = [None; SHAPE.names.len()];
                let mut fields = Fields::collect(raw, &SHAPE, &mut slots);
                // Fields are evaluated in the order written: the order of `SHAPE.names`.
                let value = Self { $( $field: Member::member(&mut fields), )+ };
                fields.finish(value)
            }
        }

        impl<'a> $crate::schema::fields::Value<'a> for $ty $(<$lt>)? {
            fn value(
                raw: $crate::json::RawJson<'a>,
                fields: &mut $crate::schema::fields::Fields<'a, '_>,
            ) -> Self {
                if fields.check_kind(raw, $crate::json::Kind::Object) {
                    match <Self as $crate::schema::FromJson<'a>>::from_json(raw) {
                        Ok(value) => return value,
                        Err(error) => fields.fail_inside(error, raw),
                    }
                }
                <Self as $crate::schema::fields::Value<'a>>::placeholder()
            }

            fn placeholder() -> Self {
                use $crate::schema::fields::Member;
                Self { $( $field: Member::placeholder(), )+ }
            }
        }
    )+};
}

/// A type that a present, non-`null` member value converts into.
pub(crate) trait Value<'a>: Sized {
    /// Convert `raw`, the value of the member `fields` is at. On failure, record the
    /// error in `fields` and return a [`placeholder`](Value::placeholder).
    fn value(raw: RawJson<'a>, fields: &mut Fields<'a, '_>) -> Self;

    /// A value to return with an error (it is never seen: the decode fails).
    fn placeholder() -> Self;
}

/// A struct field: a required [`Value`], or an `Option` of one (absent or `null`:
/// `None`).
pub(crate) trait Member<'a>: Sized {
    /// Convert the next member of `fields`; on failure, record the error there.
    fn member(fields: &mut Fields<'a, '_>) -> Self;

    /// A value to return with an error.
    fn placeholder() -> Self;
}

// Not inlined: one function per field type, so that each field of each struct costs a
// call rather than a copy of this code.
impl<'a, T: Value<'a>> Member<'a> for T {
    #[inline(never)]
    fn member(fields: &mut Fields<'a, '_>) -> Self {
        match fields.required() {
            Some(raw) => T::value(raw, fields),
            None => <T as Value<'a>>::placeholder(),
        }
    }

    fn placeholder() -> Self {
        <T as Value<'a>>::placeholder()
    }
}

impl<'a, T: Value<'a>> Member<'a> for Option<T> {
    #[inline(never)]
    fn member(fields: &mut Fields<'a, '_>) -> Self {
        fields.optional().map(|raw| T::value(raw, fields))
    }

    fn placeholder() -> Self {
        None
    }
}

/// What a struct's decoder looks for.
pub(crate) struct Shape {
    /// The type's name (for errors).
    pub(crate) what: &'static str,
    /// Its members' names, in field order.
    pub(crate) names: &'static [&'static str],
}

/// One object's known members, collected in a single walk, handed out in field order,
/// with the first error met on the way.
pub(crate) struct Fields<'a, 's> {
    /// The object being decoded (errors count their offsets from its start).
    object: RawJson<'a>,
    /// The type being decoded (for errors).
    what: &'static str,
    /// The member names, in field order.
    names: &'static [&'static str],
    /// The value of each named member, if present.
    slots: &'s [Option<RawJson<'a>>],
    /// The next field; `next - 1` is the field being converted.
    next: usize,
    error: Option<DecodeError>,
}

impl<'a, 's> Fields<'a, 's> {
    /// Walk `raw`'s members once and store the value of each member named in `names` in
    /// the slot of the same index, ignoring other members. `raw` must be an object, and
    /// a named member may appear only once (under any spelling).
    pub(crate) fn collect(
        raw: RawJson<'a>,
        shape: &'static Shape,
        slots: &'s mut [Option<RawJson<'a>>],
    ) -> Self {
        let Shape { what, names } = *shape;
        let error = collect(raw, what, names, slots).err();
        Self {
            object: raw,
            what,
            names,
            slots,
            next: 0,
            error,
        }
    }

    /// The value of the next field's member, if present; moves on to that field.
    fn next(&mut self) -> Option<RawJson<'a>> {
        let slot = self.slots.get(self.next).copied().flatten();
        self.next += 1;
        slot
    }

    /// The value of the next field's member, which is required (its absence is
    /// recorded).
    #[inline(never)]
    fn required(&mut self) -> Option<RawJson<'a>> {
        let slot = self.next();
        if slot.is_none() {
            self.missing();
        }
        slot
    }

    /// The value of the next field's member, which is optional (`null` is absent).
    #[inline(never)]
    fn optional(&mut self) -> Option<RawJson<'a>> {
        self.next().filter(|raw| !raw.is_null())
    }

    /// The decoded value, or the first error.
    pub(crate) fn finish<T>(self, value: T) -> Result<T, DecodeError> {
        match self.error {
            None => Ok(value),
            Some(error) => Err(error),
        }
    }

    /// Record `error` unless an earlier one is recorded.
    #[cold]
    #[inline(never)]
    pub(crate) fn fail(&mut self, error: DecodeError) {
        if self.error.is_none() {
            self.error = Some(error);
        }
    }

    /// Record `error`, which a nested value `inner` reported relative to its own start.
    #[cold]
    #[inline(never)]
    pub(crate) fn fail_inside(&mut self, error: DecodeError, inner: RawJson<'_>) {
        let base = self.offset(inner);
        self.fail(DecodeError::at(error.kind, base + error.offset));
    }

    /// Where `part` starts in the object.
    fn offset(&self, part: RawJson<'_>) -> usize {
        self.object.offset_of(part.as_bytes()).unwrap_or(0)
    }

    /// The name of the field being converted.
    fn member(&self) -> &'static str {
        self.names
            .get(self.next.wrapping_sub(1))
            .copied()
            .unwrap_or_default()
    }

    /// The current field's member is absent.
    #[cold]
    #[inline(never)]
    fn missing(&mut self) {
        self.fail(
            DecodeErrorKind::MissingMember {
                what: self.what,
                member: self.member(),
            }
            .into(),
        );
    }

    /// The current field's value `raw` is not of kind `expected` (or, for a number, not
    /// an integer in range).
    #[cold]
    #[inline(never)]
    fn invalid(&mut self, raw: RawJson<'_>, expected: Kind) {
        let kind = DecodeErrorKind::InvalidMember {
            what: self.what,
            member: self.member(),
            expected,
            found: raw.kind(),
        };
        self.fail(DecodeError::at(kind, self.offset(raw)));
    }

    /// Whether `raw` is of kind `expected`; records the error if not.
    pub(crate) fn check_kind(&mut self, raw: RawJson<'_>, expected: Kind) -> bool {
        let ok = raw.kind() == expected;
        if !ok {
            self.invalid(raw, expected);
        }
        ok
    }
}

/// See [`Fields::collect`].
fn collect<'a>(
    raw: RawJson<'a>,
    what: &'static str,
    names: &'static [&'static str],
    slots: &mut [Option<RawJson<'a>>],
) -> Result<(), DecodeError> {
    let found = raw.kind();
    if found != Kind::Object {
        return Err(DecodeErrorKind::WrongKind {
            what,
            expected: Kind::Object,
            found,
        }
        .into());
    }
    let mut next = 0;
    for (key, value) in raw.members() {
        let Some(i) = key.find_in(names, next) else {
            continue;
        };
        if let (Some(slot), Some(&member)) = (slots.get_mut(i), names.get(i)) {
            if slot.is_some() {
                let offset = raw.offset_of(value.as_bytes()).unwrap_or(0);
                return Err(DecodeError::at(
                    DecodeErrorKind::DuplicateMember { what, member },
                    offset,
                ));
            }
            *slot = Some(value);
        }
        next = i + 1;
    }
    Ok(())
}

/// The empty string, as a placeholder.
const EMPTY: JsonStr<'static> = JsonStr::from_raw(b"");

impl<'a> Value<'a> for JsonStr<'a> {
    fn value(raw: RawJson<'a>, fields: &mut Fields<'a, '_>) -> Self {
        match raw.as_json_str() {
            Some(s) => s,
            None => {
                fields.invalid(raw, Kind::String);
                EMPTY
            }
        }
    }

    fn placeholder() -> Self {
        EMPTY
    }
}

impl<'a> Value<'a> for bool {
    fn value(raw: RawJson<'a>, fields: &mut Fields<'a, '_>) -> Self {
        match raw.as_bool() {
            Some(b) => b,
            None => {
                fields.invalid(raw, Kind::Bool);
                false
            }
        }
    }

    fn placeholder() -> Self {
        false
    }
}

impl<'a> Value<'a> for i64 {
    fn value(raw: RawJson<'a>, fields: &mut Fields<'a, '_>) -> Self {
        match raw.as_i64() {
            Some(n) => n,
            None => {
                fields.invalid(raw, Kind::Number);
                0
            }
        }
    }

    fn placeholder() -> Self {
        0
    }
}

impl<'a> Value<'a> for u64 {
    fn value(raw: RawJson<'a>, fields: &mut Fields<'a, '_>) -> Self {
        match raw.as_u64() {
            Some(n) => n,
            None => {
                fields.invalid(raw, Kind::Number);
                0
            }
        }
    }

    fn placeholder() -> Self {
        0
    }
}

impl<'a> Value<'a> for u32 {
    fn value(raw: RawJson<'a>, fields: &mut Fields<'a, '_>) -> Self {
        match raw.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) => n,
            None => {
                fields.invalid(raw, Kind::Number);
                0
            }
        }
    }

    fn placeholder() -> Self {
        0
    }
}

impl<'a, T> Value<'a> for RawList<'a, T> {
    fn value(raw: RawJson<'a>, fields: &mut Fields<'a, '_>) -> Self {
        let raw = if fields.check_kind(raw, Kind::Array) {
            raw
        } else {
            RawJson::trusted(b"[]")
        };
        RawList::trusted(raw)
    }

    fn placeholder() -> Self {
        RawList::trusted(RawJson::trusted(b"[]"))
    }
}
