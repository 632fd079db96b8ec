//! `POST /v1/settlement-runs`, `GET /v1/settlement-runs/{id}`,
//! `GET /v1/settlements`: settlement runs and per-merchant settlements,
//! as JSON or as the settlement file (`Accept: text/csv`).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::BusinessDate;
use domain::settlement::Cycle;
use serde::Deserialize;
use serde_json::{Value, json};
use store::api::ApiChange;
use store::{Settlement, SettlementQuery};

use super::extract::{ApiPath, ApiQuery};
use super::pagination::{LIMIT_MAX, Page, encode_cursor, wants_csv};
use super::{Action, Answer, ApiError, ApiState, Caller, FieldError, PostRequest, Role, authorize};
use crate::settlement::documents::{CSV_HEADER, csv_lines, run_document, settlement_document};
use crate::settlement::{RUNNER, RunOptions, SettleError, WriterIo, parse_run_id, run_id, settle};

/// `POST /v1/settlement-runs` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunBody {
    business_date: String,
    cycle: String,
}

fn parse_body(body: &RunBody) -> Result<(BusinessDate, Cycle), ApiError> {
    let mut errors = Vec::new();
    let date = BusinessDate::parse(&body.business_date);
    if date.is_none() {
        errors.push(FieldError::new("business_date", "a date YYYY-MM-DD"));
    }
    let cycle = Cycle::parse(&body.cycle);
    if cycle.is_none() {
        errors.push(FieldError::new("cycle", "T0 or T1"));
    }
    match (date, cycle) {
        (Some(date), Some(cycle)) => Ok((date, cycle)),
        _ => Err(ApiError::Validation(errors)),
    }
}

pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    request: PostRequest,
) -> Result<Response, ApiError> {
    let (body, pending) = request
        .begin::<RunBody>(&state, caller, Action::RunSettlement)
        .await?;
    let (date, cycle) = parse_body(&body)?;
    let id = run_id(date, cycle);
    let lookup = id.clone();
    let existed = state
        .read(move |store| store.settlement_run(&lookup))
        .await?
        .is_some();
    let url = state.config().database_url.clone();
    let writer = state.writer_handle();
    let options = RunOptions::at(state.now_ns());
    let report = tokio::task::spawn_blocking(move || {
        let _runner = RUNNER
            .lock()
            .map_err(|_| SettleError::Corrupt("runner lock poisoned".into()))?;
        let reads = store::Store::open(&url)?;
        let mut io = WriterIo { reads, writer };
        settle(&mut io, date, cycle, &options, &mut |_| {})
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|error| match error {
        SettleError::Raced(_) => ApiError::Conflict(error.to_string()),
        other => ApiError::internal(other),
    })?;
    let document = run_document(&report.run);
    let details = json!({"business_date": date.to_string(), "cycle": cycle.as_str(),
        "passes_finished": report.passes_finished, "payouts_created": report.payouts_created});
    let audit = pending.audit(
        &state,
        "settlement_run.run",
        &format!("settlement-runs/{id}"),
        &details,
    );
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let answer = Answer {
        status,
        body: &document,
        stored_body: None,
    };
    pending.commit(&state, ApiChange::None, audit, answer).await
}

/// Query of the settlement lists.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SettlementsQuery {
    limit: Option<u32>,
    cursor: Option<String>,
    date: Option<String>,
    merchant: Option<String>,
    run_id: Option<String>,
}

/// The MID a caller is limited to: a merchant sees only its own.
fn merchant_scope(caller: &Caller, asked: Option<String>) -> Result<Option<String>, ApiError> {
    match caller.role {
        Role::Merchant => match asked {
            Some(mid) if mid != caller.scope => Err(ApiError::NotFound),
            _ => Ok(Some(caller.scope.clone())),
        },
        _ => Ok(asked),
    }
}

/// Reads a page (or, for CSV, everything) of settlements.
async fn read_settlements(
    state: &ApiState,
    mut query: SettlementQuery,
    all: bool,
) -> Result<(Vec<Settlement>, Option<String>), ApiError> {
    let page = query.limit;
    let mut out: Vec<Settlement> = Vec::new();
    loop {
        let mut ask = query.clone();
        ask.limit = if all { u64::from(LIMIT_MAX) } else { page + 1 };
        let rows = state.read(move |store| store.settlements(&ask)).await?;
        let fetched = rows.len() as u64;
        out.extend(rows);
        if !all {
            let more = out.len() as u64 > page;
            out.truncate(usize::try_from(page).unwrap_or(usize::MAX));
            let next = more
                .then(|| out.last().map(|s| encode_cursor(&s.key())))
                .flatten();
            return Ok((out, next));
        }
        if fetched < u64::from(LIMIT_MAX) {
            return Ok((out, None));
        }
        query.after_key = out.last().map(Settlement::key).unwrap_or_default();
    }
}

fn csv_response(settlements: &[Settlement], next: Option<String>) -> Response {
    let mut text = String::from(CSV_HEADER);
    for settlement in settlements {
        csv_lines(settlement, &mut text);
    }
    let mut response = (StatusCode::OK, text).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Some(cursor) = next.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert("x-next-cursor", cursor);
    }
    response
}

fn base_query(query: &SettlementsQuery) -> Result<SettlementQuery, ApiError> {
    let page = Page::new(query.limit, query.cursor.as_deref())?;
    if let Some(date) = &query.date {
        if BusinessDate::parse(date).is_none() {
            return Err(ApiError::field("date", "a date YYYY-MM-DD"));
        }
    }
    Ok(SettlementQuery {
        run_id: query.run_id.clone(),
        business_date: query.date.clone(),
        mid: query.merchant.clone(),
        after_key: page.after,
        limit: u64::from(page.limit),
    })
}

pub(crate) async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<SettlementsQuery>,
) -> Result<Response, ApiError> {
    authorize(&caller, Action::ReadSettlements)?;
    if parse_run_id(&id).is_none() {
        return Err(ApiError::NotFound);
    }
    let lookup = id.clone();
    let run = state
        .read(move |store| store.settlement_run(&lookup))
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut filter = base_query(&query)?;
    filter.run_id = Some(id);
    filter.mid = merchant_scope(&caller, filter.mid)?;
    let csv = wants_csv(&headers);
    let (settlements, next) = read_settlements(&state, filter, csv).await?;
    if csv {
        return Ok(csv_response(&settlements, next));
    }
    let mut document = run_document(&run);
    document["settlements"] = settlements.iter().map(settlement_document).collect();
    document["next_cursor"] = json!(next);
    Ok(axum::Json(document).into_response())
}

pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<SettlementsQuery>,
) -> Result<Response, ApiError> {
    authorize(&caller, Action::ReadSettlements)?;
    let mut filter = base_query(&query)?;
    filter.mid = merchant_scope(&caller, filter.mid)?;
    let (settlements, next) = read_settlements(&state, filter, false).await?;
    if wants_csv(&headers) {
        return Ok(csv_response(&settlements, next));
    }
    let items: Vec<Value> = settlements.iter().map(settlement_document).collect();
    Ok(axum::Json(json!({"items": items, "next_cursor": next})).into_response())
}

/// JSON schema of the request body.
pub fn request_schema() -> Value {
    json!({"type": "object", "additionalProperties": false,
        "required": ["business_date", "cycle"],
        "properties": {
            "business_date": {"type": "string", "format": "date"},
            "cycle": {"type": "string", "enum": ["T0", "T1"]}}})
}

/// JSON schema of a run.
pub fn run_schema() -> Value {
    json!({"type": "object", "required": ["id", "business_date", "cycle", "status", "passes"],
        "properties": {
            "id": {"type": "string"}, "business_date": {"type": "string", "format": "date"},
            "cycle": {"type": "string", "enum": ["T0", "T1"]},
            "status": {"type": "string", "enum": ["running", "settled"]},
            "passes": {"type": "integer"}, "covered_seq": {"type": "integer"},
            "settlements": {"type": "integer"}, "items": {"type": "integer"},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"}}})
}

/// JSON schema of a merchant's settlement.
pub fn settlement_schema() -> Value {
    let money = super::wire::Money::schema();
    json!({"type": "object", "required": ["run_id", "mid", "net", "outcome", "legs"],
        "properties": {
            "run_id": {"type": "string"}, "pass": {"type": "integer"},
            "business_date": {"type": "string", "format": "date"}, "cycle": {"type": "string"},
            "mid": {"type": "string"}, "items": {"type": "integer"},
            "captures": money, "refunds": money, "fees": money, "chargebacks": money,
            "adjustments": money, "discounts": money, "fee_share": money,
            "points": {"type": "integer"}, "net": money,
            "outcome": {"type": "string", "enum": ["payout", "auto_debit", "held", "nothing", "unbound", "no_ledger_account"]},
            "legs": {"type": "array", "items": {"type": "object", "properties": {
                "account": {"type": "string"}, "kind": {"type": "string", "enum": ["credit", "debit", "held"]},
                "amount": money, "payout_id": {"type": "string"}, "payout_status": {"type": "string"}}}}}})
}

/// Query parameters of the settlement lists.
pub fn filter_parameters() -> Vec<Value> {
    ["date", "merchant", "run_id"]
        .iter()
        .map(|name| json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"}}))
        .collect()
}
