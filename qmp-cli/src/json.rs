//! Writing JSON text for people and for other programs: re-indenting validated JSON,
//! compacting it, and quoting strings.
//!
//! Everything here takes JSON that the framer has already validated, so it only
//! needs to tell strings from the structure around them.

/// Re-indent the validated JSON text `json` with two spaces per level, every line
/// after the first starting with `margin`. Member order, numbers and string escapes
/// are kept exactly as received.
pub fn pretty(json: &[u8], margin: &str, out: &mut Vec<u8>) {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut i = 0;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.extend_from_slice(margin.as_bytes());
        for _ in 0..depth {
            out.extend_from_slice(b"  ");
        }
    };
    while i < json.len() {
        let byte = json[i];
        i += 1;
        if in_string {
            out.push(byte);
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b' ' | b'\t' | b'\r' | b'\n' => {}
            b'"' => {
                in_string = true;
                out.push(byte);
            }
            b'{' | b'[' => {
                out.push(byte);
                // An empty object or array stays on one line.
                let close = if byte == b'{' { b'}' } else { b']' };
                let next = json[i..]
                    .iter()
                    .position(|b| !b" \t\r\n".contains(b))
                    .map(|p| i + p);
                match next {
                    Some(p) if json[p] == close => {
                        out.push(close);
                        i = p + 1;
                    }
                    _ => {
                        depth += 1;
                        newline(out, depth);
                    }
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(out, depth);
                out.push(byte);
            }
            b',' => {
                out.push(byte);
                newline(out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(byte),
        }
    }
}

/// The validated JSON text `json` without the whitespace between its tokens.
pub fn compact(json: &[u8], out: &mut Vec<u8>) {
    let mut in_string = false;
    let mut escaped = false;
    for &byte in json {
        if in_string {
            out.push(byte);
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
        } else if !b" \t\r\n".contains(&byte) {
            in_string = byte == b'"';
            out.push(byte);
        }
    }
}

/// `text` as a JSON string (quotes included), escaping what JSON requires.
pub fn quote(text: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in text.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_keeps_order_numbers_and_escapes() {
        let mut out = Vec::new();
        pretty(
            br#"{"b": [1, 2.50, {}], "a": {"x": "q\"}", "e": []}}"#,
            "",
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\n  \"b\": [\n    1,\n    2.50,\n    {}\n  ],\n  \"a\": {\n    \"x\": \"q\\\"}\",\n    \"e\": []\n  }\n}"
        );
    }

    #[test]
    fn compact_keeps_spaces_in_strings() {
        let mut out = Vec::new();
        compact(b"{ \"a b\" : [ 1 , \"\\\" x\" ] }", &mut out);
        assert_eq!(out, b"{\"a b\":[1,\"\\\" x\"]}");
    }

    #[test]
    fn quote_escapes() {
        let mut out = Vec::new();
        quote("a\"b\\c\n\u{1}é", &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\\"b\\\\c\\n\\u0001é\""
        );
    }
}
