//! Reading `join` / `leave` requests: `{rooms: [string, ...]}` within limits, nothing else.

use sio_types::Value;

/// Limits on what a client may ask for in one `join` / `leave` request.
///
/// ```
/// let limits = sio_server::helper::RoomLimits::default();
/// assert_eq!(limits.max_rooms_per_request, 100);
/// assert_eq!(limits.max_room_name_len, 256);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoomLimits {
    /// A request naming more rooms than this is ignored as a whole (default 100).
    pub max_rooms_per_request: usize,
    /// Room names longer than this many bytes are refused (default 256).
    pub max_room_name_len: usize,
}

impl Default for RoomLimits {
    fn default() -> Self {
        RoomLimits {
            max_rooms_per_request: 100,
            max_room_name_len: 256,
        }
    }
}

/// Why a request was ignored; logged as a warning, the connection is kept.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BadRequest {
    NotAnObject,
    NoRoomsArray,
    NotAString(usize),
    EmptyName(usize),
    NameTooLong { index: usize, len: usize },
    TooMany(usize),
}

impl std::fmt::Display for BadRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadRequest::NotAnObject => f.write_str("payload is not an object"),
            BadRequest::NoRoomsArray => f.write_str("`rooms` is missing or not an array"),
            BadRequest::NotAString(i) => write!(f, "rooms[{i}] is not a string"),
            BadRequest::EmptyName(i) => write!(f, "rooms[{i}] is empty"),
            BadRequest::NameTooLong { index, len } => {
                write!(f, "rooms[{index}] is {len} bytes long")
            }
            BadRequest::TooMany(n) => write!(f, "{n} rooms asked at once"),
        }
    }
}

/// The room names of a request, or why it is refused. Any bad name refuses the whole
/// request: a client sending garbage gets nothing rather than a guessed part.
pub(crate) fn parse(
    payload: Option<&Value>,
    limits: &RoomLimits,
) -> Result<Vec<String>, BadRequest> {
    let obj = payload
        .and_then(Value::as_object)
        .ok_or(BadRequest::NotAnObject)?;
    let Some(Value::Array(list)) = obj.get("rooms") else {
        return Err(BadRequest::NoRoomsArray);
    };
    if list.len() > limits.max_rooms_per_request {
        return Err(BadRequest::TooMany(list.len()));
    }
    let mut rooms: Vec<String> = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let name = v.as_str().ok_or(BadRequest::NotAString(i))?;
        if name.is_empty() {
            return Err(BadRequest::EmptyName(i));
        }
        if name.len() > limits.max_room_name_len {
            return Err(BadRequest::NameTooLong {
                index: i,
                len: name.len(),
            });
        }
        if !rooms.iter().any(|r| r == name) {
            rooms.push(name.to_owned());
        }
    }
    Ok(rooms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(json: serde_json::Value) -> Value {
        serde_json::from_value(json).unwrap_or_default()
    }

    #[test]
    fn good_requests_are_read_and_deduplicated() {
        let v = req(serde_json::json!({"rooms": ["a", "b", "a"]}));
        assert_eq!(
            parse(Some(&v), &RoomLimits::default()),
            Ok(vec!["a".into(), "b".into()])
        );
        let v = req(serde_json::json!({"rooms": []}));
        assert_eq!(parse(Some(&v), &RoomLimits::default()), Ok(vec![]));
    }

    #[test]
    fn bad_requests_are_refused() {
        let l = RoomLimits {
            max_rooms_per_request: 2,
            max_room_name_len: 4,
        };
        let cases = [
            (serde_json::json!("rooms"), BadRequest::NotAnObject),
            (serde_json::json!(["a"]), BadRequest::NotAnObject),
            (serde_json::json!({}), BadRequest::NoRoomsArray),
            (serde_json::json!({"rooms": "a"}), BadRequest::NoRoomsArray),
            (serde_json::json!({"rooms": [1]}), BadRequest::NotAString(0)),
            (
                serde_json::json!({"rooms": ["a", ""]}),
                BadRequest::EmptyName(1),
            ),
            (
                serde_json::json!({"rooms": ["abcde"]}),
                BadRequest::NameTooLong { index: 0, len: 5 },
            ),
            (
                serde_json::json!({"rooms": ["a", "b", "c"]}),
                BadRequest::TooMany(3),
            ),
        ];
        for (json, want) in cases {
            let v = req(json.clone());
            assert_eq!(parse(Some(&v), &l), Err(want), "{json}");
        }
        assert_eq!(parse(None, &l), Err(BadRequest::NotAnObject));
    }
}
