//! Fee plans the host did not have at start.
//!
//! The host loads every fee plan with its state ([`crate::capture::load_fee_plans`]).
//! A plan created later (`POST /v1/fee-plans`) and named by a merchant's
//! contract is read on a miss: under the state lock, before deciding, the
//! host checks whether the merchant's plan is in memory (a map lookup); if
//! not, it releases the lock, reads the plan through the API's read
//! connections (on a blocking thread), inserts it under a short lock, and
//! takes the lock again to decide. The authorization path therefore never
//! does blocking I/O under the lock. Plans are immutable once created (no
//! endpoint replaces one), so a plan in memory never goes stale. A code
//! that is not found is asked again at most every [`FEE_PLAN_RETRY`]; in
//! between its merchant's captures get `96` (see `capture`).

use std::collections::HashMap;
use std::sync::Mutex as SyncMutex;
use std::time::{Duration, Instant};

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

    /// The code of merchant `mid`'s fee plan when `state` lacks it and it
    /// was not looked for lately (a map lookup, under the caller's lock).
    #[must_use]
    pub fn missing(&self, state: &HostState, mid: &str) -> Option<String> {
        let code = &state.merchants.get(mid)?.fee_plan;
        let absent = !code.is_empty() && !state.fee_plans.contains_key(code);
        (absent && !self.missed_lately(code)).then(|| code.clone())
    }

    /// Reads plan `code` (on a blocking thread, no lock held) and puts it
    /// into `state`; remembers a miss.
    pub async fn load(&self, state: &std::sync::Mutex<HostState>, code: String) {
        let wanted = code.clone();
        let row = self.api.read(move |store| store.fee_plan(&wanted)).await;
        let plan = row
            .ok()
            .flatten()
            .and_then(|row| crate::api::plan_from_document(&row.document));
        match plan {
            Some(plan) => {
                // A panic while the lock was held cannot leave a fee plan
                // map half-changed: an insert is one step.
                let mut state = state
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                state.fee_plans.insert(code, plan);
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
