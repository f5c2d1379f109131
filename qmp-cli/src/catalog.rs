//! What the shell knows about QEMU's commands: their names (`query-commands`) and
//! their arguments (`query-qmp-schema`), for completion and `help CMD`.

use std::collections::{BTreeMap, HashMap};

use qmp_core::json::RawJson;
use qmp_core::schema::introspect::{MetaType, Schema, SchemaInfo};
use qmp_core::schema::FromJson;

/// One argument of a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arg {
    /// Its name (dotted for members of nested objects: `file.driver`).
    pub name: String,
    /// Its type, readable: `str`, `int`, `bool`, `enum (a|b)`, `[str]`, `object`.
    pub ty: String,
    /// Whether it may be left out.
    pub optional: bool,
    /// The values of an enum (or `true`/`false` for a `bool`), for completion.
    pub values: Vec<String>,
}

/// The commands QEMU has, and their arguments when its schema was read.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    /// Command names, sorted.
    pub commands: Vec<String>,
    /// Arguments by command name, in schema order; for a union (`blockdev-add`) the
    /// tag's variants add theirs, each once.
    pub args: HashMap<String, Vec<Arg>>,
    /// What each command returns, readable.
    pub returns: HashMap<String, String>,
    /// Which variant (`driver=qcow2`) each union member belongs to, by command and
    /// argument name.
    pub variant_of: HashMap<(String, String), Vec<String>>,
}

impl Catalog {
    /// Read the `return` value of `query-commands` (names) and, if given, of
    /// `query-qmp-schema` (arguments).
    pub fn new(commands: RawJson<'_>, schema: Option<RawJson<'_>>) -> Self {
        let mut names: Vec<String> = commands
            .elements()
            .filter_map(|c| c.get("name")?.as_json_str().map(|n| n.to_string()))
            .collect();
        names.sort();
        let mut catalog = Self {
            commands: names,
            ..Self::default()
        };
        if let Some(schema) = schema.and_then(|s| Schema::from_json(s).ok()) {
            catalog.read_schema(&schema);
        }
        catalog
    }

    fn read_schema(&mut self, schema: &Schema<'_>) {
        let by_name: HashMap<&str, SchemaInfo<'_>> = schema
            .iter()
            .flatten()
            .map(|info| (info.name().raw(), info))
            .collect();
        for info in by_name.values() {
            if info.meta_type() != MetaType::Command {
                continue;
            }
            let name = info.name().to_string();
            let mut args = Vec::new();
            let mut variant_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
            if let Some(arg_type) = info.arg_type().and_then(|t| by_name.get(t.raw())) {
                collect_args(arg_type, &by_name, "", &mut args, &mut variant_of, 0);
            }
            for (arg, cases) in variant_of {
                self.variant_of.insert((name.clone(), arg), cases);
            }
            let returns = info
                .ret_type()
                .map(|t| type_text(t.raw(), &by_name, 0))
                .unwrap_or_else(|| "nothing".into());
            self.returns.insert(name.clone(), returns);
            self.args.insert(name, args);
        }
    }

    /// `help CMD`: the arguments and the return type, one per line.
    pub fn help(&self, command: &str) -> Option<String> {
        let known = self.commands.iter().any(|c| c == command);
        let args = self.args.get(command);
        if !known && args.is_none() {
            return None;
        }
        let mut text = format!("{command}\n");
        match args {
            None => text.push_str("  (arguments unknown: the schema could not be read)\n"),
            Some(args) if args.is_empty() => text.push_str("  no arguments\n"),
            Some(args) => {
                let width = args.iter().map(|a| a.name.len() + 1).max().unwrap_or(0);
                for arg in args {
                    let name = format!("{}{}", arg.name, if arg.optional { "?" } else { "" });
                    let mut line = format!("  {name:<width$}  {}", arg.ty);
                    if let Some(cases) = self
                        .variant_of
                        .get(&(command.to_string(), arg.name.clone()))
                    {
                        line.push_str(&format!("  (when {})", cases.join(", ")));
                    }
                    text.push_str(line.trim_end());
                    text.push('\n');
                }
            }
        }
        if let Some(returns) = self.returns.get(command) {
            text.push_str(&format!("  returns {returns}\n"));
        }
        text.push_str("  (NAME? is optional; a.b=V sets member b of object a)\n");
        Some(text)
    }

    /// Completions for the word at the end of `line` (up to the cursor): command names
    /// for the first word (and after `help`), `NAME=` for the arguments of the line's
    /// command, and the values of an enum or bool argument after its `=`.
    pub fn complete(&self, line: &str) -> Vec<String> {
        let start = line.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let word = &line[start..];
        let mut words = line[..start].split_whitespace();
        let first = words.next();
        let first = match first {
            // `transaction(` actions are commands too.
            Some("transaction(") => words.next(),
            other => other,
        };
        let Some(command) = first else {
            let mut out: Vec<String> = self
                .commands
                .iter()
                .chain(["help".to_string(), "transaction(".to_string()].iter())
                .filter(|c| c.starts_with(word))
                .cloned()
                .collect();
            out.sort();
            out.dedup();
            return out;
        };
        if command == "help" {
            return self
                .commands
                .iter()
                .filter(|c| c.starts_with(word))
                .cloned()
                .collect();
        }
        let Some(args) = self.args.get(command) else {
            return Vec::new();
        };
        if let Some((key, value)) = word.split_once('=') {
            return args
                .iter()
                .filter(|a| a.name == key)
                .flat_map(|a| a.values.iter())
                .filter(|v| v.starts_with(value))
                .map(|v| format!("{key}={v}"))
                .collect();
        }
        let given: Vec<&str> = line[..start]
            .split_whitespace()
            .filter_map(|w| w.split_once('=').map(|(k, _)| k))
            .collect();
        args.iter()
            .filter(|a| a.name.starts_with(word) && !given.contains(&a.name.as_str()))
            .map(|a| format!("{}=", a.name))
            .collect()
    }
}

/// The members of the object `info` as arguments (nested objects' members dotted, two
/// levels deep), and for a union the members of every variant, each once.
fn collect_args(
    info: &SchemaInfo<'_>,
    by_name: &HashMap<&str, SchemaInfo<'_>>,
    prefix: &str,
    args: &mut Vec<Arg>,
    variant_of: &mut BTreeMap<String, Vec<String>>,
    depth: usize,
) {
    let add = |member_name: String, ty: &str, optional: bool, args: &mut Vec<Arg>| {
        if args.iter().any(|a| a.name == member_name) {
            return false;
        }
        let ty_info = by_name.get(ty);
        let values = match ty_info {
            Some(t) if t.meta_type() == MetaType::Enum => {
                t.enum_members().map(|m| m.name.to_string()).collect()
            }
            _ if ty == "bool" => vec!["true".into(), "false".into()],
            _ => Vec::new(),
        };
        args.push(Arg {
            name: member_name,
            ty: type_text(ty, by_name, 0),
            optional,
            values,
        });
        true
    };
    for member in info.object_members() {
        let name = format!("{prefix}{}", member.name);
        let ty = member.type_name.raw();
        add(name.clone(), ty, member.optional, args);
        // A nested object: its members as dotted keys, as the human syntax takes them.
        if depth < 1 {
            if let Some(inner) = by_name.get(ty) {
                if inner.meta_type() == MetaType::Object && inner.variants().next().is_none() {
                    collect_args(
                        inner,
                        by_name,
                        &format!("{name}."),
                        args,
                        variant_of,
                        depth + 1,
                    );
                }
            }
        }
    }
    if let Some(tag) = info.tag() {
        for variant in info.variants() {
            let Some(vinfo) = by_name.get(variant.type_name.raw()) else {
                continue;
            };
            for member in vinfo.object_members() {
                let name = format!("{prefix}{}", member.name);
                let before = args.len();
                add(name.clone(), member.type_name.raw(), member.optional, args);
                if args.len() > before || variant_of.contains_key(&name) {
                    variant_of
                        .entry(name)
                        .or_default()
                        .push(format!("{tag}={}", variant.case));
                }
            }
        }
    }
}

/// A type's readable name: builtins by name, enums with their values (up to 8),
/// arrays as `[T]`, objects as `object`, alternates as `A|B`.
fn type_text(name: &str, by_name: &HashMap<&str, SchemaInfo<'_>>, depth: usize) -> String {
    let Some(info) = by_name.get(name) else {
        return name.to_string();
    };
    match info.meta_type() {
        MetaType::Builtin => name.to_string(),
        MetaType::Enum => {
            let values: Vec<String> = info.enum_members().map(|m| m.name.to_string()).collect();
            if values.len() <= 8 {
                format!("enum ({})", values.join("|"))
            } else {
                format!("enum ({}|… {} values)", values[..6].join("|"), values.len())
            }
        }
        MetaType::Array => match info.element_type() {
            Some(e) if depth < 3 => format!("[{}]", type_text(e.raw(), by_name, depth + 1)),
            _ => "[…]".into(),
        },
        MetaType::Alternate if depth < 3 => info
            .alternate_members()
            .map(|m| type_text(m.raw(), by_name, depth + 1))
            .collect::<Vec<_>>()
            .join(" or "),
        MetaType::Object => "object".into(),
        _ => "value".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &[u8] = include_bytes!("../../testdata/captures/query-qmp-schema.json");

    fn catalog() -> Catalog {
        let commands = RawJson::parse(
            br#"[{"name": "device_del"}, {"name": "blockdev-add"}, {"name": "query-status"}, {"name": "qom-get"}]"#,
        )
        .unwrap();
        let schema = RawJson::parse(SCHEMA).unwrap();
        let schema = schema.get("return").unwrap_or(schema);
        Catalog::new(commands, Some(schema))
    }

    #[test]
    fn completes_commands_arguments_and_values() {
        let c = catalog();
        assert_eq!(c.complete("q"), ["qom-get", "query-status"]);
        assert_eq!(c.complete("help dev"), ["device_del"]);
        assert_eq!(c.complete("device_del "), ["id="]);
        assert_eq!(c.complete("qom-get path=/ p"), ["property="]);
        let drivers = c.complete("blockdev-add driver=qco");
        assert_eq!(drivers, ["driver=qcow", "driver=qcow2"]);
    }

    #[test]
    fn help_shows_the_argument_schema() {
        let c = catalog();
        let help = c.help("qom-get").unwrap();
        assert!(
            help.starts_with("qom-get\n  path       str\n  property   str\n"),
            "{help}"
        );
        assert!(help.contains("returns any"), "{help}");
        let help = c.help("blockdev-add").unwrap();
        assert!(help.contains("  driver "), "{help}");
        assert!(help.contains("(when driver=qcow2"), "{help}");
        assert!(c.help("no-such-command").is_none());
    }
}
