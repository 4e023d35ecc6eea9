//! The OAuth client-credentials token, cached until shortly before it expires. One fetch at
//! a time: concurrent callers wait on the lock and share the token it brings.

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

/// Longest margin before expiry at which a token is renewed.
const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// Life assumed when Stream gives none (*inferred*: the reference shows `expires_in` always).
const DEFAULT_LIFE: Duration = Duration::from_secs(300);

#[derive(Clone)]
pub struct CachedToken {
    pub value: String,
    pub renew_at: Instant,
}

impl CachedToken {
    /// A token received now with `expires_in` seconds of life, renewed a fifth of its life
    /// (at most a minute) before it ends.
    pub fn new(value: String, expires_in: u64) -> Self {
        let life = if expires_in == 0 {
            DEFAULT_LIFE
        } else {
            Duration::from_secs(expires_in)
        };
        let margin = (life / 5).min(MAX_REFRESH_MARGIN);
        Self {
            value,
            renew_at: Instant::now() + (life - margin),
        }
    }

    pub fn is_fresh(&self) -> bool {
        Instant::now() < self.renew_at
    }
}

#[derive(Default)]
pub struct TokenCache {
    slot: Mutex<Option<CachedToken>>,
}

impl TokenCache {
    /// The cached token while fresh, else the one `fetch` brings (cached for next time).
    /// The lock is held across the fetch so that only one fetch runs.
    pub async fn get_or_fetch<F, Fut, E>(&self, fetch: F) -> Result<String, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<CachedToken, E>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some(t) = slot.as_ref().filter(|t| t.is_fresh()) {
            return Ok(t.value.clone());
        }
        let token = fetch().await?;
        let value = token.value.clone();
        *slot = Some(token);
        Ok(value)
    }

    /// Forgets `used` after Stream refused it, unless another caller already replaced it.
    pub async fn invalidate(&self, used: &str) {
        let mut slot = self.slot.lock().await;
        if slot.as_ref().is_some_and(|t| t.value == used) {
            *slot = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn renews_before_expiry() {
        let t = CachedToken::new("t".into(), 3600);
        assert!(t.is_fresh());
        assert!(t.renew_at <= Instant::now() + Duration::from_secs(3540));
        let short = CachedToken::new("t".into(), 10);
        assert!(short.renew_at <= Instant::now() + Duration::from_secs(8));
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch() {
        let cache = Arc::new(TokenCache::default());
        let fetches = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let cache = cache.clone();
            let fetches = fetches.clone();
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_fetch(|| async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok::<_, ()>(CachedToken::new("shared".into(), 3600))
                    })
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.expect("join"), Ok("shared".to_string()));
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn invalidate_only_drops_the_refused_token() {
        let cache = TokenCache::default();
        let fetch =
            |v: &'static str| move || async move { Ok::<_, ()>(CachedToken::new(v.into(), 3600)) };
        assert_eq!(cache.get_or_fetch(fetch("a")).await, Ok("a".into()));
        cache.invalidate("other").await;
        assert_eq!(cache.get_or_fetch(fetch("b")).await, Ok("a".into()));
        cache.invalidate("a").await;
        assert_eq!(cache.get_or_fetch(fetch("b")).await, Ok("b".into()));
    }
}
