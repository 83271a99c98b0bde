//! The decoder: everything notepack.io 3.0.1 `lib/decode.js` reads, with bounds checks.

use bytes::Bytes;
use sio_types::Value;
use sio_types::value::Map;

use super::DecodeError;
use super::js;
use crate::limits::Limits;

/// Nesting is decoded (and later dropped) recursively, so whatever `Limits::max_depth` says,
/// depth stays below this to keep the stack safe on any thread.
pub(super) const HARD_MAX_DEPTH: usize = 512;

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
    pub(super) fn document(mut self) -> Result<Value, DecodeError> {
        let v = self.value(0)?;
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

    fn value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        let start = self.pos;
        let prefix = self.u8("a value")?;
        Ok(match prefix {
            0x00..=0x7f => Value::Int(i64::from(prefix)),
            0x80..=0x8f => self.map(start, usize::from(prefix & 0x0f), depth)?,
            0x90..=0x9f => self.seq(start, usize::from(prefix & 0x0f), depth)?,
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
                self.ext(start, usize::from(n), false)?
            }
            0xc8 => {
                let n = self.u16("ext16 length")?;
                self.ext(start, usize::from(n), false)?
            }
            0xc9 => {
                let n = self.u32("ext32 length")?;
                self.ext(start, n as usize, false)?
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
            0xd4 => self.ext(start, 1, true)?,
            0xd5 => self.ext(start, 2, true)?,
            0xd6 => self.ext(start, 4, true)?,
            0xd7 => self.ext(start, 8, true)?,
            0xd8 => self.ext(start, 16, true)?,
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
                self.seq(start, usize::from(n), depth)?
            }
            0xdd => {
                let n = self.u32("array32 length")?;
                self.seq(start, n as usize, depth)?
            }
            0xde => {
                let n = self.u16("map16 length")?;
                self.map(start, usize::from(n), depth)?
            }
            0xdf => {
                let n = self.u32("map32 length")?;
                self.map(start, n as usize, depth)?
            }
            0xe0..=0xff => Value::Int(i64::from(prefix as i8)),
            // 0xc1 is "never used" in msgpack; notepack says "Could not parse".
            0xc1 => {
                return Err(DecodeError::InvalidPrefix {
                    offset: start,
                    prefix,
                });
            }
        })
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

    fn enter(&self, start: usize, depth: usize) -> Result<usize, DecodeError> {
        let depth = depth + 1;
        if depth > self.max_depth {
            return Err(DecodeError::TooDeep {
                offset: start,
                max: self.max_depth,
            });
        }
        Ok(depth)
    }

    fn seq(&mut self, start: usize, len: usize, depth: usize) -> Result<Value, DecodeError> {
        let depth = self.enter(start, depth)?;
        self.check_len(start, "array", len, 1)?;
        // `len` is bounded by the input left, but a `Value` is far bigger than one byte.
        let mut out = Vec::with_capacity(len.min(1024));
        for _ in 0..len {
            out.push(self.value(depth)?);
        }
        Ok(Value::Array(out))
    }

    fn map(&mut self, start: usize, len: usize, depth: usize) -> Result<Value, DecodeError> {
        let depth = self.enter(start, depth)?;
        self.check_len(start, "map", len, 2)?;
        let mut out = Map::with_capacity(len.min(1024));
        for _ in 0..len {
            let key = key_string(self.value(depth)?);
            let v = self.value(depth)?;
            // Like `obj[key] = v`: a repeated key keeps its first place and takes the last value.
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }

    /// ext and fixext: `fixed` says the length came from the prefix (fixext).
    fn ext(&mut self, start: usize, len: usize, fixed: bool) -> Result<Value, DecodeError> {
        let ty = self.u8("ext type")? as i8;
        self.check_len(start, "ext", len, 1)?;
        let data = self.take(len, "ext data")?;
        let be_u32 = |at: usize| -> u32 {
            let mut a = [0u8; 4];
            a.copy_from_slice(&data[at..at + 4]);
            u32::from_be_bytes(a)
        };
        Ok(match (ty, len, fixed) {
            // notepack 2 wrote `undefined` as fixext1 type 0; JSON has no undefined.
            (0, 1, true) => Value::Null,
            // notepack 2 wrote ArrayBuffers as ext8/16/32 type 0.
            (0, _, false) => Value::Binary(Bytes::copy_from_slice(data)),
            // notepack 2 wrote dates as fixext8 type 0: signed ms since the epoch.
            (0, 8, true) => {
                let hi = be_u32(0) as i32;
                let lo = be_u32(4);
                date(f64::from(hi) * 4_294_967_296.0 + f64::from(lo))
            }
            // msgpack timestamp 32: unsigned seconds.
            (-1, 4, true) => date(f64::from(be_u32(0)) * 1e3),
            // timestamp 64: 30-bit nanoseconds, 34-bit seconds.
            (-1, 8, true) => {
                let hi = be_u32(0);
                let lo = be_u32(4);
                let s = f64::from(hi & 0x3) * 4_294_967_296.0 + f64::from(lo);
                date(s * 1e3 + f64::from(hi >> 2) / 1e6)
            }
            // timestamp 96: 32-bit nanoseconds, signed 64-bit seconds.
            (-1, 12, false) => {
                let ns = be_u32(0);
                let hi = be_u32(4) as i32;
                let lo = be_u32(8);
                date((f64::from(hi) * 4_294_967_296.0 + f64::from(lo)) * 1e3 + f64::from(ns) / 1e6)
            }
            (-1, _, false) => {
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
