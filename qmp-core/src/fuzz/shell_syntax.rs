//! [`shell_syntax`]: the human command syntax never panics, and every line it accepts
//! encodes to the request it describes.

use super::oracle::{assert_compact_ascii, json_eq};
use crate::encode::Id;
use crate::json::RawJson;
use crate::message::parse_request;
use crate::shell::{ShellCommand, ShellValue};

/// Room for the encoding of any line of up to `LINE_MAX` bytes: escaping at most
/// sixfold (a control character becomes `\u00XX`), plus the command's own members.
const OUT_CAPACITY: usize = 6 * LINE_MAX + 256;
/// Longer lines are cut here (the smoke run's inputs are shorter).
const LINE_MAX: usize = 4096;

/// Parse the longest valid UTF-8 prefix of `input` as a command line. A refusal must
/// point inside the line. An accepted line must encode (compact, ASCII-only) to a
/// request that `parse_request` accepts, with the same name, and with each typed value
/// at the path its dotted key names, meaning the same as typed.
pub fn shell_syntax(input: &[u8]) {
    let input = input.get(..LINE_MAX).unwrap_or(input);
    let line = match core::str::from_utf8(input) {
        Ok(line) => line,
        Err(e) => core::str::from_utf8(&input[..e.valid_up_to()]).unwrap_or_default(),
    };
    let command = match ShellCommand::parse(line) {
        Ok(command) => command,
        Err(e) => {
            assert!(e.column <= line.len(), "column {} past the line", e.column);
            assert!(
                line.is_char_boundary(e.column),
                "column {} splits a character",
                e.column
            );
            return;
        }
    };
    let mut out = [0u8; OUT_CAPACITY];
    let n = command
        .to_slice(&mut out, Some(Id::U64(1)))
        .expect("any accepted line fits the output buffer");
    let encoded = &out[..n];
    assert_compact_ascii(encoded);
    let json = RawJson::parse(encoded).expect("the encoding is valid JSON");
    let request = parse_request(json, false).expect("QEMU's rules accept the encoding");
    assert!(request.name == command.name(), "the name changed");
    assert_eq!(request.id.and_then(|id| id.as_u64()), Some(1));
    let arguments = request.arguments;
    assert_eq!(
        arguments.is_some(),
        command.arguments().next().is_some(),
        "`arguments` is there exactly when arguments were typed"
    );
    for argument in command.arguments() {
        let mut at = arguments;
        for segment in argument.segments() {
            at = at.and_then(|object| object.get(segment));
        }
        let value = at.unwrap_or_else(|| panic!("{} is not in the arguments", argument.key));
        let same = match argument.value {
            ShellValue::Str(text) => value.as_json_str().is_some_and(|s| s == text),
            ShellValue::Bool(b) => value.as_bool() == Some(b),
            ShellValue::Null => value.is_null(),
            ShellValue::Number(typed) | ShellValue::Json(typed) => {
                json_eq(typed.as_bytes(), value.as_bytes())
            }
        };
        assert!(
            same,
            "{}: typed {:?}, sent {value}",
            argument.key, argument.value
        );
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::shell_syntax;

    #[test]
    fn typed_lines_and_garbage() {
        for line in [
            "query-status",
            "device_del id=net0",
            "block-job-set-speed device=j0 speed=1048576",
            "blockdev-add driver=qcow2 node-name=d0 file.driver=file file.filename=/tmp/a b=1",
            "x a.x=1 b=2 a.y={\"k\": [1, \"\\u00e9\"]} c=\"two words\" d=-1.5e3 e=TRUE f=null",
            "human-monitor-command command-line=\"info version\"",
            "x a..b=1",
            "x a=1 a.b=2",
            "x a=[1,",
            "x k=\u{e9}\u{1f600}\u{7f}",
            "",
            "=",
            "\u{0}",
        ] {
            shell_syntax(line.as_bytes());
        }
        shell_syntax(&[b'x', b' ', b'k', b'=', 0xFF, b'a']);
        // Deep keys and long lines.
        let deep = std::format!("x {}=1", ["a"; 40].join("."));
        shell_syntax(deep.as_bytes());
        let long = std::format!("x {}", "k=v ".repeat(2000));
        shell_syntax(long.as_bytes());
    }
}
