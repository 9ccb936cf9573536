//! Query vectors kept for repeated searches (issue 20): embedding a query is most of a search's
//! time once the statement is fast (BENCHMARKS-knowledge.md), and an assistant or a customer
//! often asks the same thing again.
//!
//! Keyed by tenant, model and the query's exact text: one tenant's searches never find another
//! tenant's entries, so how fast a search answers tells a tenant only about its own earlier
//! queries. Bounded: two generations of at most `capacity / 2` entries each; a hit in the older
//! one moves the entry to the newer, and when the newer fills up the older is dropped whole — an
//! LRU's behaviour at O(1) per lookup without a list to keep.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

use super::embed::{EmbedError, Embedder};

type Key = (Uuid, String, String);

/// Query vectors by (tenant, model, text). `capacity` 0 keeps nothing.
#[derive(Debug)]
pub struct QueryCache {
    half: usize,
    generations: Mutex<Generations>,
}

#[derive(Debug, Default)]
struct Generations {
    newer: HashMap<Key, Arc<[f32]>>,
    older: HashMap<Key, Arc<[f32]>>,
}

impl QueryCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            half: capacity.div_ceil(2),
            generations: Mutex::default(),
        }
    }

    /// The vector of `query` for `tenant` by `embedder`: kept, or embedded now and kept.
    pub async fn embed(
        &self,
        tenant: Uuid,
        embedder: &dyn Embedder,
        query: &str,
    ) -> Result<Arc<[f32]>, EmbedError> {
        let key = (tenant, embedder.model().to_owned(), query.to_owned());
        if self.half > 0
            && let Some(v) = self.get(&key)
        {
            return Ok(v);
        }
        let vectors = embedder.embed(&[query.to_owned()]).await?;
        let v: Arc<[f32]> = vectors.into_iter().next().unwrap_or_default().into();
        if self.half > 0 {
            self.put(key, v.clone());
        }
        Ok(v)
    }

    fn get(&self, key: &Key) -> Option<Arc<[f32]>> {
        let mut g = self.lock();
        if let Some(v) = g.newer.get(key) {
            return Some(v.clone());
        }
        let v = g.older.remove(key)?;
        g.insert(self.half, key.clone(), v.clone());
        Some(v)
    }

    fn put(&self, key: Key, v: Arc<[f32]>) {
        self.lock().insert(self.half, key, v);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        // A panic while holding the lock leaves the maps whole: keep using them.
        self.generations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many vectors are kept now.
    pub fn len(&self) -> usize {
        let g = self.lock();
        g.newer.len() + g.older.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Generations {
    fn insert(&mut self, half: usize, key: Key, v: Arc<[f32]>) {
        if self.newer.len() >= half {
            self.older = std::mem::take(&mut self.newer);
        }
        self.newer.insert(key, v);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::knowledge::embed::EmbedFuture;

    /// Counts its calls; the vector is the text's length.
    #[derive(Default)]
    struct Counting(AtomicUsize);

    impl Embedder for Counting {
        fn model(&self) -> &str {
            "counting"
        }
        fn dims(&self) -> usize {
            1
        }
        fn max_tokens(&self) -> usize {
            512
        }
        fn count_tokens(&self, text: &str) -> usize {
            text.len()
        }
        fn embed<'a>(&'a self, texts: &'a [String]) -> EmbedFuture<'a> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move { Ok(texts.iter().map(|t| vec![t.len() as f32]).collect()) })
        }
    }

    #[tokio::test]
    async fn a_repeated_query_is_embedded_once_per_tenant_and_never_shared_across_tenants() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let cache = QueryCache::new(8);
        let e = Counting::default();
        assert_eq!(&*cache.embed(a, &e, "refund").await.expect("a"), &[6.0]);
        cache.embed(a, &e, "refund").await.expect("a again");
        assert_eq!(e.0.load(Ordering::SeqCst), 1, "the second is kept");
        cache.embed(b, &e, "refund").await.expect("b");
        assert_eq!(
            e.0.load(Ordering::SeqCst),
            2,
            "another tenant embeds its own"
        );
        cache.embed(a, &e, "refund ").await.expect("other text");
        assert_eq!(e.0.load(Ordering::SeqCst), 3, "the exact text is the key");
    }

    #[tokio::test]
    async fn the_cache_stays_within_its_capacity_and_keeps_what_is_used() {
        let tenant = Uuid::now_v7();
        let cache = QueryCache::new(4);
        let e = Counting::default();
        for i in 0..100 {
            cache.embed(tenant, &e, "hot").await.expect("hot");
            cache
                .embed(tenant, &e, &format!("q{i}"))
                .await
                .expect("cold");
            assert!(cache.len() <= 4, "{} kept", cache.len());
        }
        assert_eq!(
            e.0.load(Ordering::SeqCst),
            101,
            "the hot query embedded once"
        );
        let off = QueryCache::new(0);
        off.embed(tenant, &e, "hot").await.expect("off");
        off.embed(tenant, &e, "hot").await.expect("off");
        assert_eq!(e.0.load(Ordering::SeqCst), 103);
        assert!(off.is_empty());
    }
}
