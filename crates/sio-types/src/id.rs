//! Socket ids.
//!
//! socket.io gives every socket a random 20-character id drawn from the URL-safe base64
//! alphabet, and uses it as the name of the socket's private room. Ids from other servers in
//! a cluster (a Node server, another Rust server) travel through Redis as plain strings, so
//! [`SocketId`] accepts any short printable id, not only the ones it generates.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::IdError;

/// The id of one socket: a short ASCII string stored inline, so it is `Copy` and hashes fast.
///
/// ```
/// use sio_types::SocketId;
///
/// let id = SocketId::random();
/// assert_eq!(id.as_str().len(), 20);
/// let parsed: SocketId = id.as_str().parse().unwrap();
/// assert_eq!(parsed, id);
/// assert!("has space".parse::<SocketId>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId {
    len: u8,
    bytes: [u8; SocketId::MAX_LEN],
}

impl SocketId {
    /// The longest id accepted, in bytes. Node's ids are 20 characters, engine.io session
    /// ids of other servers stay well below this.
    pub const MAX_LEN: usize = 31;

    /// The length of the ids this crate generates, as socket.io does.
    pub const GENERATED_LEN: usize = 20;

    const ALPHABET: &'static [u8; 64] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    /// A fresh random id of 20 URL-safe characters (120 bits from the OS random source).
    pub fn random() -> Self {
        let mut raw = [0u8; 15];
        // getrandom only fails where the OS has no entropy source at all; falling back to
        // a time-and-counter mix keeps ids unique within the process in that case.
        if getrandom::fill(&mut raw).is_err() {
            fallback_entropy(&mut raw);
        }
        let mut bytes = [0u8; Self::MAX_LEN];
        for (i, chunk) in raw.chunks(3).enumerate() {
            let n = (u32::from(chunk[0]) << 16) | (u32::from(chunk[1]) << 8) | u32::from(chunk[2]);
            for j in 0..4 {
                let sextet = (n >> (18 - 6 * j)) & 0x3f;
                bytes[i * 4 + j] = Self::ALPHABET[sextet as usize];
            }
        }
        SocketId {
            len: Self::GENERATED_LEN as u8,
            bytes,
        }
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        // Construction only ever stores printable ASCII, which is valid UTF-8.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

fn fallback_entropy(out: &mut [u8]) {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};
    static COUNTER: AtomicU64 = AtomicU64::new(0x9e37_79b9_7f4a_7c15);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    let mut x = nanos ^ COUNTER.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
    for b in out.iter_mut() {
        // splitmix64 step
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        *b = (z ^ (z >> 31)) as u8;
    }
}

impl FromStr for SocketId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(IdError::Empty);
        }
        if s.len() > Self::MAX_LEN {
            return Err(IdError::TooLong {
                len: s.len(),
                max: Self::MAX_LEN,
            });
        }
        if let Some(c) = s.chars().find(|c| !c.is_ascii_graphic()) {
            return Err(IdError::InvalidChar(c));
        }
        let mut bytes = [0u8; Self::MAX_LEN];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        Ok(SocketId {
            len: s.len() as u8,
            bytes,
        })
    }
}

impl TryFrom<&str> for SocketId {
    type Error = IdError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl AsRef<str> for SocketId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for SocketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for SocketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SocketId({})", self.as_str())
    }
}

impl Serialize for SocketId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SocketId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn random_ids_are_url_safe_and_distinct() {
        let ids: HashSet<SocketId> = (0..10_000).map(|_| SocketId::random()).collect();
        assert_eq!(ids.len(), 10_000);
        for id in ids.iter().take(100) {
            assert_eq!(id.as_str().len(), 20);
            assert!(id.as_str().bytes().all(|b| SocketId::ALPHABET.contains(&b)));
        }
    }

    #[test]
    fn parse_rejects_bad_ids() {
        assert_eq!("".parse::<SocketId>(), Err(IdError::Empty));
        assert_eq!(
            "x".repeat(32).parse::<SocketId>(),
            Err(IdError::TooLong { len: 32, max: 31 })
        );
        assert_eq!("a b".parse::<SocketId>(), Err(IdError::InvalidChar(' ')));
        assert_eq!("é".parse::<SocketId>(), Err(IdError::InvalidChar('é')));
    }

    #[test]
    fn serde_round_trip() {
        let id: SocketId = "Ab-_09xyzXYZ12345678".parse().unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"Ab-_09xyzXYZ12345678\"");
        assert_eq!(serde_json::from_str::<SocketId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<SocketId>("\"\"").is_err());
    }

    #[test]
    fn fallback_entropy_differs_between_calls() {
        let (mut a, mut b) = ([0u8; 15], [0u8; 15]);
        fallback_entropy(&mut a);
        fallback_entropy(&mut b);
        assert_ne!(a, b);
    }
}
