//! Fee plans the host did not have at start.
//!
//! The host loads every fee plan with its state ([`crate::capture::load_fee_plans`]).
//! A plan created later (`POST /v1/fee-plans`) and named by a merchant's
//! contract is read on a miss: before deciding, outside the state lock, the
//! host checks whether the merchant's plan is in memory and, if not, reads
//! it through the API's read connections (on a blocking thread), then
//! inserts it under a short lock. The authorization path therefore never
//! does blocking I/O under the lock. Plans are immutable once created (no
//! endpoint replaces one), so a plan in memory never goes stale. A code
//! that is not found is asked again at most every [`FEE_PLAN_RETRY`]; in
//! between its merchant's captures get `96` (see `capture`).

use std::collections::HashMap;
use std::sync::Mutex as SyncMutex;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::api::ApiState;
use crate::state::HostState;

/// How long a fee plan code that was not found is not asked for again.
pub const FEE_PLAN_RETRY: Duration = Duration::from_secs(5);
/// Most codes remembered as not found (the oldest are forgotten).
pub const FEE_PLAN_MISSES_MAX: usize = 1_024;

/// Reads fee plans missing from the host's state.
pub struct FeePlanReader {
    api: ApiState,
    misses: SyncMutex<HashMap<String, Instant>>,
}

impl std::fmt::Debug for FeePlanReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeePlanReader").finish_non_exhaustive()
    }
}

impl FeePlanReader {
    /// A reader over the API's read connections.
    #[must_use]
    pub fn new(api: ApiState) -> FeePlanReader {
        FeePlanReader {
            api,
            misses: SyncMutex::new(HashMap::new()),
        }
    }

    /// Makes sure the fee plan of merchant `mid` is in `state` when it
    /// exists in the store.
    pub async fn ensure(&self, state: &Mutex<HostState>, mid: &str) {
        let code = {
            let state = state.lock().await;
            match state.merchants.get(mid) {
                Some(m) if !m.fee_plan.is_empty() && !state.fee_plans.contains_key(&m.fee_plan) => {
                    m.fee_plan.clone()
                }
                _ => return,
            }
        };
        if self.missed_lately(&code) {
            return;
        }
        let wanted = code.clone();
        let row = self.api.read(move |store| store.fee_plan(&wanted)).await;
        let plan = row
            .ok()
            .flatten()
            .and_then(|row| crate::api::plan_from_document(&row.document));
        match plan {
            Some(plan) => {
                state.lock().await.fee_plans.insert(code, plan);
            }
            None => self.remember_miss(code),
        }
    }

    fn missed_lately(&self, code: &str) -> bool {
        self.misses.lock().is_ok_and(|misses| {
            misses
                .get(code)
                .is_some_and(|at| at.elapsed() < FEE_PLAN_RETRY)
        })
    }

    fn remember_miss(&self, code: String) {
        if let Ok(mut misses) = self.misses.lock() {
            if misses.len() >= FEE_PLAN_MISSES_MAX {
                misses.retain(|_, at| at.elapsed() < FEE_PLAN_RETRY);
            }
            if misses.len() < FEE_PLAN_MISSES_MAX {
                misses.insert(code, Instant::now());
            }
        }
    }
}
