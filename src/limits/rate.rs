//! Token buckets per tenant, in memory, per process.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

/// Buckets kept before idle full ones are forgotten.
const MAX_BUCKETS: usize = 10_000;

/// A refusal: which limit, how large it is, and when a request will be accepted again.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub setting: &'static str,
    pub per_minute: u32,
    pub retry_after: Duration,
}

impl Refused {
    /// Whole seconds for `Retry-After` (at least 1).
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after.as_secs_f64().ceil().max(1.0) as u64
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rate limit reached: {} allows {} requests per minute; try again in {} s",
            self.setting,
            self.per_minute,
            self.retry_after_secs()
        )
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// `per_minute` requests per key (a tenant's id by default; an IP address, an email): a bucket
/// of that many tokens, refilled continuously.
#[derive(Debug)]
pub struct RateLimiter<K = Uuid> {
    setting: &'static str,
    per_minute: u32,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq> RateLimiter<K> {
    pub fn per_minute(setting: &'static str, per_minute: u32) -> Self {
        Self {
            setting,
            per_minute: per_minute.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token from `key`'s bucket, or says when one will be there.
    pub fn check(&self, key: K) -> Result<(), Refused> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: K, now: Instant) -> Result<(), Refused> {
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_second < capacity
            });
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        Err(Refused {
            setting: self.setting,
            per_minute: self.per_minute,
            retry_after: Duration::from_secs_f64((1.0 - bucket.tokens) / per_second),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_gets_its_burst_then_waits_and_others_are_unaffected() {
        let limiter = RateLimiter::per_minute("TENANT_REQUESTS_PER_MINUTE", 3);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let t0 = Instant::now();
        for _ in 0..3 {
            limiter.check_at(a, t0).expect("within the burst");
        }
        let refused = limiter.check_at(a, t0).expect_err("over the limit");
        assert_eq!(refused.setting, "TENANT_REQUESTS_PER_MINUTE");
        assert_eq!(refused.retry_after_secs(), 20, "one token every 20 s");
        assert!(refused.to_string().contains("3 requests per minute"));
        limiter
            .check_at(b, t0)
            .expect("another tenant has its own bucket");
        limiter
            .check_at(a, t0 + Duration::from_secs(20))
            .expect("refilled after the reset time");
        assert!(limiter.check_at(a, t0 + Duration::from_secs(20)).is_err());
    }
}
