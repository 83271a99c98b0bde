//! The decoder: everything notepack.io 3.0.1 `lib/decode.js` reads, with bounds checks.

use bytes::Bytes;
use sio_types::Value;
use sio_types::value::Map;

use super::DecodeError;
use super::js;
use crate::limits::Limits;

/// Decoding uses no recursion, but dropping, cloning, comparing and re-encoding a [`Value`]
/// do, so whatever `Limits::max_depth` says, depth stays within this to keep every later
/// user's stack safe (about 2 KiB per level in debug builds; threads get 2 MiB).
pub(super) const HARD_MAX_DEPTH: usize = 256;

pub(super) struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
    max_depth: usize,
}

impl<'a> Decoder<'a> {
    pub(super) fn new(buf: &'a [u8], limits: &Limits) -> Result<Self, DecodeError> {
        if buf.len() > limits.max_packet_size {
            return Err(DecodeError::TooLarge {
                size: buf.len(),
                max: limits.max_packet_size,
            });
        }
        Ok(Decoder {
            buf,
            pos: 0,
            max_depth: limits.max_depth.min(HARD_MAX_DEPTH),
        })
    }

    /// Decodes the one document and insists that it covers the whole input.
    ///
    /// Containers are kept on an explicit stack rather than decoded recursively, so hostile
    /// nesting costs heap within the depth limit, never the thread's stack.
    pub(super) fn document(mut self) -> Result<Value, DecodeError> {
        let mut stack: Vec<Frame> = Vec::new();
        let v = 'doc: loop {
            let (mut v, mut undefined) = match self.item(stack.len())? {
                Item::Value(v, undefined) => (v, undefined),
                Item::Open(frame) if frame.is_done() => (frame.finish(), false),
                Item::Open(frame) => {
                    stack.push(frame);
                    continue;
                }
            };
            // Hand the value to its parent; each parent it completes is handed on in turn.
            loop {
                let Some(top) = stack.last_mut() else {
                    break 'doc v;
                };
                if !top.accept(v, undefined) {
                    continue 'doc;
                }
                match stack.pop() {
                    Some(done) => {
                        v = done.finish();
                        undefined = false;
                    }
                    None => break 'doc Value::Null,
                }
            }
        };
        if self.pos != self.buf.len() {
            return Err(DecodeError::TrailingBytes {
                offset: self.pos,
                count: self.buf.len() - self.pos,
            });
        }
        Ok(v)
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::UnexpectedEof {
                offset: self.pos,
                what,
                needed: n - self.remaining(),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    /// Checks a declared length against what is left before anything is allocated:
    /// `min_bytes_each` is the smallest encoding of one element.
    fn check_len(
        &self,
        offset: usize,
        what: &'static str,
        declared: usize,
        min_bytes_each: usize,
    ) -> Result<(), DecodeError> {
        if declared.saturating_mul(min_bytes_each) > self.remaining() {
            return Err(DecodeError::LengthExceedsInput {
                offset,
                what,
                declared: declared as u64,
                remaining: self.remaining(),
            });
        }
        Ok(())
    }

    /// Reads one scalar, or the header of an array or map (`depth` containers are open).
    fn item(&mut self, depth: usize) -> Result<Item, DecodeError> {
        let start = self.pos;
        let prefix = self.u8("a value")?;
        let v = match prefix {
            0x00..=0x7f => Value::Int(i64::from(prefix)),
            0x80..=0x8f => return self.map(start, usize::from(prefix & 0x0f), depth),
            0x90..=0x9f => return self.seq(start, usize::from(prefix & 0x0f), depth),
            0xa0..=0xbf => self.str(start, usize::from(prefix & 0x1f))?,
            0xc0 => Value::Null,
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xc4 => {
                let n = self.u8("bin8 length")?;
                self.bin(start, usize::from(n))?
            }
            0xc5 => {
                let n = self.u16("bin16 length")?;
                self.bin(start, usize::from(n))?
            }
            0xc6 => {
                let n = self.u32("bin32 length")?;
                self.bin(start, n as usize)?
            }
            0xc7 => {
                let n = self.u8("ext8 length")?;
                self.ext(start, usize::from(n), prefix)?
            }
            0xc8 => {
                let n = self.u16("ext16 length")?;
                self.ext(start, usize::from(n), prefix)?
            }
            0xc9 => {
                let n = self.u32("ext32 length")?;
                self.ext(start, n as usize, prefix)?
            }
            0xca => Value::Float(f64::from(f32::from_be_bytes(self.array("float32")?))),
            0xcb => Value::Float(f64::from_be_bytes(self.array("float64")?)),
            0xcc => Value::Int(i64::from(self.u8("uint8")?)),
            0xcd => Value::Int(i64::from(self.u16("uint16")?)),
            0xce => Value::Int(i64::from(self.u32("uint32")?)),
            // Exact, where notepack's `hi * 2^32 + lo` rounds above 2^53.
            0xcf => Value::from(self.u64("uint64")?),
            0xd0 => Value::Int(i64::from(i8::from_be_bytes(self.array("int8")?))),
            0xd1 => Value::Int(i64::from(i16::from_be_bytes(self.array("int16")?))),
            0xd2 => Value::Int(i64::from(i32::from_be_bytes(self.array("int32")?))),
            0xd3 => Value::Int(i64::from_be_bytes(self.array("int64")?)),
            // notepack 2's `undefined`, which a map drops, as JSON.stringify would.
            0xd4 if self.buf.get(self.pos..self.pos + 2) == Some(&[0, 0][..]) => {
                self.pos += 2;
                return Ok(Item::Value(Value::Null, true));
            }
            0xd4 => self.ext(start, 1, prefix)?,
            0xd5 => self.ext(start, 2, prefix)?,
            0xd6 => self.ext(start, 4, prefix)?,
            0xd7 => self.ext(start, 8, prefix)?,
            0xd8 => self.ext(start, 16, prefix)?,
            0xd9 => {
                let n = self.u8("str8 length")?;
                self.str(start, usize::from(n))?
            }
            0xda => {
                let n = self.u16("str16 length")?;
                self.str(start, usize::from(n))?
            }
            0xdb => {
                let n = self.u32("str32 length")?;
                self.str(start, n as usize)?
            }
            0xdc => {
                let n = self.u16("array16 length")?;
                return self.seq(start, usize::from(n), depth);
            }
            0xdd => {
                let n = self.u32("array32 length")?;
                return self.seq(start, n as usize, depth);
            }
            0xde => {
                let n = self.u16("map16 length")?;
                return self.map(start, usize::from(n), depth);
            }
            0xdf => {
                let n = self.u32("map32 length")?;
                return self.map(start, n as usize, depth);
            }
            0xe0..=0xff => Value::Int(i64::from(prefix as i8)),
            // 0xc1 is "never used" in msgpack; notepack says "Could not parse".
            0xc1 => {
                return Err(DecodeError::InvalidPrefix {
                    offset: start,
                    prefix,
                });
            }
        };
        Ok(Item::Value(v, false))
    }

    fn str(&mut self, start: usize, len: usize) -> Result<Value, DecodeError> {
        self.check_len(start, "string", len, 1)?;
        let raw = self.take(len, "string")?;
        // Node's `buffer.toString('utf8')` replaces invalid sequences with U+FFFD rather than
        // failing, and so does this.
        Ok(Value::String(String::from_utf8_lossy(raw).into_owned()))
    }

    fn bin(&mut self, start: usize, len: usize) -> Result<Value, DecodeError> {
        self.check_len(start, "bin", len, 1)?;
        Ok(Value::Binary(Bytes::copy_from_slice(
            self.take(len, "bin")?,
        )))
    }

    fn enter(&self, start: usize, depth: usize) -> Result<(), DecodeError> {
        if depth >= self.max_depth {
            return Err(DecodeError::TooDeep {
                offset: start,
                max: self.max_depth,
            });
        }
        Ok(())
    }

    fn seq(&mut self, start: usize, len: usize, depth: usize) -> Result<Item, DecodeError> {
        self.enter(start, depth)?;
        self.check_len(start, "array", len, 1)?;
        Ok(Item::Open(Frame::Array {
            // `len` is bounded by the input left, but a `Value` is far bigger than one byte.
            items: Vec::with_capacity(len.min(1024)),
            left: len,
        }))
    }

    fn map(&mut self, start: usize, len: usize, depth: usize) -> Result<Item, DecodeError> {
        self.enter(start, depth)?;
        self.check_len(start, "map", len, 2)?;
        Ok(Item::Open(Frame::Map {
            map: Map::with_capacity(len.min(1024)),
            left: len,
            key: None,
        }))
    }

    /// ext and fixext; notepack gives some types a meaning only under one prefix.
    fn ext(&mut self, start: usize, len: usize, prefix: u8) -> Result<Value, DecodeError> {
        let ty = self.u8("ext type")? as i8;
        self.check_len(start, "ext", len, 1)?;
        let data = self.take(len, "ext data")?;
        let be_u32 = |at: usize| -> u32 {
            let mut a = [0u8; 4];
            a.copy_from_slice(&data[at..at + 4]);
            u32::from_be_bytes(a)
        };
        Ok(match (ty, prefix) {
            // fixext1 type 0 with a non-zero byte: notepack 2 reads any as `undefined`.
            (0, 0xd4) => Value::Null,
            // notepack 2 wrote ArrayBuffers as ext8/16/32 type 0.
            (0, 0xc7..=0xc9) => Value::Binary(Bytes::copy_from_slice(data)),
            // notepack 2 wrote dates as fixext8 type 0: signed ms since the epoch.
            (0, 0xd7) => {
                let hi = be_u32(0) as i32;
                let lo = be_u32(4);
                date(f64::from(hi) * 4_294_967_296.0 + f64::from(lo))
            }
            // msgpack timestamp 32: unsigned seconds.
            (-1, 0xd6) => date(f64::from(be_u32(0)) * 1e3),
            // timestamp 64: 30-bit nanoseconds, 34-bit seconds.
            (-1, 0xd7) => {
                let hi = be_u32(0);
                let lo = be_u32(4);
                let s = f64::from(hi & 0x3) * 4_294_967_296.0 + f64::from(lo);
                date(s * 1e3 + f64::from(hi >> 2) / 1e6)
            }
            // timestamp 96: 32-bit nanoseconds, signed 64-bit seconds.
            (-1, 0xc7) if len == 12 => {
                let ns = be_u32(0);
                let hi = be_u32(4) as i32;
                let lo = be_u32(8);
                date((f64::from(hi) * 4_294_967_296.0 + f64::from(lo)) * 1e3 + f64::from(ns) / 1e6)
            }
            (-1, 0xc7) => {
                return Err(DecodeError::InvalidTimestamp { offset: start, len });
            }
            // Any other extension: notepack returns `[type, buffer]`.
            _ => Value::Array(vec![
                Value::Int(i64::from(ty)),
                Value::Binary(Bytes::copy_from_slice(data)),
            ]),
        })
    }
}

/// What [`Decoder::item`] read.
enum Item {
    /// A complete value; the flag says it was notepack 2's `undefined`.
    Value(Value, bool),
    /// The header of an array or map whose elements follow.
    Open(Frame),
}

/// An array or map being filled.
enum Frame {
    Array {
        items: Vec<Value>,
        left: usize,
    },
    Map {
        map: Map,
        left: usize,
        key: Option<String>,
    },
}

impl Frame {
    fn is_done(&self) -> bool {
        match self {
            Frame::Array { left, .. } | Frame::Map { left, .. } => *left == 0,
        }
    }

    /// Takes the next element (or map key, or map value); true when that completed it.
    fn accept(&mut self, v: Value, undefined: bool) -> bool {
        match self {
            Frame::Array { items, left } => {
                items.push(v);
                *left -= 1;
            }
            Frame::Map { map, left, key } => match key.take() {
                None => {
                    *key = Some(key_string(v));
                    return false;
                }
                Some(k) => {
                    if undefined {
                        // JSON.stringify and notepack 3 leave out a key whose value is
                        // undefined.
                        map.shift_remove(&k);
                    } else {
                        // Like `obj[k] = v`: a repeated key keeps its first place and takes
                        // the last value.
                        map.insert(k, v);
                    }
                    *left -= 1;
                }
            },
        }
        self.is_done()
    }

    fn finish(self) -> Value {
        match self {
            Frame::Array { items, .. } => Value::Array(items),
            Frame::Map { map, .. } => Value::Object(map),
        }
    }
}

/// A date as a Node server would forward it to a JSON client: `Date.toJSON()`.
fn date(ms: f64) -> Value {
    js::date_to_json(ms).map_or(Value::Null, Value::String)
}

/// The property name JavaScript makes of a decoded map key (`obj[key] = ...` calls
/// `String(key)`).
fn key_string(key: Value) -> String {
    match key {
        Value::String(s) => s,
        other => js_string(&other),
    }
}

fn js_string(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        // JS holds every number as a double, so big integers print rounded, as Node would.
        Value::Int(i) => js::number_to_string(*i as f64),
        Value::UInt(u) => js::number_to_string(*u as f64),
        Value::Float(f) => js::number_to_string(*f),
        Value::String(s) => s.clone(),
        Value::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        // `Array.prototype.join`: null elements print as empty strings.
        Value::Array(a) => a
            .iter()
            .map(|x| match x {
                Value::Null => String::new(),
                other => js_string(other),
            })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".into(),
    }
}
