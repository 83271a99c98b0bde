//! Typed data → [`Value`] (interim: through serde_json; binary-aware serializer lands next).

use serde::Serialize;

use super::Value;
use crate::error::ValueError;

/// Converts any serializable value into a [`Value`].
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, ValueError> {
    serde_json::to_value(value)
        .map(Value::from)
        .map_err(|e| ValueError::Custom(e.to_string()))
}
