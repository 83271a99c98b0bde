//! The encoder: the byte choices of notepack.io 3.0.1 `lib/encode.js`.

use sio_types::Value;

/// Lengths are written as u32 at most; msgpack cannot say more. A longer string or buffer
/// (over 4 GiB, never reachable under any packet limit) is cut so the output stays a valid
/// document instead of panicking.
fn clamp_len(len: usize) -> usize {
    len.min(u32::MAX as usize)
}

pub(super) fn value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.push(0xc0),
        Value::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Int(i) => int(*i, out),
        Value::UInt(u) => uint(*u, out),
        Value::Float(f) => float(*f, out),
        Value::String(s) => str(s, out),
        Value::Binary(b) => bin(b, out),
        Value::Array(a) => {
            let len = clamp_len(a.len());
            array_header(len, out);
            for item in a.iter().take(len) {
                value(item, out);
            }
        }
        Value::Object(m) => {
            let len = clamp_len(m.len());
            header(len, 0x80, 0x10, 0xde, 0xdf, out);
            for (k, item) in m.iter().take(len) {
                str(k, out);
                value(item, out);
            }
        }
    }
}

/// The header of an array of `len` items (at most `u32::MAX`).
pub(super) fn array_header(len: usize, out: &mut Vec<u8>) {
    header(len, 0x90, 0x10, 0xdc, 0xdd, out);
}

/// fix / 16 / 32 headers of arrays and maps (notepack has no array8/map8).
fn header(len: usize, fix: u8, fix_limit: usize, h16: u8, h32: u8, out: &mut Vec<u8>) {
    if len < fix_limit {
        out.push(fix | len as u8);
    } else if len < 0x1_0000 {
        out.push(h16);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(h32);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

pub(super) fn str(s: &str, out: &mut Vec<u8>) {
    let len = clamp_len(s.len());
    if len < 0x20 {
        out.push(0xa0 | len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len < 0x1_0000 {
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(&s.as_bytes()[..len]);
}

fn bin(b: &[u8], out: &mut Vec<u8>) {
    let len = clamp_len(b.len());
    if len < 0x100 {
        out.extend_from_slice(&[0xc4, len as u8]);
    } else if len < 0x1_0000 {
        out.push(0xc5);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xc6);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(&b[..len]);
}

pub(super) fn int(i: i64, out: &mut Vec<u8>) {
    if i >= 0 {
        uint(i as u64, out);
    } else if i >= -0x20 {
        out.push(i as u8);
    } else if i >= -0x80 {
        out.extend_from_slice(&[0xd0, i as u8]);
    } else if i >= -0x8000 {
        out.push(0xd1);
        out.extend_from_slice(&(i as i16).to_be_bytes());
    } else if i >= -0x8000_0000 {
        out.push(0xd2);
        out.extend_from_slice(&(i as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&i.to_be_bytes());
    }
}

pub(super) fn uint(u: u64, out: &mut Vec<u8>) {
    if u < 0x80 {
        out.push(u as u8);
    } else if u < 0x100 {
        out.extend_from_slice(&[0xcc, u as u8]);
    } else if u < 0x1_0000 {
        out.push(0xcd);
        out.extend_from_slice(&(u as u16).to_be_bytes());
    } else if u < 0x1_0000_0000 {
        out.push(0xce);
        out.extend_from_slice(&(u as u32).to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend_from_slice(&u.to_be_bytes());
    }
}

/// 2^63 and 2^64 as floats, the bounds inside which an integral float has an exact
/// `i64` / `u64` twin.
const TWO_63: f64 = 9_223_372_036_854_775_808.0;
const TWO_64: f64 = 18_446_744_073_709_551_616.0;

fn float(f: f64, out: &mut Vec<u8>) {
    // notepack writes every integral, finite number with the integer formats (JS has one
    // number type), so `1.0` goes out as `0x01`, and `-0.0` as `0x00`.
    if f.is_finite() && f.fract() == 0.0 {
        if (-TWO_63..TWO_63).contains(&f) {
            return int(f as i64, out);
        }
        if (0.0..TWO_64).contains(&f) {
            return uint(f as u64, out);
        }
        // Beyond 64 bits notepack's int64 path wraps and writes a wrong number; float64
        // keeps the value.
    }
    out.push(0xcb);
    // Node writes the one canonical NaN; Rust NaNs may carry payload bits.
    let bits = if f.is_nan() {
        0x7ff8_0000_0000_0000_u64
    } else {
        f.to_bits()
    };
    out.extend_from_slice(&bits.to_be_bytes());
}
