//! Payload values: JSON-like data that carries binary natively.
//!
//! socket.io event arguments are JSON values where any leaf may be binary (a Node `Buffer`).
//! The default parser moves binary leaves into attachments, the msgpack parser and the Redis
//! adapter keep them as msgpack `bin`. [`Value`] holds both kinds of data in one tree, so no
//! layer ever has to base64 a buffer or guess whether an array of numbers was bytes.
//!
//! Typed data converts to and from [`Value`] through serde with [`to_value`] and
//! [`from_value`]; `serde_bytes`-style byte fields and [`bytes::Bytes`] become
//! [`Value::Binary`].

mod de;
mod ser;
mod serde_impl;

use bytes::Bytes;
use indexmap::IndexMap;

pub use de::{from_value, from_value_ref};
pub use ser::to_value;

/// An object: string keys in insertion order, as JavaScript keeps them.
pub type Map = IndexMap<String, Value>;

/// One payload value.
///
/// ```
/// use sio_types::Value;
///
/// let v = Value::from_iter([("name", Value::from("ada")), ("avatar", Value::from(vec![1u8, 2, 3]))]);
/// assert_eq!(v.get("name").and_then(Value::as_str), Some("ada"));
/// assert!(v.contains_binary());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Value {
    /// `null` (JavaScript `undefined` arguments also become `null` on the wire).
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer that fits an `i64`.
    Int(i64),
    /// An integer above `i64::MAX`; decoders only produce this variant for such values.
    UInt(u64),
    /// Any other number.
    Float(f64),
    /// A string.
    String(String),
    /// Binary data: a Node `Buffer` / `ArrayBuffer`, msgpack `bin`.
    Binary(Bytes),
    /// An array.
    Array(Vec<Value>),
    /// An object.
    Object(Map),
}

impl Value {
    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The bool, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number as an `i64`, if it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::UInt(u) => i64::try_from(*u).ok(),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => {
                Some(*f as i64)
            }
            _ => None,
        }
    }

    /// The number as an `f64`, if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::UInt(u) => Some(*u as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The bytes, if this is binary.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            Value::Binary(b) => Some(b),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The entries, if this is an object.
    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The value under `key`, if this is an object that has it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object().and_then(|m| m.get(key))
    }

    /// Whether any leaf of this tree is [`Value::Binary`]. The default socket.io parser uses
    /// this to choose between EVENT and BINARY_EVENT.
    pub fn contains_binary(&self) -> bool {
        match self {
            Value::Binary(_) => true,
            Value::Array(a) => a.iter().any(Value::contains_binary),
            Value::Object(m) => m.values().any(Value::contains_binary),
            _ => false,
        }
    }

    /// How deep the tree goes: a leaf is 0, `[1]` is 1, `[[1]]` is 2.
    pub fn depth(&self) -> usize {
        match self {
            Value::Array(a) => 1 + a.iter().map(Value::depth).max().unwrap_or(0),
            Value::Object(m) => 1 + m.values().map(Value::depth).max().unwrap_or(0),
            _ => 0,
        }
    }

    /// About how many bytes this value takes on the wire (its JSON text, binary counted
    /// as raw bytes), for logs and limits that need a size without encoding.
    ///
    /// ```
    /// use sio_types::Value;
    /// let v = Value::from_iter([("text", Value::from("hello"))]);
    /// assert_eq!(v.approx_size(), r#"{"text":"hello"}"#.len());
    /// ```
    pub fn approx_size(&self) -> usize {
        match self {
            Value::Null => 4,
            Value::Bool(b) => {
                if *b {
                    4
                } else {
                    5
                }
            }
            // Numbers: a typical short decimal; exactness is not the point.
            Value::Int(_) | Value::UInt(_) | Value::Float(_) => 8,
            Value::String(s) => s.len() + 2,
            Value::Binary(b) => b.len(),
            Value::Array(a) => {
                2 + a.len().saturating_sub(1) + a.iter().map(Value::approx_size).sum::<usize>()
            }
            Value::Object(m) => {
                2 + m.len().saturating_sub(1)
                    + m.iter()
                        .map(|(k, v)| k.len() + 3 + v.approx_size())
                        .sum::<usize>()
            }
        }
    }

    /// A short name of the variant, for error messages ("string", "binary", ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::UInt(_) | Value::Float(_) => "number",
            Value::String(_) => "string",
            Value::Binary(_) => "binary",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(n: $t) -> Self {
                Value::Int(i64::from(n))
            }
        }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32);

impl From<u64> for Value {
    fn from(n: u64) -> Self {
        match i64::try_from(n) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::UInt(n),
        }
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Value::Float(n)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<Bytes> for Value {
    fn from(b: Bytes) -> Self {
        Value::Binary(b)
    }
}

impl From<Vec<u8>> for Value {
    fn from(b: Vec<u8>) -> Self {
        Value::Binary(Bytes::from(b))
    }
}

impl From<Vec<Value>> for Value {
    fn from(a: Vec<Value>) -> Self {
        Value::Array(a)
    }
}

impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Value::Object(m)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Self {
        o.map_or(Value::Null, Into::into)
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Value {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Value::Object(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::Int(i)
                } else if let Some(u) = n.as_u64() {
                    Value::UInt(u)
                } else {
                    Value::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(a) => Value::Array(a.into_iter().map(Value::from).collect()),
            serde_json::Value::Object(m) => {
                Value::Object(m.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
        }
    }
}
