//! `GET /v1/ledger/accounts/{id}/balance` (operators): a ledger account's
//! balances and its balance history (accounts with the history flag: one
//! snapshot per transfer, oldest first, paginated). The id is the decimal
//! 128-bit ledger account id, as the host's records name it.
//!
//! Cost: the store reads an account's whole history and the page is cut
//! here; fine for the sandbox's per-merchant accounts, to be paged in SQL
//! for accounts with millions of transfers.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use ledger::{Account, AccountId, BalanceSnapshot};
use serde::Deserialize;
use serde_json::{Value, json};

use super::extract::{ApiPath, ApiQuery};
use super::pagination::{Page, encode_cursor, wants_csv};
use super::{Action, ApiError, ApiState, Caller, authorize};

/// Query of the balance read.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BalanceQuery {
    limit: Option<u32>,
    cursor: Option<String>,
}

/// `debits − credits` as a JSON number (an i128 always fits: balances are
/// at most `i64::MAX`).
fn signed(debits: u64, credits: u64) -> Value {
    let difference = i128::from(debits) - i128::from(credits);
    i64::try_from(difference).map_or_else(|_| json!(difference.to_string()), |v| json!(v))
}

fn snapshot_json(snapshot: &BalanceSnapshot) -> Value {
    json!({
        "transfer_id": snapshot.transfer_id.0.to_string(),
        "time": super::wire::rfc3339(snapshot.timestamp),
        "debits_pending": snapshot.debits_pending,
        "debits_posted": snapshot.debits_posted,
        "credits_pending": snapshot.credits_pending,
        "credits_posted": snapshot.credits_posted,
        "posted_net_credits": signed(snapshot.credits_posted, snapshot.debits_posted),
    })
}

fn account_json(account: &Account) -> Value {
    json!({
        "id": account.id.0.to_string(),
        "ledger": account.ledger.0,
        "code": account.code,
        "debits_pending": account.debits_pending,
        "debits_posted": account.debits_posted,
        "credits_pending": account.credits_pending,
        "credits_posted": account.credits_posted,
        "posted_net_credits": signed(account.credits_posted, account.debits_posted),
        "net_debits": signed(
            account.debits_posted.saturating_add(account.debits_pending),
            account.credits_posted.saturating_add(account.credits_pending),
        ),
        "created_at": super::wire::rfc3339(account.timestamp),
    })
}

pub(crate) async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<BalanceQuery>,
) -> Result<Response, ApiError> {
    authorize(&caller, Action::ReadLedgerBalance)?;
    let page = Page::new(query.limit, query.cursor.as_deref())?;
    let digits = !id.is_empty() && id.len() <= 39 && id.bytes().all(|b| b.is_ascii_digit());
    let Some(id) = digits.then(|| id.parse::<u128>().ok()).flatten() else {
        return Err(ApiError::NotFound);
    };
    let (account, history) = state
        .read(move |store| {
            let account = store.account(AccountId(id))?;
            let history = match account {
                Some(_) => store.history(AccountId(id))?,
                None => Vec::new(),
            };
            Ok((account, history))
        })
        .await?;
    let account = account.ok_or(ApiError::NotFound)?;
    // The cursor is the position of the last snapshot shown.
    let start = match page.after.as_str() {
        "" => 0,
        after => after
            .parse::<usize>()
            .map_err(|_| ApiError::field("cursor", "not a cursor issued by this server"))?,
    };
    let end = start.saturating_add(page.limit as usize).min(history.len());
    let items: Vec<Value> = history
        .get(start..end)
        .unwrap_or(&[])
        .iter()
        .map(snapshot_json)
        .collect();
    let next = (end < history.len()).then(|| encode_cursor(&end.to_string()));
    if wants_csv(&headers) {
        let columns = [
            "transfer_id",
            "time",
            "debits_posted",
            "credits_posted",
            "posted_net_credits",
        ];
        return Ok(super::pagination::list_response(
            &headers, items, &columns, next,
        ));
    }
    Ok(axum::Json(json!({
        "account": account_json(&account),
        "history": items,
        "next_cursor": next,
    }))
    .into_response())
}

/// JSON schema of the answer.
pub fn response_schema() -> Value {
    json!({"type": "object", "required": ["account", "history", "next_cursor"],
        "properties": {"account": {"type": "object"},
            "history": {"type": "array", "items": {"type": "object"}},
            "next_cursor": {"type": ["string", "null"]}}})
}
