//! The bounds every decoder enforces, so hostile input costs little and cannot exhaust memory.

/// Decoder limits. The defaults suit socket.io's own defaults (1 MB `maxHttpBufferSize`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest packet (text frame, binary frame, or polling body) accepted, in bytes.
    pub max_packet_size: usize,
    /// Most binary attachments one BINARY_EVENT / BINARY_ACK may announce.
    pub max_attachments: usize,
    /// Deepest nesting of arrays and objects accepted in a payload.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_packet_size: 1_000_000,
            max_attachments: 64,
            max_depth: 64,
        }
    }
}
