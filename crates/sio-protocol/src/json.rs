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
