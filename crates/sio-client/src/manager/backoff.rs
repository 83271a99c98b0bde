//! Reconnection delays.

use std::time::Duration;

/// Reconnection delays: exponential with jitter, as socket.io-client computes them.
#[derive(Debug)]
pub(crate) struct Backoff {
    pub(crate) min: Duration,
    pub(crate) max: Duration,
    pub(crate) jitter: f64,
}

impl Backoff {
    /// The delay before reconnection attempt `attempt` (1 for the first).
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let base = self.min.as_secs_f64() * 2f64.powi(attempt.saturating_sub(1).min(62) as i32);
        let mut ms = base;
        if self.jitter > 0.0 {
            let r = random_unit();
            let deviation = r * self.jitter * base;
            // Half the draws shorten the delay, half lengthen it.
            ms = if random_unit() < 0.5 {
                base - deviation
            } else {
                base + deviation
            };
        }
        // NaN or infinite (absurd settings) fall back to the largest delay instead of panicking.
        Duration::try_from_secs_f64(ms.clamp(0.0, self.max.as_secs_f64())).unwrap_or(self.max)
    }
}

fn random_unit() -> f64 {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let b = Backoff {
            min: Duration::from_secs(1),
            max: Duration::from_secs(5),
            jitter: 0.0,
        };
        let got: Vec<u64> = (1..=5).map(|a| b.delay(a).as_millis() as u64).collect();
        assert_eq!(got, [1000, 2000, 4000, 5000, 5000]);
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(5));
        let nan = Backoff {
            jitter: f64::NAN,
            ..b
        };
        assert_eq!(
            nan.delay(3),
            Duration::from_secs(4),
            "a NaN jitter is ignored"
        );
        let j = Backoff { jitter: 0.5, ..nan };
        for _ in 0..100 {
            let d = j.delay(2).as_millis();
            assert!((1000..=3000).contains(&d), "{d}");
        }
    }
}
