//! `to_value` / `from_value`: typed data through serde with binary kept native.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use sio_types::value::{Map, from_value, from_value_ref, to_value};
use sio_types::{Value, ValueError};

/// What `serde_bytes` does for a `Vec<u8>` field: serialize through `serialize_bytes`,
/// deserialize through `deserialize_byte_buf`.
mod as_bytes {
    use serde::de::{Deserializer, Error, SeqAccess, Visitor};
    use serde::ser::Serializer;

    pub(crate) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
            fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Vec<u8>, A::Error> {
                let mut out = Vec::new();
                while let Some(b) = a.next_element()? {
                    out.push(b);
                }
                Ok(out)
            }
        }
        d.deserialize_byte_buf(V)
    }
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
enum Shape {
    Empty,
    Circle(f64),
    Pair(i32, String),
    Rect { w: u32, h: u32 },
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Upload {
    name: String,
    data: Bytes,
    #[serde(with = "as_bytes")]
    thumb: Vec<u8>,
    size: Option<u64>,
    tags: Vec<String>,
    shape: Shape,
    unit: (),
}

fn obj(entries: &[(&str, Value)]) -> Value {
    entries.iter().cloned().collect()
}

fn bin(b: &[u8]) -> Value {
    Value::Binary(Bytes::copy_from_slice(b))
}

fn upload() -> Upload {
    Upload {
        name: "a.png".into(),
        data: Bytes::from_static(&[0x89, b'P']),
        thumb: vec![1, 2, 3],
        size: None,
        tags: vec!["x".into()],
        shape: Shape::Rect { w: 2, h: 3 },
        unit: (),
    }
}

#[test]
fn structs_become_objects_in_field_order_with_binary_leaves() {
    let v = to_value(&upload()).unwrap();
    let want = obj(&[
        ("name", "a.png".into()),
        ("data", bin(&[0x89, b'P'])),
        ("thumb", bin(&[1, 2, 3])),
        ("size", Value::Null),
        ("tags", Value::Array(vec!["x".into()])),
        (
            "shape",
            obj(&[("Rect", obj(&[("w", 2.into()), ("h", 3.into())]))]),
        ),
        ("unit", Value::Null),
    ]);
    assert_eq!(v, want);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["name", "data", "thumb", "size", "tags", "shape", "unit"]
    );
    assert_eq!(from_value::<Upload>(v).unwrap(), upload());
}

#[test]
fn enums_are_externally_tagged_like_serde_json() {
    let cases = [
        (Shape::Empty, Value::from("Empty")),
        (Shape::Circle(1.5), obj(&[("Circle", Value::Float(1.5))])),
        (
            Shape::Pair(-1, "p".into()),
            obj(&[("Pair", Value::Array(vec![(-1).into(), "p".into()]))]),
        ),
        (
            Shape::Rect { w: 1, h: 2 },
            obj(&[("Rect", obj(&[("w", 1.into()), ("h", 2.into())]))]),
        ),
    ];
    for (shape, want) in cases {
        let v = to_value(&shape).unwrap();
        assert_eq!(v, want);
        // The same shape serde_json gives.
        assert_eq!(
            serde_json::to_value(&shape).unwrap(),
            serde_json::to_value(&v).unwrap()
        );
        assert_eq!(from_value::<Shape>(v).unwrap(), shape);
    }
    let err = from_value::<Shape>(obj(&[("A", 1.into()), ("B", 2.into())])).unwrap_err();
    assert!(
        matches!(
            err,
            ValueError::Mismatch {
                found: "object",
                ..
            }
        ),
        "{err}"
    );
    assert!(from_value::<Shape>("Nope".into()).is_err());
    assert!(from_value::<Shape>(Value::Int(1)).is_err());
}

#[test]
fn numbers_keep_their_range() {
    assert_eq!(to_value(&u64::MAX).unwrap(), Value::UInt(u64::MAX));
    assert_eq!(to_value(&(i64::MAX as u64)).unwrap(), Value::Int(i64::MAX));
    assert_eq!(to_value(&-5i128).unwrap(), Value::Int(-5));
    assert_eq!(
        to_value(&(u64::MAX as u128)).unwrap(),
        Value::UInt(u64::MAX)
    );
    assert!(to_value(&(u64::MAX as u128 + 1)).is_err());
    assert!(to_value(&i128::MIN).is_err());
    assert_eq!(to_value(&1.5f32).unwrap(), Value::Float(1.5));
    assert_eq!(to_value(&'c').unwrap(), Value::from("c"));

    // JS sends 1 for 1.0: integral floats fit integer types, exactly.
    assert_eq!(from_value::<u8>(Value::Float(1.0)).unwrap(), 1);
    assert_eq!(from_value::<i64>(Value::Float(-3.0)).unwrap(), -3);
    assert_eq!(from_value::<u64>(Value::UInt(u64::MAX)).unwrap(), u64::MAX);
    assert_eq!(
        from_value::<i128>(Value::UInt(u64::MAX)).unwrap(),
        i128::from(u64::MAX)
    );
    assert_eq!(from_value::<f64>(Value::Int(3)).unwrap(), 3.0);
    assert_eq!(from_value::<f32>(Value::Float(0.5)).unwrap(), 0.5);

    let err = from_value::<u8>(Value::Int(300)).unwrap_err();
    assert_eq!(
        err,
        ValueError::Mismatch {
            expected: "a number that fits u8".into(),
            found: "number out of range"
        }
    );
    assert!(matches!(
        from_value::<u32>(Value::Int(-1)).unwrap_err(),
        ValueError::Mismatch {
            found: "number out of range",
            ..
        }
    ));
    assert!(matches!(
        from_value::<i64>(Value::UInt(u64::MAX)).unwrap_err(),
        ValueError::Mismatch {
            found: "number out of range",
            ..
        }
    ));
    assert!(matches!(
        from_value::<u8>(Value::Float(1.5)).unwrap_err(),
        ValueError::Mismatch {
            found: "number with a fraction",
            ..
        }
    ));
    assert!(matches!(
        from_value::<i32>(Value::Float(f64::NAN)).unwrap_err(),
        ValueError::Mismatch {
            found: "number with a fraction",
            ..
        }
    ));
    assert!(matches!(
        from_value::<i32>(Value::Float(1e300)).unwrap_err(),
        ValueError::Mismatch { .. }
    ));
}

#[test]
fn mismatches_name_what_was_expected_and_found() {
    let err = from_value::<String>(Value::Int(1)).unwrap_err();
    assert_eq!(
        err,
        ValueError::Mismatch {
            expected: "a string".into(),
            found: "number"
        }
    );
    assert_eq!(err.to_string(), "expected a string, found number");
    assert!(matches!(
        from_value::<bool>(bin(&[1])).unwrap_err(),
        ValueError::Mismatch {
            found: "binary",
            ..
        }
    ));
    assert!(matches!(
        from_value::<Vec<i32>>(obj(&[])).unwrap_err(),
        ValueError::Mismatch {
            found: "object",
            ..
        }
    ));
    assert!(matches!(
        from_value::<Upload>(Value::from("x")).unwrap_err(),
        ValueError::Mismatch {
            found: "string",
            ..
        }
    ));
    assert!(matches!(
        from_value::<()>(Value::Bool(true)).unwrap_err(),
        ValueError::Mismatch { found: "bool", .. }
    ));
    // A missing field is serde's own error.
    assert!(from_value::<Upload>(obj(&[("name", "x".into())])).is_err());
}

#[test]
fn binary_deserializes_as_bytes_and_as_a_sequence() {
    assert_eq!(
        from_value::<Bytes>(bin(&[1, 2])).unwrap(),
        Bytes::from_static(&[1, 2])
    );
    // Vec<u8> asks for a sequence.
    assert_eq!(from_value::<Vec<u8>>(bin(&[1, 2])).unwrap(), vec![1, 2]);
    // Binary that went through JSON arrives as an array of numbers.
    assert_eq!(
        from_value::<Bytes>(Value::Array(vec![1.into(), 2.into()])).unwrap(),
        Bytes::from_static(&[1, 2])
    );
    assert!(from_value::<Bytes>(Value::Array(vec![300.into()])).is_err());
    assert!(from_value::<Bytes>(Value::from("AQI=")).is_err());
    // Any-typed targets see binary as binary.
    assert_eq!(from_value::<Value>(bin(&[7])).unwrap(), bin(&[7]));
}

#[test]
fn null_is_none_and_unit() {
    assert_eq!(from_value::<Option<u8>>(Value::Null).unwrap(), None);
    assert_eq!(from_value::<Option<u8>>(Value::Int(4)).unwrap(), Some(4));
    from_value::<()>(Value::Null).unwrap();
    assert_eq!(to_value(&Option::<u8>::None).unwrap(), Value::Null);
    assert_eq!(to_value(&()).unwrap(), Value::Null);
}

#[test]
fn map_keys_are_strings() {
    let m: BTreeMap<u32, bool> = [(1, true), (20, false)].into();
    let v = to_value(&m).unwrap();
    assert_eq!(v, obj(&[("1", true.into()), ("20", false.into())]));
    assert_eq!(from_value::<BTreeMap<u32, bool>>(v).unwrap(), m);

    let m: HashMap<bool, i8> = [(true, 1)].into();
    assert_eq!(to_value(&m).unwrap(), obj(&[("true", 1.into())]));
    let m: BTreeMap<char, i8> = [('k', 1)].into();
    assert_eq!(to_value(&m).unwrap(), obj(&[("k", 1.into())]));

    let m: BTreeMap<(i32, i32), i8> = [((1, 2), 1)].into();
    assert_eq!(to_value(&m).unwrap_err(), ValueError::KeyNotString("array"));
    let m: BTreeMap<Option<u8>, i8> = [(None, 1)].into();
    assert_eq!(to_value(&m).unwrap_err(), ValueError::KeyNotString("null"));

    assert!(matches!(
        from_value::<BTreeMap<u32, bool>>(obj(&[("x", true.into())])).unwrap_err(),
        ValueError::Mismatch {
            found: "string",
            ..
        }
    ));
}

#[test]
fn tuples_and_newtypes() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Id(u64);
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Point(i32, i32);
    assert_eq!(to_value(&Id(5)).unwrap(), Value::Int(5));
    assert_eq!(from_value::<Id>(Value::Int(5)).unwrap(), Id(5));
    let v = to_value(&Point(1, -2)).unwrap();
    assert_eq!(v, Value::Array(vec![1.into(), (-2).into()]));
    assert_eq!(from_value::<Point>(v).unwrap(), Point(1, -2));
    // Too many elements for the tuple is an error, not silently dropped data.
    assert!(from_value::<(u8, u8)>(Value::Array(vec![1.into(), 2.into(), 3.into()])).is_err());
    assert_eq!(
        from_value_ref::<(u8, u8)>(&Value::Array(vec![1.into(), 2.into()])).unwrap(),
        (1, 2)
    );
}

#[test]
fn unknown_fields_are_skipped_and_values_nest() {
    #[derive(Deserialize, Debug, PartialEq)]
    struct Small {
        a: u8,
        rest: Value,
    }
    let v = obj(&[
        ("a", 1.into()),
        ("rest", obj(&[("b", bin(&[9]))])),
        ("extra", Value::Array(vec![bin(&[1])])),
    ]);
    let s: Small = from_value(v).unwrap();
    assert_eq!(
        s,
        Small {
            a: 1,
            rest: obj(&[("b", bin(&[9]))])
        }
    );
}

fn value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        ((i64::MAX as u64 + 1)..=u64::MAX).prop_map(Value::UInt),
        any::<f64>()
            .prop_filter("NaN is never equal", |f| !f.is_nan())
            .prop_map(Value::Float),
        ".{0,20}".prop_map(Value::String),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(|b| Value::Binary(Bytes::from(b))),
    ];
    leaf.prop_recursive(5, 100, 10, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..10).prop_map(Value::Array),
            prop::collection::vec((".{0,8}", inner), 0..10)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map>())),
        ]
    })
    .boxed()
}

prop_compose! {
    fn uploads()(
        name in ".{0,20}",
        data in prop::collection::vec(any::<u8>(), 0..64),
        thumb in prop::collection::vec(any::<u8>(), 0..64),
        size in prop::option::of(any::<u64>()),
        tags in prop::collection::vec(".{0,5}", 0..4),
        w in any::<u32>(),
        h in any::<u32>(),
    ) -> Upload {
        Upload { name, data: Bytes::from(data), thumb, size, tags, shape: Shape::Rect { w, h }, unit: () }
    }
}

proptest! {
    #[test]
    fn any_value_survives_value_to_value(v in value()) {
        prop_assert_eq!(from_value::<Value>(v.clone()).unwrap(), v.clone());
        prop_assert_eq!(to_value(&v).unwrap(), v);
    }

    #[test]
    fn typed_structs_with_bytes_round_trip(u in uploads()) {
        let v = to_value(&u).unwrap();
        prop_assert!(v.contains_binary());
        prop_assert_eq!(from_value::<Upload>(v).unwrap(), u);
    }
}
