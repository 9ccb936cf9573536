//! When to try a Stripe request again, and how long to wait first (SECURITY.md S2).
//!
//! Only 429, 409, 5xx and network errors (timeouts included) are retried, and
//! `Stripe-Should-Retry` overrides the status either way: Stripe sends `false` when another
//! attempt cannot succeed (and `true` when it can). The wait is capped exponential backoff
//! with "equal jitter": half the step fixed, half random, so that clients that failed together
//! do not come back together.

use std::time::Duration;

/// How an attempt went, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Stripe answered with this status and, maybe, a `Stripe-Should-Retry` header.
    Status {
        status: u16,
        should_retry: Option<bool>,
    },
    /// No answer: the connection failed or the attempt timed out.
    Network,
}

/// How many attempts a request gets and how long to wait between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Most attempts, the first one included.
    pub max_attempts: u32,
    /// The wait before the second attempt; it doubles each time after.
    pub base: Duration,
    /// The longest wait.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// Whether another attempt may help, whatever the count.
    pub fn is_retryable(attempt: Attempt) -> bool {
        match attempt {
            Attempt::Network => true,
            Attempt::Status {
                should_retry: Some(says),
                ..
            } => says,
            Attempt::Status { status, .. } => status == 409 || status == 429 || status >= 500,
        }
    }

    /// The wait before attempt `next` (2 for the first retry), or `None` to stop. A
    /// `Retry-After` from the server is honoured up to the cap.
    pub fn next_delay(
        &self,
        next: u32,
        outcome: Attempt,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        if next > self.max_attempts || !Self::is_retryable(outcome) {
            return None;
        }
        let step = self
            .base
            .saturating_mul(1u32 << (next - 2).min(16))
            .min(self.cap);
        let half = step / 2;
        let jitter = half.mul_f64(rand::random::<f64>());
        let wait = half + jitter;
        Some(match retry_after {
            Some(asked) => asked.min(self.cap).max(wait),
            None => wait,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, should_retry: Option<bool>) -> Attempt {
        Attempt::Status {
            status,
            should_retry,
        }
    }

    #[test]
    fn only_conflicts_rate_limits_server_and_network_errors_are_retried() {
        for s in [409, 429, 500, 502, 503, 504] {
            assert!(RetryPolicy::is_retryable(status(s, None)), "{s}");
        }
        for s in [400, 401, 402, 403, 404, 424] {
            assert!(!RetryPolicy::is_retryable(status(s, None)), "{s}");
        }
        assert!(RetryPolicy::is_retryable(Attempt::Network));
    }

    #[test]
    fn stripe_should_retry_overrides_the_status() {
        assert!(!RetryPolicy::is_retryable(status(500, Some(false))));
        assert!(!RetryPolicy::is_retryable(status(429, Some(false))));
        assert!(RetryPolicy::is_retryable(status(400, Some(true))));
    }

    #[test]
    fn waits_grow_are_jittered_capped_and_stop_at_the_limit() {
        let p = RetryPolicy {
            max_attempts: 6,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(300),
        };
        let boom = status(503, None);
        for _ in 0..50 {
            let d2 = p.next_delay(2, boom, None).expect("retry");
            assert!(d2 >= Duration::from_millis(50) && d2 <= Duration::from_millis(100));
            let d5 = p.next_delay(5, boom, None).expect("retry");
            assert!(d5 >= Duration::from_millis(150) && d5 <= Duration::from_millis(300));
        }
        assert_eq!(p.next_delay(7, boom, None), None);
        let asked = p.next_delay(2, boom, Some(Duration::from_secs(60)));
        assert_eq!(
            asked,
            Some(Duration::from_millis(300)),
            "Retry-After is capped"
        );
    }
}
