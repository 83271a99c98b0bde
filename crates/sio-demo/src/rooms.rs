//! The demo's room rule, given to the server as `validate_room`.

/// Room names clients may never join: the prefix marks rooms the server manages itself.
pub const PRIVATE_PREFIX: &str = "private-";

/// Longest room name a client may ask for, in bytes: room names travel in every
/// cluster message, so a client must not be able to make them arbitrarily large.
pub const MAX_ROOM_LEN: usize = 64;

/// Keeps the rooms a client may join: not empty, not longer than [`MAX_ROOM_LEN`], not
/// starting with [`PRIVATE_PREFIX`], no duplicates; order kept.
///
/// ```
/// use sio_demo::rooms::allowed_rooms;
///
/// let asked = ["lobby", "private-admins", "", "lobby", "games"].map(String::from);
/// assert_eq!(allowed_rooms(&asked), ["lobby", "games"]);
/// ```
pub fn allowed_rooms(requested: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for room in requested {
        let ok = !room.is_empty()
            && room.len() <= MAX_ROOM_LEN
            && !room.starts_with(PRIVATE_PREFIX)
            && !room.chars().any(char::is_control)
            && !out.contains(room);
        if ok {
            out.push(room.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn private_rooms_are_refused() {
        assert!(allowed_rooms(&strings(&["private-x", "private-"])).is_empty());
        // Only the prefix counts: the word elsewhere is fine.
        assert_eq!(
            allowed_rooms(&strings(&["not-private-x", "Private-x"])),
            strings(&["not-private-x", "Private-x"])
        );
    }

    #[test]
    fn empty_long_and_control_names_are_refused() {
        let long = "x".repeat(MAX_ROOM_LEN + 1);
        let edge = "y".repeat(MAX_ROOM_LEN);
        assert_eq!(
            allowed_rooms(&[String::new(), long, edge.clone(), "a\nb".into()]),
            vec![edge]
        );
    }
}
