//! A JSON writer for [`Value`] that writes straight into the output `String`.
//!
//! The socket.io encoder runs once per broadcast and its text is shared by every recipient, so
//! it writes the packet header and the JSON into one buffer instead of building a
//! `serde_json::Value` or an intermediate `Vec<u8>` first. Binary leaves either become
//! socket.io placeholders (collecting the bytes, which are reference counted, not copied) or
//! are refused, depending on the caller.

use bytes::Bytes;
use sio_types::Value;

/// How deep the writer recurses before refusing a value, so that an absurdly nested value
/// built by an application cannot overflow the stack.
pub(crate) const MAX_ENCODE_DEPTH: usize = 512;

/// Why a value could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteError {
    /// A binary leaf where the caller allows none.
    Binary,
    /// Nesting deeper than [`MAX_ENCODE_DEPTH`].
    TooDeep,
}

/// How many out-of-range numbers one text may hold before it is refused: each costs a
/// parse of the whole text.
const MAX_OVERFLOWS: usize = 16;

/// Parses JSON as JavaScript's `JSON.parse` does numbers: a literal beyond `f64`'s range
/// (`1e999999`, a 400-digit integer) is `Infinity` (or `-Infinity`), where serde_json
/// refuses the whole text. Anything else malformed is an error, as before.
///
/// The fast path is one serde_json parse. Only a text that overflows is parsed again, with
/// each overflowing literal replaced by a marker string that cannot come from the wire
/// (it carries a per-process random part), then turned into the infinity it stands for.
pub(crate) fn parse(text: &str) -> Result<Value, serde_json::Error> {
    let first = match serde_json::from_str(text) {
        Err(e) if is_overflow(&e) => e,
        other => return other,
    };
    let marker = overflow_marker();
    let mut patched = text.to_owned();
    let mut err = first;
    for _ in 0..MAX_OVERFLOWS {
        let Some((start, end)) = number_at(&patched, err.line(), err.column()) else {
            return Err(err);
        };
        let sign = if patched.as_bytes()[start] == b'-' {
            '-'
        } else {
            '+'
        };
        patched.replace_range(start..end, &format!("\"{marker}{sign}\""));
        match serde_json::from_str::<Value>(&patched) {
            Ok(mut v) => {
                restore_infinities(&mut v, &marker);
                return Ok(v);
            }
            Err(e) if is_overflow(&e) => err = e,
            Err(e) => return Err(e),
        }
    }
    Err(err)
}

fn is_overflow(e: &serde_json::Error) -> bool {
    e.to_string().starts_with("number out of range")
}

/// A string no client can send by accident: NUL bytes around a random per-process part.
fn overflow_marker() -> String {
    static MARKER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    MARKER
        .get_or_init(|| {
            // A socket id is 20 random URL-safe characters: random enough, no escaping.
            let nonce = sio_types::SocketId::random();
            format!("\\u0000sio-overflow-{}\\u0000", nonce.as_str())
        })
        .clone()
}

/// The byte span of the number literal serde_json stopped in, at 1-based `line`/`column`.
fn number_at(text: &str, line: usize, column: usize) -> Option<(usize, usize)> {
    let line_start = text
        .split_inclusive('\n')
        .take(line.checked_sub(1)?)
        .map(str::len)
        .sum::<usize>();
    let at = line_start.checked_add(column)?.min(text.len());
    let bytes = text.as_bytes();
    let in_number = |b: u8| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E');
    let mut start = at.min(bytes.len().saturating_sub(1));
    while start > 0 && !in_number(bytes[start]) {
        start -= 1;
    }
    let mut end = start;
    while end < bytes.len() && in_number(bytes[end]) {
        end += 1;
    }
    while start > 0 && in_number(bytes[start - 1]) {
        start -= 1;
    }
    let literal = text.get(start..end)?;
    // Only a real JSON number is replaced: it must read as a float, and overflow.
    let f: f64 = literal.parse().ok()?;
    (f.is_infinite() && matches!(bytes[start], b'-' | b'0'..=b'9')).then_some((start, end))
}

fn restore_infinities(v: &mut Value, marker: &str) {
    // The marker as it reads once unescaped.
    let plain = marker.replace("\\u0000", "\0");
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) if s.starts_with(&plain) && s.len() == plain.len() + 1 => {
                *v = Value::Float(if s.ends_with('-') {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                });
            }
            Value::Array(a) => stack.extend(a.iter_mut()),
            Value::Object(m) => stack.extend(m.values_mut()),
            _ => {}
        }
    }
}

/// Writes `s` as a JSON string literal, escaping like `JSON.stringify`.
pub(crate) fn write_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        // `i` is at an ASCII byte, so both slice ends fall on char boundaries.
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Writes a number the way a JavaScript peer can read it back; non-finite floats become
/// `null`, as `JSON.stringify` does.
fn write_float(out: &mut String, f: f64) {
    if f.is_finite() {
        let mut buf = ryu::Buffer::new();
        out.push_str(buf.format_finite(f));
    } else {
        out.push_str("null");
    }
}

/// Writes `v` as JSON. With `attachments`, each binary leaf becomes
/// `{"_placeholder":true,"num":N}` (N counted depth-first) and its bytes are appended to
/// `attachments`; without, a binary leaf is an error.
pub(crate) fn write_value(
    out: &mut String,
    v: &Value,
    attachments: &mut Option<&mut Vec<Bytes>>,
    depth: usize,
) -> Result<(), WriteError> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Int(i) => out.push_str(itoa::Buffer::new().format(*i)),
        Value::UInt(u) => out.push_str(itoa::Buffer::new().format(*u)),
        Value::Float(f) => write_float(out, *f),
        Value::String(s) => write_str(out, s),
        Value::Binary(b) => match attachments {
            Some(list) => {
                out.push_str("{\"_placeholder\":true,\"num\":");
                out.push_str(itoa::Buffer::new().format(list.len()));
                out.push('}');
                list.push(b.clone());
            }
            None => return Err(WriteError::Binary),
        },
        Value::Array(a) => {
            if depth >= MAX_ENCODE_DEPTH {
                return Err(WriteError::TooDeep);
            }
            out.push('[');
            for (i, item) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item, attachments, depth + 1)?;
            }
            out.push(']');
        }
        Value::Object(m) => {
            if depth >= MAX_ENCODE_DEPTH {
                return Err(WriteError::TooDeep);
            }
            out.push('{');
            for (i, (k, item)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                write_value(out, item, attachments, depth + 1)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(v: &Value) -> String {
        let mut s = String::new();
        write_value(&mut s, v, &mut None, 0).unwrap();
        s
    }

    #[test]
    fn output_is_what_serde_json_reads_back() {
        let v = Value::from_iter([
            ("s", Value::from("a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f}é€😀")),
            ("n", Value::from(-12i64)),
            ("u", Value::UInt(u64::MAX)),
            ("f", Value::from(0.1)),
            ("big", Value::from(1e300)),
            (
                "a",
                Value::Array(vec![Value::Null, Value::Bool(true), Value::Bool(false)]),
            ),
        ]);
        let text = json(&v);
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
        assert!(
            text.contains("\\u0001") && text.contains("\\u001f"),
            "{text}"
        );
    }

    #[test]
    fn numbers_beyond_f64_parse_as_infinity_like_json_parse() {
        let v = parse(r#"["n",1e999999,{"a":[-1e400,2]},"1e999999",123e-999999]"#).unwrap();
        let a = v.as_array().unwrap();
        assert_eq!(a[1], Value::Float(f64::INFINITY));
        let inner = a[2].get("a").unwrap().as_array().unwrap();
        assert_eq!(inner[0], Value::Float(f64::NEG_INFINITY));
        assert_eq!(inner[1], Value::Int(2));
        assert_eq!(
            a[3],
            Value::String("1e999999".into()),
            "a string stays a string"
        );
        assert_eq!(a[4].as_f64(), Some(0.0), "underflow is 0, as in JavaScript");
        let big = format!("[{}]", "9".repeat(400));
        assert_eq!(
            parse(&big).unwrap().as_array().unwrap()[0],
            Value::Float(f64::INFINITY)
        );
        // Still malformed is still an error; so is a flood of overflows.
        assert!(parse("[1e999999,]").is_err());
        let many = format!("[{}]", vec!["1e999"; MAX_OVERFLOWS + 1].join(","));
        assert!(parse(&many).is_err());
        let multiline = "[\n1,\n 1e999999\n]";
        assert_eq!(
            parse(multiline).unwrap().as_array().unwrap()[1],
            Value::Float(f64::INFINITY)
        );
    }

    #[test]
    fn non_finite_floats_become_null_like_json_stringify() {
        let v = Value::Array(vec![
            Value::Float(f64::NAN),
            Value::Float(f64::INFINITY),
            Value::Float(f64::NEG_INFINITY),
        ]);
        assert_eq!(json(&v), "[null,null,null]");
    }

    #[test]
    fn binary_is_refused_without_an_attachment_list() {
        let mut s = String::new();
        let r = write_value(&mut s, &Value::from(vec![1u8]), &mut None, 0);
        assert_eq!(r, Err(WriteError::Binary));
    }

    #[test]
    fn absurd_nesting_is_refused_not_overflowed() {
        let mut v = Value::Null;
        for _ in 0..(MAX_ENCODE_DEPTH + 1) {
            v = Value::Array(vec![v]);
        }
        let mut s = String::new();
        assert_eq!(
            write_value(&mut s, &v, &mut None, 0),
            Err(WriteError::TooDeep)
        );
    }
}
