//! Read connections, and the clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use super::ApiError;

/// The source of "now", passed in so tests control time.
pub trait Clock: Send + Sync {
    /// Now, ns since the Unix epoch.
    fn now_ns(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ns(&self) -> u64 {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
    }
}

/// A clock that moves only when told (tests).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock at `now_ns`.
    pub fn new(now_ns: u64) -> Self {
        Self(AtomicU64::new(now_ns))
    }

    /// Moves the clock forward.
    pub fn advance(&self, ns: u64) {
        self.0.fetch_add(ns, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ns(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A bounded pool of read-only `Store` connections, opened by URL on demand.
pub(crate) struct ReadPool {
    url: String,
    idle: Arc<Mutex<Vec<store::Store>>>,
    permits: Arc<Semaphore>,
}

impl Drop for ReadPool {
    fn drop(&mut self) {
        // The synchronous PostgreSQL client blocks on its own runtime when it
        // closes, which panics inside an async task: close on a plain thread.
        let idle = self.idle.lock().map(|mut idle| std::mem::take(&mut *idle));
        if let Ok(idle) = idle {
            if !idle.is_empty() {
                let _ = std::thread::Builder::new()
                    .name("api-read-close".into())
                    .spawn(move || drop(idle));
            }
        }
    }
}

impl ReadPool {
    pub fn new(url: String, connections_max: usize) -> Self {
        Self {
            url,
            idle: Arc::new(Mutex::new(Vec::new())),
            permits: Arc::new(Semaphore::new(connections_max.max(1))),
        }
    }

    pub async fn read<T, F>(&self, read: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut store::Store) -> store::Result<T> + Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(ApiError::internal)?;
        let idle = Arc::clone(&self.idle);
        let url = self.url.clone();
        let task = tokio::task::spawn_blocking(move || {
            let pooled = idle.lock().ok().and_then(|mut idle| idle.pop());
            let mut store = match pooled {
                Some(store) => store,
                None => store::Store::open(&url)?,
            };
            let result = read(&mut store);
            // A connection that failed may be broken: drop it.
            if result.is_ok() {
                if let Ok(mut idle) = idle.lock() {
                    idle.push(store);
                }
            }
            drop(permit);
            result
        });
        task.await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)
    }
}
