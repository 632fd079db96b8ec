//! `GET /v1/reconciliation/exceptions`: batch and clearing mismatches
//! (resources of kind `reconciliation-exception`, written by
//! `posbridge reconcile`; see `crate::reconcile`).
//!
//! Filters: `date` (`YYYY-MM-DD`) and `kind` (`batch` or `clearing`). The
//! store lists by id; filtered pages are read in chunks of at most
//! [`SCAN_ROWS_MAX`] rows per request, so a page may hold fewer than
//! `limit` items while `next_cursor` still points further.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use domain::BusinessDate;
use serde::Deserialize;
use serde_json::{Value, json};
use store::api::ResourceQuery;

use super::extract::ApiQuery;
use super::fee_plans::parse_document;
use super::pagination::{Page, encode_cursor, list_response};
use super::wire::Money;
use super::{Action, ApiError, ApiState, Caller, authorize};
use crate::reconcile::EXCEPTION_KIND;

/// Most stored rows one request reads while filtering.
pub const SCAN_ROWS_MAX: u64 = 5_000;

/// Query of the list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    limit: Option<u32>,
    cursor: Option<String>,
    date: Option<String>,
    kind: Option<String>,
}

const CSV_COLUMNS: [&str; 9] = [
    "id",
    "kind",
    "reason",
    "date",
    "reference",
    "mid",
    "host_amount.amount_minor",
    "network_amount.amount_minor",
    "detail",
];

pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    authorize(&caller, Action::ReadReconciliation)?;
    let page = Page::new(query.limit, query.cursor.as_deref())?;
    let date = match query.date.as_deref() {
        None => None,
        Some(text) => Some(
            BusinessDate::parse(text)
                .ok_or_else(|| ApiError::field("date", "a business date YYYY-MM-DD"))?
                .to_string(),
        ),
    };
    if let Some(kind) = query.kind.as_deref() {
        if kind != "batch" && kind != "clearing" {
            return Err(ApiError::field("kind", "batch or clearing"));
        }
    }
    let limit = page.limit as usize;
    let resources = ResourceQuery {
        kind: EXCEPTION_KIND.to_owned(),
        scope: None,
        status: None,
        after_id: page.after.clone(),
        limit: SCAN_ROWS_MAX,
    };
    let rows = state.read(move |store| store.resources(&resources)).await?;
    let scanned_all = (rows.len() as u64) < SCAN_ROWS_MAX;
    let mut items = Vec::new();
    let mut last_id = None;
    for row in &rows {
        if items.len() == limit {
            break;
        }
        last_id = Some(row.id.clone());
        let document = parse_document(&row.document)?;
        let matches = |field: &str, wanted: &Option<String>| {
            wanted
                .as_deref()
                .is_none_or(|w| document.get(field).and_then(Value::as_str) == Some(w))
        };
        if matches("date", &date) && matches("kind", &query.kind) {
            items.push(document);
        }
    }
    let consumed_all = last_id.as_deref() == rows.last().map(|r| r.id.as_str());
    let next = if consumed_all && scanned_all {
        None
    } else {
        last_id.map(|id| encode_cursor(&id))
    };
    Ok(list_response(&headers, items, &CSV_COLUMNS, next))
}

/// JSON schema of one exception.
pub fn exception_schema() -> Value {
    let money = json!({"oneOf": [Money::schema(), {"type": "null"}]});
    json!({"type": "object", "required": ["id", "kind", "reason", "date", "reference"],
        "properties": {"id": {"type": "string"},
            "kind": {"type": "string", "enum": ["batch", "clearing"]},
            "reason": {"type": "string", "enum": ["missing_in_clearing", "missing_at_host",
                "amount_differs", "duplicate", "batch_out_of_balance"]},
            "date": {"type": "string", "format": "date"},
            "reference": {"type": "string"}, "mid": {"type": "string"},
            "host_amount": money, "network_amount": money, "detail": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"}}})
}

/// Filter parameters.
pub fn filter_parameters() -> Vec<Value> {
    vec![
        json!({"name": "date", "in": "query", "required": false,
            "schema": {"type": "string", "format": "date"}}),
        json!({"name": "kind", "in": "query", "required": false,
            "schema": {"type": "string", "enum": ["batch", "clearing"]}}),
    ]
}
