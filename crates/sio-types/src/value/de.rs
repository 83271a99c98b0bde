//! [`Value`] → typed data: a serde `Deserializer` that consumes a [`Value`].
//!
//! Numbers convert across widths with range checks, and integral floats deserialize into
//! integer types because JavaScript sends `1` and `1.0` alike. [`Value::Binary`] offers
//! itself as bytes, and as a sequence of `u8` for types (like `Vec<u8>`) that ask for one.

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, Expected, IntoDeserializer, MapAccess,
    SeqAccess, VariantAccess, Visitor,
};
use serde::forward_to_deserialize_any;

use super::Value;
use crate::error::ValueError;

/// Converts a [`Value`] into any deserializable type.
///
/// Shape mismatches fail with [`ValueError::Mismatch`], naming what the type expected and
/// what kind of value was there.
///
/// ```
/// use bytes::Bytes;
/// use serde::Deserialize;
/// use sio_types::value::from_value;
/// use sio_types::{Value, ValueError};
///
/// #[derive(Deserialize, Debug, PartialEq)]
/// struct Upload {
///     name: String,
///     data: Bytes,
///     size: u32,
/// }
///
/// let v = Value::from_iter([
///     ("name", Value::from("a.png")),
///     ("data", Value::from(vec![0x89u8, b'P'])),
///     // JavaScript numbers may arrive as floats; integral ones still fit an integer field.
///     ("size", Value::Float(2.0)),
/// ]);
/// let up: Upload = from_value(v)?;
/// assert_eq!(up, Upload { name: "a.png".into(), data: Bytes::from_static(b"\x89P"), size: 2 });
///
/// let err = from_value::<u8>(Value::from("300")).unwrap_err();
/// assert!(matches!(err, ValueError::Mismatch { found: "string", .. }));
/// # Ok::<(), ValueError>(())
/// ```
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ValueError> {
    T::deserialize(value)
}

/// Like [`from_value`], for a borrowed value (it is cloned first).
pub fn from_value_ref<T: DeserializeOwned>(value: &Value) -> Result<T, ValueError> {
    T::deserialize(value.clone())
}

fn mismatch(expected: &dyn Expected, found: &Value) -> ValueError {
    ValueError::Mismatch {
        expected: expected.to_string(),
        found: found.kind(),
    }
}

fn out_of_range(ty: &'static str) -> ValueError {
    ValueError::Mismatch {
        expected: format!("a number that fits {ty}"),
        found: "number out of range",
    }
}

/// The exact integer a number holds: integral floats count, fractional ones do not.
fn exact_int(v: &Value) -> Option<i128> {
    match v {
        Value::Int(i) => Some(i128::from(*i)),
        Value::UInt(u) => Some(i128::from(*u)),
        // 2^64 bounds keep the cast exact; anything bigger is out of range for every
        // integer type serde asks for except i128/u128, which JS cannot produce anyway.
        Value::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1.8446744073709552e19 => {
            Some(*f as i128)
        }
        _ => None,
    }
}

macro_rules! deserialize_int {
    ($($method:ident => $ty:ty, $visit:ident;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
            match exact_int(&self) {
                Some(n) => match <$ty>::try_from(n) {
                    Ok(n) => visitor.$visit(n),
                    Err(_) => Err(out_of_range(stringify!($ty))),
                },
                None if matches!(self, Value::Float(_)) => Err(ValueError::Mismatch {
                    expected: format!("an integer for {}", stringify!($ty)),
                    found: "number with a fraction",
                }),
                None => Err(mismatch(&visitor, &self)),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Value {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Int(i) => visitor.visit_i64(i),
            Value::UInt(u) => visitor.visit_u64(u),
            Value::Float(f) => visitor.visit_f64(f),
            Value::String(s) => visitor.visit_string(s),
            Value::Binary(b) => visitor.visit_byte_buf(Vec::from(b)),
            Value::Array(a) => visit_array(a, visitor),
            Value::Object(m) => visit_object(m, visitor),
        }
    }

    deserialize_int! {
        deserialize_i8 => i8, visit_i8;
        deserialize_i16 => i16, visit_i16;
        deserialize_i32 => i32, visit_i32;
        deserialize_i64 => i64, visit_i64;
        deserialize_i128 => i128, visit_i128;
        deserialize_u8 => u8, visit_u8;
        deserialize_u16 => u16, visit_u16;
        deserialize_u32 => u32, visit_u32;
        deserialize_u64 => u64, visit_u64;
        deserialize_u128 => u128, visit_u128;
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.as_f64() {
            Some(f) => visitor.visit_f32(f as f32),
            None => Err(mismatch(&visitor, &self)),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.as_f64() {
            Some(f) => visitor.visit_f64(f),
            None => Err(mismatch(&visitor, &self)),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Bool(b) => visitor.visit_bool(b),
            other => Err(mismatch(&visitor, &other)),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::String(s) => visitor.visit_string(s),
            other => Err(mismatch(&visitor, &other)),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_byte_buf(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Binary(b) => visitor.visit_byte_buf(Vec::from(b)),
            // An array of small numbers is how binary looks after a trip through JSON.
            Value::Array(a) => visit_array(a, visitor),
            other => Err(mismatch(&visitor, &other)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(other),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Null => visitor.visit_unit(),
            other => Err(mismatch(&visitor, &other)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Array(a) => visit_array(a, visitor),
            // `Vec<u8>` asks for a sequence; binary answers with its bytes.
            Value::Binary(b) => visit_array(
                b.iter().map(|x| Value::Int(i64::from(*x))).collect(),
                visitor,
            ),
            other => Err(mismatch(&visitor, &other)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Object(m) => visit_object(m, visitor),
            other => Err(mismatch(&visitor, &other)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self {
            Value::Object(m) => visit_object(m, visitor),
            Value::Array(a) => visit_array(a, visitor),
            other => Err(mismatch(&visitor, &other)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self {
            Value::String(variant) => visitor.visit_enum(EnumDe {
                variant,
                value: None,
            }),
            Value::Object(m) if m.len() == 1 => {
                let mut it = m.into_iter();
                match it.next() {
                    Some((variant, value)) => visitor.visit_enum(EnumDe {
                        variant,
                        value: Some(value),
                    }),
                    None => Err(ValueError::Mismatch {
                        expected: "an enum variant".into(),
                        found: "object",
                    }),
                }
            }
            Value::Object(_) => Err(ValueError::Mismatch {
                expected: "an object with exactly one key (an enum variant)".into(),
                found: "object",
            }),
            other => Err(ValueError::Mismatch {
                expected: "a string or a one-key object (an enum variant)".into(),
                found: other.kind(),
            }),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        drop(self);
        visitor.visit_unit()
    }
}

impl IntoDeserializer<'_, ValueError> for Value {
    type Deserializer = Value;

    fn into_deserializer(self) -> Value {
        self
    }
}

fn visit_array<'de, V: Visitor<'de>>(a: Vec<Value>, visitor: V) -> Result<V::Value, ValueError> {
    let len = a.len();
    let mut seq = SeqDe {
        iter: a.into_iter(),
    };
    let out = visitor.visit_seq(&mut seq)?;
    let left = seq.iter.len();
    if left == 0 {
        Ok(out)
    } else {
        Err(de::Error::invalid_length(len, &"fewer elements in array"))
    }
}

fn visit_object<'de, V: Visitor<'de>>(m: super::Map, visitor: V) -> Result<V::Value, ValueError> {
    let len = m.len();
    let mut map = MapDe {
        iter: m.into_iter(),
        value: None,
    };
    let out = visitor.visit_map(&mut map)?;
    if map.iter.len() == 0 {
        Ok(out)
    } else {
        Err(de::Error::invalid_length(len, &"fewer entries in object"))
    }
}

struct SeqDe {
    iter: std::vec::IntoIter<Value>,
}

impl<'de> SeqAccess<'de> for SeqDe {
    type Error = ValueError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ValueError> {
        match self.iter.next() {
            Some(v) => seed.deserialize(v).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct MapDe {
    iter: indexmap::map::IntoIter<String, Value>,
    value: Option<Value>,
}

impl<'de> MapAccess<'de> for MapDe {
    type Error = ValueError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ValueError> {
        match self.iter.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(KeyDe(k)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ValueError> {
        match self.value.take() {
            Some(v) => seed.deserialize(v),
            None => Err(ValueError::Custom(
                "object value requested before its key".into(),
            )),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// An object key. Keys are strings, but map types with number or bool keys
/// (`HashMap<u32, _>`) parse them back, as serde_json does.
struct KeyDe(String);

macro_rules! deserialize_parsed_key {
    ($($method:ident => $ty:ty, $visit:ident;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
            match self.0.parse::<$ty>() {
                Ok(n) => visitor.$visit(n),
                Err(_) => Err(ValueError::Mismatch {
                    expected: format!("an object key that parses as {}", stringify!($ty)),
                    found: "string",
                }),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for KeyDe {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_string(self.0)
    }

    deserialize_parsed_key! {
        deserialize_bool => bool, visit_bool;
        deserialize_i8 => i8, visit_i8;
        deserialize_i16 => i16, visit_i16;
        deserialize_i32 => i32, visit_i32;
        deserialize_i64 => i64, visit_i64;
        deserialize_i128 => i128, visit_i128;
        deserialize_u8 => u8, visit_u8;
        deserialize_u16 => u16, visit_u16;
        deserialize_u32 => u32, visit_u32;
        deserialize_u64 => u64, visit_u64;
        deserialize_u128 => u128, visit_u128;
        deserialize_f32 => f32, visit_f32;
        deserialize_f64 => f64, visit_f64;
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_enum(EnumDe {
            variant: self.0,
            value: None,
        })
    }

    forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

struct EnumDe {
    variant: String,
    value: Option<Value>,
}

impl<'de> EnumAccess<'de> for EnumDe {
    type Error = ValueError;
    type Variant = VariantDe;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, VariantDe), ValueError> {
        let variant = seed.deserialize(KeyDe(self.variant))?;
        Ok((variant, VariantDe(self.value)))
    }
}

struct VariantDe(Option<Value>);

impl<'de> VariantAccess<'de> for VariantDe {
    type Error = ValueError;

    fn unit_variant(self) -> Result<(), ValueError> {
        match self.0 {
            None | Some(Value::Null) => Ok(()),
            Some(other) => Err(ValueError::Mismatch {
                expected: "a unit variant".into(),
                found: other.kind(),
            }),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, ValueError> {
        match self.0 {
            Some(v) => seed.deserialize(v),
            None => Err(ValueError::Mismatch {
                expected: "a newtype variant (an object with one key)".into(),
                found: "string",
            }),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self.0 {
            Some(Value::Array(a)) => visit_array(a, visitor),
            Some(other) => Err(mismatch(&visitor, &other)),
            None => Err(ValueError::Mismatch {
                expected: "a tuple variant".into(),
                found: "string",
            }),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self.0 {
            Some(Value::Object(m)) => visit_object(m, visitor),
            Some(other) => Err(mismatch(&visitor, &other)),
            None => Err(ValueError::Mismatch {
                expected: "a struct variant".into(),
                found: "string",
            }),
        }
    }
}
