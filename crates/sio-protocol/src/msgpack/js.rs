//! The two JavaScript conversions the decoder has to imitate: `String(number)` (for map keys
//! that are numbers) and `Date.prototype.toJSON()` (for timestamps).

/// `Number.prototype.toString()` for an `f64`: shortest round-trip digits, exponent form
/// outside `1e-7 < |x| < 1e21` (ECMAScript `Number::toString`).
pub(super) fn number_to_string(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let sign = if x < 0.0 { "-" } else { "" };
    // `{:e}` prints the shortest digits that round-trip, as `d.ddde±x`.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exp: i64 = exp.parse().unwrap_or(0);
    let k = digits.len() as i64;
    let n = exp + 1;
    let body = if k <= n && n <= 21 {
        let mut s = digits.clone();
        s.extend(std::iter::repeat_n('0', (n - k) as usize));
        s
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(n as usize);
        format!("{int}.{frac}")
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let e_sign = if e < 0 { '-' } else { '+' };
        let (first, rest) = digits.split_at(1);
        if rest.is_empty() {
            format!("{first}e{e_sign}{}", e.abs())
        } else {
            format!("{first}.{rest}e{e_sign}{}", e.abs())
        }
    };
    format!("{sign}{body}")
}

/// Largest time value a JavaScript `Date` holds (ECMAScript TimeClip), in ms.
const MAX_TIME_MS: f64 = 8.64e15;

/// What `new Date(ms).toJSON()` gives: `YYYY-MM-DDTHH:mm:ss.sssZ` (with a signed six-digit
/// year outside 0..=9999), or `None` for an invalid date (`toJSON()` returns `null`).
pub(super) fn date_to_json(ms: f64) -> Option<String> {
    if !ms.is_finite() || ms.abs() > MAX_TIME_MS {
        return None;
    }
    // TimeClip truncates toward zero.
    let ms = ms.trunc() as i64;
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (h, min, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    let year = if (0..=9999).contains(&y) {
        format!("{y:04}")
    } else if y < 0 {
        format!("-{:06}", -y)
    } else {
        format!("+{y:06}")
    };
    Some(format!(
        "{year}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z"
    ))
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_like_javascript() {
        // Each right-hand side is what `String(x)` prints in Node 20.
        let cases: &[(f64, &str)] = &[
            (1.0, "1"),
            (-1.5, "-1.5"),
            (0.1, "0.1"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (123_456_789_012_345_680_000.0, "123456789012345680000"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (0.000_001, "0.000001"),
            (18_446_744_073_709_551_615.0, "18446744073709552000"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
            (-0.0, "0"),
            (2.5e300, "2.5e+300"),
        ];
        for (x, want) in cases {
            assert_eq!(number_to_string(*x), *want, "{x}");
        }
    }

    #[test]
    fn dates_print_like_to_json() {
        // Right-hand sides from `new Date(ms).toJSON()` in Node 20.
        let cases: &[(f64, Option<&str>)] = &[
            (0.0, Some("1970-01-01T00:00:00.000Z")),
            (1_700_000_000_123.0, Some("2023-11-14T22:13:20.123Z")),
            (-1.0, Some("1969-12-31T23:59:59.999Z")),
            (951_782_400_000.0, Some("2000-02-29T00:00:00.000Z")),
            (8.64e15, Some("+275760-09-13T00:00:00.000Z")),
            (-8.64e15, Some("-271821-04-20T00:00:00.000Z")),
            (-62_198_755_200_000.0, Some("-000001-01-01T00:00:00.000Z")),
            (253_402_300_800_000.0, Some("+010000-01-01T00:00:00.000Z")),
            (8.64e15 + 1.0, None),
            (f64::NAN, None),
        ];
        for (ms, want) in cases {
            assert_eq!(date_to_json(*ms).as_deref(), *want, "{ms}");
        }
    }
}
