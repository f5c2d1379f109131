//! Zero-copy views over the `query-qmp-schema` reply (`[SchemaInfo]`, 2.5).
//!
//! The reply is the whole QAPI schema, about 236 KB from QEMU 10.0. [`Schema`] walks it
//! in place: each entry is a [`SchemaInfo`] view (name, [`MetaType`] and per-meta-type
//! accessors) that reads its members on demand, and nothing is copied or allocated.
//!
//! Accessors for another meta-type return `None` or an empty iterator, and list
//! elements that do not have the documented shape are skipped. Type names other than
//! command, event and builtin names are masked by QEMU (`"0"`, `"[17]"`): resolve them
//! with [`Schema::get`].
//!
//! ```
//! use qmp_core::json::RawJson;
//! use qmp_core::schema::introspect::{MetaType, Schema};
//! use qmp_core::schema::FromJson;
//!
//! let reply = RawJson::parse(br#"[
//!     {"name": "query-status", "ret-type": "1", "meta-type": "command", "arg-type": "0"},
//!     {"name": "0", "members": [], "meta-type": "object"},
//!     {"name": "1", "members": [{"name": "running", "type": "bool"}, {"name": "status", "type": "288"}], "meta-type": "object"},
//!     {"name": "288", "members": [{"name": "running"}], "meta-type": "enum", "values": ["running"]}
//! ]"#)?;
//! let schema = Schema::from_json(reply)?;
//! let cmd = schema.get("query-status").unwrap();
//! assert_eq!(cmd.meta_type(), MetaType::Command);
//! let ret = schema.get(cmd.ret_type().unwrap().raw()).unwrap();
//! let names: Vec<_> = ret.object_members().map(|m| m.name.raw()).collect();
//! assert_eq!(names, ["running", "status"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;

use super::{expect_kind, DecodeError, DecodeErrorKind, FromJson, RawList, RawListIter};
use crate::json::{Elements, JsonStr, Kind, RawJson};

open_enum! {
    /// `SchemaMetaType`: what a schema entry describes.
    pub enum MetaType {
        /// `builtin`: a predefined type (`str`, `int`, `any`, …).
        Builtin = "builtin",
        /// `enum`
        Enum = "enum",
        /// `array`
        Array = "array",
        /// `object`: a struct or union.
        Object = "object",
        /// `alternate`
        Alternate = "alternate",
        /// `command`
        Command = "command",
        /// `event`
        Event = "event",
    }
}

open_enum! {
    /// `JSONType`: the JSON type of a builtin.
    pub enum JsonType {
        /// `string`
        String = "string",
        /// `number`
        Number = "number",
        /// `int` (every integer type)
        Int = "int",
        /// `boolean`
        Boolean = "boolean",
        /// `null`
        Null = "null",
        /// `object`
        Object = "object",
        /// `array`
        Array = "array",
        /// `value`: any JSON value.
        Value = "value",
    }
}

/// An empty array, for absent list members.
const NO_LIST: RawJson<'static> = RawJson::trusted(b"[]");

/// The elements of `raw[key]`, or none when it is absent or not an array.
fn list<'a>(raw: RawJson<'a>, key: &str) -> Elements<'a> {
    raw.get(key).unwrap_or(NO_LIST).elements()
}

/// The string member `raw[key]`.
fn string<'a>(raw: RawJson<'a>, key: &str) -> Option<JsonStr<'a>> {
    raw.get(key).and_then(|v| v.as_json_str())
}

/// One entry of the schema. See the [module docs](self).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SchemaInfo<'a> {
    raw: RawJson<'a>,
    name: JsonStr<'a>,
    meta_type: MetaType<'a>,
}

impl fmt::Debug for SchemaInfo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchemaInfo")
            .field("name", &self.name)
            .field("meta_type", &self.meta_type)
            .finish_non_exhaustive()
    }
}

impl<'a> FromJson<'a> for SchemaInfo<'a> {
    fn from_json(raw: RawJson<'a>) -> Result<Self, DecodeError> {
        expect_kind(raw, "SchemaInfo", Kind::Object)?;
        let mut name = None;
        let mut meta_type = None;
        for (key, value) in raw.members() {
            if key == "name" && name.is_none() {
                name = value.as_json_str();
            } else if key == "meta-type" && meta_type.is_none() {
                meta_type = value.as_json_str();
            }
        }
        let missing = |member| {
            DecodeError::from(DecodeErrorKind::MissingMember {
                what: "SchemaInfo",
                member,
            })
        };
        Ok(Self {
            raw,
            name: name.ok_or(missing("name"))?,
            meta_type: MetaType::from_json_str(meta_type.ok_or(missing("meta-type"))?),
        })
    }
}

impl<'a> SchemaInfo<'a> {
    /// The entry's JSON text.
    pub const fn raw(&self) -> RawJson<'a> {
        self.raw
    }

    /// The entity's name: a command, event or builtin name, or a masked type name.
    pub const fn name(&self) -> JsonStr<'a> {
        self.name
    }

    /// What the entry describes.
    pub const fn meta_type(&self) -> MetaType<'a> {
        self.meta_type
    }

    /// Feature names (`deprecated`, `unstable`, named features); any meta-type.
    pub fn features(&self) -> Strings<'a> {
        Strings(list(self.raw, "features"))
    }

    /// Whether the entry has feature `name`.
    pub fn has_feature(&self, name: &str) -> bool {
        self.features().any(|f| f == name)
    }

    fn when(&self, meta_type: MetaType<'_>) -> Option<RawJson<'a>> {
        (self.meta_type == meta_type).then_some(self.raw)
    }

    /// builtin: the JSON type.
    pub fn json_type(&self) -> Option<JsonType<'a>> {
        let raw = self.when(MetaType::Builtin)?;
        string(raw, "json-type").map(JsonType::from_json_str)
    }

    /// enum: the values, from `members` (6.2) or else from the older `values`.
    pub fn enum_members(&self) -> EnumMembers<'a> {
        let Some(raw) = self.when(MetaType::Enum) else {
            return EnumMembers {
                elements: NO_LIST.elements(),
                legacy: false,
            };
        };
        match raw.get("members").filter(|m| m.kind() == Kind::Array) {
            Some(members) => EnumMembers {
                elements: members.elements(),
                legacy: false,
            },
            None => EnumMembers {
                elements: list(raw, "values"),
                legacy: true,
            },
        }
    }

    /// array: the element type's name.
    pub fn element_type(&self) -> Option<JsonStr<'a>> {
        string(self.when(MetaType::Array)?, "element-type")
    }

    /// object: the members, base members included.
    pub fn object_members(&self) -> ObjectMembers<'a> {
        ObjectMembers(match self.when(MetaType::Object) {
            Some(raw) => list(raw, "members"),
            None => NO_LIST.elements(),
        })
    }

    /// object (union): the name of the tag member.
    pub fn tag(&self) -> Option<JsonStr<'a>> {
        string(self.when(MetaType::Object)?, "tag")
    }

    /// object (union): the variants.
    pub fn variants(&self) -> Variants<'a> {
        Variants(match self.when(MetaType::Object) {
            Some(raw) => list(raw, "variants"),
            None => NO_LIST.elements(),
        })
    }

    /// alternate: the type names of the alternatives.
    pub fn alternate_members(&self) -> AlternateMembers<'a> {
        AlternateMembers(match self.when(MetaType::Alternate) {
            Some(raw) => list(raw, "members"),
            None => NO_LIST.elements(),
        })
    }

    /// command or event: the arguments' (data's) object type name.
    pub fn arg_type(&self) -> Option<JsonStr<'a>> {
        if !matches!(self.meta_type, MetaType::Command | MetaType::Event) {
            return None;
        }
        string(self.raw, "arg-type")
    }

    /// command: the return type name.
    pub fn ret_type(&self) -> Option<JsonStr<'a>> {
        string(self.when(MetaType::Command)?, "ret-type")
    }

    /// command: whether it may run out of band (2.12; absent means false).
    pub fn allow_oob(&self) -> bool {
        self.when(MetaType::Command)
            .and_then(|raw| raw.get("allow-oob"))
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    }
}

/// Iterator over the string elements of a list (others are skipped).
#[derive(Clone, Debug)]
pub struct Strings<'a>(Elements<'a>);

impl<'a> Iterator for Strings<'a> {
    type Item = JsonStr<'a>;

    fn next(&mut self) -> Option<JsonStr<'a>> {
        self.0.by_ref().find_map(|v| v.as_json_str())
    }
}

/// A value of an enum type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnumMember<'a> {
    /// The value.
    pub name: JsonStr<'a>,
    raw: Option<RawJson<'a>>,
}

impl<'a> EnumMember<'a> {
    /// The value's features (6.2; none in the legacy `values` form).
    pub fn features(&self) -> Strings<'a> {
        Strings(list(self.raw.unwrap_or(NO_LIST), "features"))
    }
}

/// Iterator over an enum's values, see [`SchemaInfo::enum_members`].
#[derive(Clone, Debug)]
pub struct EnumMembers<'a> {
    elements: Elements<'a>,
    legacy: bool,
}

impl<'a> Iterator for EnumMembers<'a> {
    type Item = EnumMember<'a>;

    fn next(&mut self) -> Option<EnumMember<'a>> {
        let legacy = self.legacy;
        self.elements.by_ref().find_map(|v| {
            if legacy {
                v.as_json_str().map(|name| EnumMember { name, raw: None })
            } else {
                string(v, "name").map(|name| EnumMember { name, raw: Some(v) })
            }
        })
    }
}

/// A member of an object type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectMember<'a> {
    /// The member name.
    pub name: JsonStr<'a>,
    /// Its type's name.
    pub type_name: JsonStr<'a>,
    /// Whether it is optional (the schema gives it a `default`, always `null`).
    pub optional: bool,
    raw: RawJson<'a>,
}

impl<'a> ObjectMember<'a> {
    /// The member's features.
    pub fn features(&self) -> Strings<'a> {
        Strings(list(self.raw, "features"))
    }
}

/// Iterator over an object's members, see [`SchemaInfo::object_members`].
#[derive(Clone, Debug)]
pub struct ObjectMembers<'a>(Elements<'a>);

impl<'a> Iterator for ObjectMembers<'a> {
    type Item = ObjectMember<'a>;

    fn next(&mut self) -> Option<ObjectMember<'a>> {
        self.0.by_ref().find_map(|raw| {
            Some(ObjectMember {
                name: string(raw, "name")?,
                type_name: string(raw, "type")?,
                optional: raw.get("default").is_some(),
                raw,
            })
        })
    }
}

/// A variant of a union.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Variant<'a> {
    /// The tag value that selects it.
    pub case: JsonStr<'a>,
    /// The object type with the variant's members.
    pub type_name: JsonStr<'a>,
}

/// Iterator over a union's variants, see [`SchemaInfo::variants`].
#[derive(Clone, Debug)]
pub struct Variants<'a>(Elements<'a>);

impl<'a> Iterator for Variants<'a> {
    type Item = Variant<'a>;

    fn next(&mut self) -> Option<Variant<'a>> {
        self.0.by_ref().find_map(|raw| {
            Some(Variant {
                case: string(raw, "case")?,
                type_name: string(raw, "type")?,
            })
        })
    }
}

/// Iterator over an alternate's type names, see [`SchemaInfo::alternate_members`].
#[derive(Clone, Debug)]
pub struct AlternateMembers<'a>(Elements<'a>);

impl<'a> Iterator for AlternateMembers<'a> {
    type Item = JsonStr<'a>;

    fn next(&mut self) -> Option<JsonStr<'a>> {
        self.0.by_ref().find_map(|raw| string(raw, "type"))
    }
}

/// The `query-qmp-schema` reply: a lazily walked list of [`SchemaInfo`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schema<'a> {
    list: RawList<'a, SchemaInfo<'a>>,
}

impl<'a> FromJson<'a> for Schema<'a> {
    fn from_json(raw: RawJson<'a>) -> Result<Self, DecodeError> {
        Ok(Self {
            list: RawList::new(raw)?,
        })
    }
}

impl<'a> Schema<'a> {
    /// The reply's JSON text.
    pub const fn raw(&self) -> RawJson<'a> {
        self.list.raw()
    }

    /// Every entry, in wire order; an entry without a string `name` and `meta-type` is
    /// an `Err` item.
    pub fn iter(&self) -> RawListIter<'a, SchemaInfo<'a>> {
        self.list.iter()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether the schema is empty.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The entry called `name` (a linear search; names are unique).
    pub fn get(&self, name: &str) -> Option<SchemaInfo<'a>> {
        self.iter().flatten().find(|info| info.name == name)
    }

    /// The command called `name`.
    pub fn command(&self, name: &str) -> Option<SchemaInfo<'a>> {
        self.get(name)
            .filter(|info| info.meta_type == MetaType::Command)
    }

    /// The event called `name`.
    pub fn event(&self, name: &str) -> Option<SchemaInfo<'a>> {
        self.get(name)
            .filter(|info| info.meta_type == MetaType::Event)
    }
}

impl<'a> IntoIterator for Schema<'a> {
    type Item = Result<SchemaInfo<'a>, DecodeError>;
    type IntoIter = RawListIter<'a, SchemaInfo<'a>>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}
