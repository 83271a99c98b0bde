//! [`Value`] → typed data (interim).

use serde::de::DeserializeOwned;

use super::Value;
use crate::error::ValueError;

/// Converts a [`Value`] into any deserializable type.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ValueError> {
    let _ = value;
    Err(ValueError::Custom("not yet".into()))
}
