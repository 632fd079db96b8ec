//! How merchant and terminal changes reach the terminal host: through the
//! running host of this process (`crate::admin`), or, when the API runs
//! without one (an API-only process over the same database, the in-process
//! test harness), straight to the writer with the same ops — the records
//! are then loaded by whichever host starts next.

use store::HostTable;
use store::api::{ResourceQuery, ResourceRow};

use crate::admin::{AdminChange, AdminError, AdminOutcome};
use crate::records::Record;
use crate::state::HostState;

use super::super::{ApiError, ApiState};

impl From<AdminError> for ApiError {
    fn from(error: AdminError) -> Self {
        ApiError::internal(error)
    }
}

/// Runs an admin change built by `prepare` from the host's state.
///
/// # Errors
/// `prepare`'s error; 500 for storage failures.
pub(crate) async fn submit<F>(state: &ApiState, prepare: F) -> Result<AdminOutcome, ApiError>
where
    F: FnOnce(&HostState) -> Result<AdminChange, ApiError>,
{
    if let Some(host) = state.host() {
        return host.admin_change(prepare).await;
    }
    let host_state = state.read(load_merchants_and_terminals).await?;
    let change = prepare(&host_state)?;
    Ok(change.outcome(state.write(change.ops()).await?))
}

/// The merchants and terminals of the host tables (a host-less API).
fn load_merchants_and_terminals(store: &mut store::Store) -> store::Result<HostState> {
    let mut state = HostState::default();
    for table in [HostTable::Merchants, HostTable::Terminals] {
        for (key, body) in store.host_rows(table)? {
            if let Some(record) = Record::from_row(table, &key, &body) {
                state.apply(record);
            }
        }
    }
    Ok(state)
}

/// The whole host state and the keys of the reconciliation exceptions, for
/// certification progress: from the running host (under its lock, as it
/// decides), or loaded from the database without one.
///
/// # Errors
/// 500 for storage failures.
pub(crate) async fn with_host_state<T, F>(state: &ApiState, read: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&HostState, &[String]) -> T + Send + 'static,
{
    let exceptions: Vec<String> = state
        .read(|store| {
            Ok(store
                .host_rows(HostTable::Exceptions)?
                .into_iter()
                .map(|(key, _)| key)
                .collect())
        })
        .await?;
    if let Some(host) = state.host() {
        return Ok(host
            .inspect(|host_state| read(host_state, &exceptions))
            .await);
    }
    let host_state = state.read(HostState::load).await?;
    Ok(read(&host_state, &exceptions))
}

/// Most resources of one kind read for one merchant (terminals, bindings).
pub(crate) const SCOPED_RESOURCES_MAX: u64 = 1_000;

/// The resources of `kind` scoped to `scope`, optionally in `status`.
///
/// # Errors
/// 500 for storage failures.
pub(crate) async fn scoped(
    state: &ApiState,
    kind: &str,
    scope: &str,
    status: Option<&str>,
) -> Result<Vec<ResourceRow>, ApiError> {
    let query = ResourceQuery {
        kind: kind.to_owned(),
        scope: Some(scope.to_owned()),
        status: status.map(str::to_owned),
        after_id: String::new(),
        limit: SCOPED_RESOURCES_MAX,
    };
    state.read(move |store| store.resources(&query)).await
}

/// One resource.
///
/// # Errors
/// 500 for storage failures.
pub(crate) async fn resource(
    state: &ApiState,
    kind: &'static str,
    id: &str,
) -> Result<Option<ResourceRow>, ApiError> {
    let id = id.to_owned();
    state.read(move |store| store.resource(kind, &id)).await
}
