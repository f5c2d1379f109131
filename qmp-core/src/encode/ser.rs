//! A serde [`Serializer`] that writes compact, ASCII-only JSON into a [`Sink`].

use core::fmt;

use serde::ser::{self, Impossible, Serialize};

use super::{write, EncodeError, Sink};

/// A serde serializer writing compact, ASCII-only JSON into a [`Sink`].
///
/// It covers the whole serde data model that JSON can express, laid out as serde_json
/// lays it out:
///
/// | serde | JSON |
/// |---|---|
/// | `bool`, integers (up to 128 bits) | `true`, `-12`, `340282366920938463463374607431768211455` |
/// | `f32`, `f64` | shortest round-trip digits: `0.1`, `1.0`, `1e16`, `1.5e-7`; NaN and infinities are [`EncodeError::NonFiniteFloat`] |
/// | `char`, `str`, `collect_str` | a string escaped as QEMU escapes it (see the [module docs](super)) |
/// | bytes | an array of numbers |
/// | `None`, `()`, unit struct | `null` |
/// | `Some(v)`, newtype struct | `v` |
/// | unit variant | `"Variant"` |
/// | newtype, tuple, struct variant | `{"Variant":v}`, `{"Variant":[…]}`, `{"Variant":{…}}` |
/// | seq, tuple, tuple struct | `[…]` |
/// | map, struct | `{…}`; map keys must be strings, chars, integers or booleans (the last two quoted), else [`EncodeError::KeyMustBeString`] |
///
/// The serializer is implemented for `&mut Serializer<S>`, as in serde_json:
///
/// ```
/// use qmp_core::encode::{Serializer, SliceSink};
/// use serde::Serialize;
///
/// let mut buf = [0u8; 32];
/// let mut sink = SliceSink::new(&mut buf);
/// (1, "é", [true]).serialize(&mut Serializer::new(&mut sink))?;
/// assert_eq!(sink.written(), br#"[1,"\u00E9",[true]]"#);
/// # Ok::<(), qmp_core::encode::EncodeError<qmp_core::encode::BufferFull>>(())
/// ```
#[derive(Debug)]
pub struct Serializer<S> {
    sink: S,
}

impl<S: Sink> Serializer<S> {
    /// A serializer writing into `sink` (pass `&mut sink` to keep it).
    pub const fn new(sink: S) -> Self {
        Self { sink }
    }

    /// The sink back.
    pub fn into_inner(self) -> S {
        self.sink
    }

    fn raw(&mut self, bytes: &[u8]) -> Result<(), EncodeError<S::Error>> {
        self.sink.write(bytes).map_err(EncodeError::Sink)
    }
}

/// A `fmt::Write` that escapes into a sink and keeps the sink's error.
struct Escaper<'a, S: Sink + ?Sized> {
    sink: &'a mut S,
    error: Option<S::Error>,
}

impl<S: Sink + ?Sized> fmt::Write for Escaper<'_, S> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write::string_body(self.sink, s).map_err(|e| {
            self.error = Some(e);
            fmt::Error
        })
    }
}

/// `"` + the escaped `Display` of `value` + `"`, without a buffer.
pub(super) fn collect_str<S, T>(sink: &mut S, value: &T) -> Result<(), EncodeError<S::Error>>
where
    S: Sink + ?Sized,
    T: fmt::Display + ?Sized,
{
    sink.write(b"\"")?;
    let mut escaper = Escaper { sink, error: None };
    if fmt::write(&mut escaper, format_args!("{value}")).is_err() {
        return Err(escaper.error.map_or(EncodeError::Custom, EncodeError::Sink));
    }
    sink.write(b"\"")?;
    Ok(())
}

impl<'a, S: Sink> ser::Serializer for &'a mut Serializer<S> {
    type Ok = ();
    type Error = EncodeError<S::Error>;
    type SerializeSeq = Compound<'a, S>;
    type SerializeTuple = Compound<'a, S>;
    type SerializeTupleStruct = Compound<'a, S>;
    type SerializeTupleVariant = Compound<'a, S>;
    type SerializeMap = Compound<'a, S>;
    type SerializeStruct = Compound<'a, S>;
    type SerializeStructVariant = Compound<'a, S>;

    fn serialize_bool(self, v: bool) -> Result<(), Self::Error> {
        self.raw(if v { b"true" } else { b"false" })
    }

    fn serialize_i8(self, v: i8) -> Result<(), Self::Error> {
        self.serialize_i64(v.into())
    }

    fn serialize_i16(self, v: i16) -> Result<(), Self::Error> {
        self.serialize_i64(v.into())
    }

    fn serialize_i32(self, v: i32) -> Result<(), Self::Error> {
        self.serialize_i64(v.into())
    }

    fn serialize_i64(self, v: i64) -> Result<(), Self::Error> {
        Ok(write::i64(&mut self.sink, v)?)
    }

    fn serialize_i128(self, v: i128) -> Result<(), Self::Error> {
        Ok(write::i128(&mut self.sink, v)?)
    }

    fn serialize_u8(self, v: u8) -> Result<(), Self::Error> {
        self.serialize_u64(v.into())
    }

    fn serialize_u16(self, v: u16) -> Result<(), Self::Error> {
        self.serialize_u64(v.into())
    }

    fn serialize_u32(self, v: u32) -> Result<(), Self::Error> {
        self.serialize_u64(v.into())
    }

    fn serialize_u64(self, v: u64) -> Result<(), Self::Error> {
        Ok(write::u64(&mut self.sink, v, false)?)
    }

    fn serialize_u128(self, v: u128) -> Result<(), Self::Error> {
        Ok(write::u128(&mut self.sink, v, false)?)
    }

    fn serialize_f32(self, v: f32) -> Result<(), Self::Error> {
        write::f32(&mut self.sink, v)
    }

    fn serialize_f64(self, v: f64) -> Result<(), Self::Error> {
        write::f64(&mut self.sink, v)
    }

    fn serialize_char(self, v: char) -> Result<(), Self::Error> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> Result<(), Self::Error> {
        Ok(write::string(&mut self.sink, v)?)
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), Self::Error> {
        let mut seq = ser::Serializer::serialize_seq(self, Some(v.len()))?;
        for byte in v {
            ser::SerializeSeq::serialize_element(&mut seq, byte)?;
        }
        ser::SerializeSeq::end(seq)
    }

    fn serialize_none(self) -> Result<(), Self::Error> {
        self.raw(b"null")
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Self::Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Self::Error> {
        self.raw(b"null")
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Self::Error> {
        self.raw(b"null")
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Self::Error> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        self.raw(b"{")?;
        write::string(&mut self.sink, variant)?;
        self.raw(b":")?;
        value.serialize(&mut *self)?;
        self.raw(b"}")
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a, S>, Self::Error> {
        self.raw(b"[")?;
        Ok(Compound::new(self, b"]"))
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, S>, Self::Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'a, S>, Self::Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, S>, Self::Error> {
        self.raw(b"{")?;
        write::string(&mut self.sink, variant)?;
        self.raw(b":[")?;
        Ok(Compound::new(self, b"]}"))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a, S>, Self::Error> {
        self.raw(b"{")?;
        Ok(Compound::new(self, b"}"))
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'a, S>, Self::Error> {
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, S>, Self::Error> {
        self.raw(b"{")?;
        write::string(&mut self.sink, variant)?;
        self.raw(b":{")?;
        Ok(Compound::new(self, b"}}"))
    }

    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result<(), Self::Error> {
        collect_str(&mut self.sink, value)
    }
}

/// An array or object being written: separators between elements or members, and the
/// closing bracket(s) at the end.
#[derive(Debug)]
pub struct Compound<'a, S> {
    ser: &'a mut Serializer<S>,
    first: bool,
    close: &'static [u8],
}

impl<'a, S: Sink> Compound<'a, S> {
    fn new(ser: &'a mut Serializer<S>, close: &'static [u8]) -> Self {
        Self {
            ser,
            first: true,
            close,
        }
    }

    fn separator(&mut self) -> Result<(), EncodeError<S::Error>> {
        if core::mem::take(&mut self.first) {
            Ok(())
        } else {
            self.ser.raw(b",")
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EncodeError<S::Error>> {
        self.separator()?;
        value.serialize(&mut *self.ser)
    }

    fn field<T: Serialize + ?Sized>(
        &mut self,
        key: &str,
        value: &T,
    ) -> Result<(), EncodeError<S::Error>> {
        self.separator()?;
        write::string(&mut self.ser.sink, key)?;
        self.ser.raw(b":")?;
        value.serialize(&mut *self.ser)
    }

    fn finish(self) -> Result<(), EncodeError<S::Error>> {
        self.ser.raw(self.close)
    }
}

impl<S: Sink> ser::SerializeSeq for Compound<'_, S> {
    type Ok = ();
    type Error = EncodeError<S::Error>;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Self::Error> {
        self.element(value)
    }

    fn end(self) -> Result<(), Self::Error> {
        self.finish()
    }
}

impl<S: Sink> ser::SerializeTuple for Compound<'_, S> {
    type Ok = ();
    type Error = EncodeError<S::Error>;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Self::Error> {
        self.element(value)
    }

    fn end(self) -> Result<(), Self::Error> {
        self.finish()
    }
}

impl<S: Sink> ser::SerializeTupleStruct for Compound<'_, S> {
    type Ok = ();
    type Error = EncodeError<S::Error>;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Self::Error> {
        self.element(value)
    }

    fn end(self) -> Result<(), Self::Error> {
        self.finish()
    }
}

impl<S: Sink> ser::SerializeTupleVariant for Compound<'_, S> {
    type Ok = ();
    type Error = EncodeError<S::Error>;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Self::Error> {
        self.element(value)
    }

    fn end(self) -> Result<(), Self::Error> {
        self.finish()
    }
}

impl<S: Sink> ser::SerializeMap for Compound<'_, S> {
    type Ok = ();
    type Error = EncodeError<S::Error>;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Self::Error> {
        self.separator()?;
        key.serialize(MapKey {
            sink: &mut self.ser.sink,
        })?;
        self.ser.raw(b":")
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Self::Error> {
        value.serialize(&mut *self.ser)
    }

    fn end(self) -> Result<(), Self::Error> {
        self.finish()
    }
}

impl<S: Sink> ser::SerializeStruct for Compound<'_, S> {
    type Ok = ();
    type Error = EncodeError<S::Error>;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        self.field(key, value)
    }

    fn end(self) -> Result<(), Self::Error> {
        self.finish()
    }
}

impl<S: Sink> ser::SerializeStructVariant for Compound<'_, S> {
    type Ok = ();
    type Error = EncodeError<S::Error>;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        self.field(key, value)
    }

    fn end(self) -> Result<(), Self::Error> {
        self.finish()
    }
}

/// Writes a map key: strings and chars as strings, integers and booleans quoted (as
/// serde_json does), anything else [`EncodeError::KeyMustBeString`].
struct MapKey<'a, S> {
    sink: &'a mut S,
}

impl<S: Sink> MapKey<'_, S> {
    fn quoted(
        self,
        f: impl FnOnce(&mut S) -> Result<(), S::Error>,
    ) -> Result<(), EncodeError<S::Error>> {
        self.sink.write(b"\"")?;
        f(&mut *self.sink)?;
        self.sink.write(b"\"")?;
        Ok(())
    }
}

type NoKey<E> = Impossible<(), EncodeError<E>>;

impl<S: Sink> ser::Serializer for MapKey<'_, S> {
    type Ok = ();
    type Error = EncodeError<S::Error>;
    type SerializeSeq = NoKey<S::Error>;
    type SerializeTuple = NoKey<S::Error>;
    type SerializeTupleStruct = NoKey<S::Error>;
    type SerializeTupleVariant = NoKey<S::Error>;
    type SerializeMap = NoKey<S::Error>;
    type SerializeStruct = NoKey<S::Error>;
    type SerializeStructVariant = NoKey<S::Error>;

    fn serialize_bool(self, v: bool) -> Result<(), Self::Error> {
        self.sink
            .write(if v { b"\"true\"" } else { b"\"false\"" })?;
        Ok(())
    }

    fn serialize_i8(self, v: i8) -> Result<(), Self::Error> {
        self.serialize_i64(v.into())
    }

    fn serialize_i16(self, v: i16) -> Result<(), Self::Error> {
        self.serialize_i64(v.into())
    }

    fn serialize_i32(self, v: i32) -> Result<(), Self::Error> {
        self.serialize_i64(v.into())
    }

    fn serialize_i64(self, v: i64) -> Result<(), Self::Error> {
        self.quoted(|sink| write::i64(sink, v))
    }

    fn serialize_i128(self, v: i128) -> Result<(), Self::Error> {
        self.quoted(|sink| write::i128(sink, v))
    }

    fn serialize_u8(self, v: u8) -> Result<(), Self::Error> {
        self.serialize_u64(v.into())
    }

    fn serialize_u16(self, v: u16) -> Result<(), Self::Error> {
        self.serialize_u64(v.into())
    }

    fn serialize_u32(self, v: u32) -> Result<(), Self::Error> {
        self.serialize_u64(v.into())
    }

    fn serialize_u64(self, v: u64) -> Result<(), Self::Error> {
        self.quoted(|sink| write::u64(sink, v, false))
    }

    fn serialize_u128(self, v: u128) -> Result<(), Self::Error> {
        self.quoted(|sink| write::u128(sink, v, false))
    }

    fn serialize_f32(self, _v: f32) -> Result<(), Self::Error> {
        Err(EncodeError::KeyMustBeString)
    }

    fn serialize_f64(self, _v: f64) -> Result<(), Self::Error> {
        Err(EncodeError::KeyMustBeString)
    }

    fn serialize_char(self, v: char) -> Result<(), Self::Error> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> Result<(), Self::Error> {
        Ok(write::string(self.sink, v)?)
    }

    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Self::Error> {
        Err(EncodeError::KeyMustBeString)
    }

    fn serialize_none(self) -> Result<(), Self::Error> {
        Err(EncodeError::KeyMustBeString)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<(), Self::Error> {
        Err(EncodeError::KeyMustBeString)
    }

    fn serialize_unit(self) -> Result<(), Self::Error> {
        Err(EncodeError::KeyMustBeString)
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Self::Error> {
        Err(EncodeError::KeyMustBeString)
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Self::Error> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Self::Error> {
        Err(EncodeError::KeyMustBeString)
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Self::Error> {
        Err(EncodeError::KeyMustBeString)
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Self::Error> {
        Err(EncodeError::KeyMustBeString)
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Self::Error> {
        Err(EncodeError::KeyMustBeString)
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Self::Error> {
        Err(EncodeError::KeyMustBeString)
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Self::Error> {
        Err(EncodeError::KeyMustBeString)
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Self::Error> {
        Err(EncodeError::KeyMustBeString)
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Self::Error> {
        Err(EncodeError::KeyMustBeString)
    }

    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result<(), Self::Error> {
        collect_str(self.sink, value)
    }
}
