//! `GET /v1/transactions`, `GET /v1/transactions/{id}`: the terminal host's
//! transaction records (table `host_transactions`), masked PAN only.
//!
//! Who sees what: operators everything; a merchant its own MID; a bank the
//! merchants that settle (or settled) into its accounts — through any
//! binding ever approved into an account of that bank; a brand partner the
//! transactions of its programs' cards (the card's BIN routes to a program
//! whose brand partner it is). Others' transactions answer 404.
//!
//! Derived fields: the business date comes from the host's decision time
//! (the record's `at`, which also dated the transaction's settlement item,
//! so the list and the settlement runs agree on a transaction's day; for
//! records written before `at` was kept, the request's DE 7: transmission
//! time, UTC, with the year closest to the API's clock) and the merchant's
//! cut-off in the platform time zone; the channel and the
//! program from the BIN table of the masked PAN's first digits.
//!
//! Cost: the host's records are keyed text rows, so every request reads
//! the whole `host_transactions` table (and the merchants, accounts and
//! bindings a bank's scope needs) and filters in memory — fine for a
//! sandbox or a small acquirer, linear in the table for a large one. A
//! production deployment needs an indexed transaction table (by MID and
//! business date) before this endpoint is used at volume.

mod view;

use std::collections::{HashMap, HashSet};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use domain::BusinessDate;
use domain::fees::Channel;
use serde::Deserialize;
use serde_json::{Value, json};
use store::{HostTable, Store};

use self::view::{Viewed, card_facts, de7, transmission_utc_s};
use super::accounts::docs::{ACCOUNT, AccountDoc, BINDING, BindingDoc};
use super::bindings::lifecycle::{RESOURCES_READ_MAX, all_resources};
use super::extract::{ApiPath, ApiQuery};
use super::pagination::{Page, encode_cursor, list_response};
use super::{Action, ApiError, ApiState, Caller, FieldError, Role, authorize};
use crate::records::{Record, TransactionRecord};

/// Transaction states a filter may name.
pub const STATUSES: [&str; 5] = ["approved", "declined", "voided", "reversed", "completed"];
/// Minutes in a day: a merchant with no cut-off closes at midnight.
const MIDNIGHT_MINUTE: u16 = 24 * 60;

/// Query of `GET /v1/transactions`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    merchant: Option<String>,
    terminal: Option<String>,
    from: Option<String>,
    to: Option<String>,
    status: Option<String>,
    channel: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// The validated filters.
#[derive(Debug, Default)]
struct Filters {
    merchant: Option<String>,
    terminal: Option<String>,
    from: Option<BusinessDate>,
    to: Option<BusinessDate>,
    status: Option<String>,
    channel: Option<Channel>,
}

fn filters(query: &ListQuery) -> Result<Filters, ApiError> {
    let mut errors = Vec::new();
    let mut date = |field: &str, text: &Option<String>| {
        let parsed = text.as_deref().map(BusinessDate::parse);
        if parsed.is_some_and(|d| d.is_none()) {
            errors.push(FieldError::new(field, "a date YYYY-MM-DD"));
        }
        parsed.flatten()
    };
    let (from, to) = (date("from", &query.from), date("to", &query.to));
    if query
        .status
        .as_deref()
        .is_some_and(|s| !STATUSES.contains(&s))
    {
        errors.push(FieldError::new("status", STATUSES.join(", ")));
    }
    let channel = query.channel.as_deref().map(Channel::parse);
    if channel.is_some_and(|c| c.is_none()) {
        errors.push(FieldError::new(
            "channel",
            "credit, debit, wallet_qr or unionpay_qr",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(Filters {
        merchant: query.merchant.clone(),
        terminal: query.terminal.clone(),
        from,
        to,
        status: query.status.clone(),
        channel: channel.flatten(),
    })
}

/// The merchants whose settlement went to accounts of `bank`.
fn bank_merchants(store: &mut Store, bank: &str) -> store::Result<HashSet<String>> {
    let accounts: HashSet<String> = all_resources(store, ACCOUNT, None, None, RESOURCES_READ_MAX)?
        .into_iter()
        .filter(|row| {
            serde_json::from_str::<AccountDoc>(&row.document).is_ok_and(|a| a.bank == bank)
        })
        .map(|row| row.id)
        .collect();
    let mut merchants = HashSet::new();
    for status in ["approved", "superseded"] {
        for row in all_resources(store, BINDING, None, Some(status), RESOURCES_READ_MAX)? {
            let Ok(binding) = serde_json::from_str::<BindingDoc>(&row.document) else {
                continue;
            };
            if binding.splits.iter().any(|s| accounts.contains(&s.account)) {
                merchants.insert(binding.mid);
            }
        }
    }
    Ok(merchants)
}

/// Reads every transaction with its derived fields, and whether `caller`
/// may see each, in RRN order.
fn read_all(store: &mut Store, caller: &Caller, now_s: i64) -> store::Result<Vec<(Viewed, bool)>> {
    let cutoffs: HashMap<String, u16> = store
        .host_rows(HostTable::Merchants)?
        .iter()
        .filter_map(
            |(key, body)| match Record::from_row(HostTable::Merchants, key, body)? {
                Record::Merchant(m) => Some((m.mid, m.cutoff_minute)),
                _ => None,
            },
        )
        .collect();
    let bank = match caller.role {
        Role::Bank => Some(bank_merchants(store, &caller.scope)?),
        _ => None,
    };
    let bins = domain::sandbox::bin_table();
    let mut brands: HashMap<String, String> = HashMap::new();
    let mut viewed = Vec::new();
    for (key, body) in store.host_rows(HostTable::Transactions)? {
        let Some(Record::Transaction(record)) =
            Record::from_row(HostTable::Transactions, &key, &body)
        else {
            continue;
        };
        let (channel, program) = card_facts(&bins, &record.masked);
        if let Some(code) = program.as_ref().filter(|c| !brands.contains_key(*c)) {
            let partner = store
                .program(code)?
                .map(|p| p.brand_partner)
                .unwrap_or_default();
            brands.insert(code.clone(), partner);
        }
        let cutoff = match cutoffs.get(&record.mid) {
            Some(0) | None => MIDNIGHT_MINUTE,
            Some(minute) => *minute,
        };
        // The host's decision time, which dated the transaction's settlement
        // item; DE 7 only for records written before it was kept.
        let decided_s = (record.at_s > 0).then_some(record.at_s);
        let utc_s = decided_s.or_else(|| transmission_utc_s(de7(&record), now_s));
        let business_date = utc_s.and_then(|utc_s| {
            domain::settlement::business_date(utc_s, domain::sandbox::TIME_ZONE_OFFSET_S, cutoff)
        });
        let visible = match caller.role {
            Role::Operator => true,
            Role::Merchant => record.mid == caller.scope,
            Role::Bank => bank.as_ref().is_some_and(|m| m.contains(&record.mid)),
            Role::Brand => program
                .as_ref()
                .and_then(|p| brands.get(p))
                .is_some_and(|partner| *partner == caller.scope),
            Role::Owner => false,
        };
        viewed.push((
            Viewed {
                record,
                business_date,
                channel,
                program,
            },
            visible,
        ));
    }
    viewed.sort_by(|(a, _), (b, _)| a.record.rrn.cmp(&b.record.rrn));
    Ok(viewed)
}

fn matches(view: &Viewed, filters: &Filters) -> bool {
    let t: &TransactionRecord = &view.record;
    let on_or_after = |bound: Option<BusinessDate>| {
        bound.is_none_or(|b| view.business_date.is_some_and(|d| d >= b))
    };
    let on_or_before = |bound: Option<BusinessDate>| {
        bound.is_none_or(|b| view.business_date.is_some_and(|d| d <= b))
    };
    filters.merchant.as_ref().is_none_or(|m| *m == t.mid)
        && filters.terminal.as_ref().is_none_or(|tid| *tid == t.tid)
        && filters.status.as_ref().is_none_or(|s| *s == t.state)
        && filters.channel.is_none_or(|c| view.channel == Some(c))
        && on_or_after(filters.from)
        && on_or_before(filters.to)
}

fn now_s(state: &ApiState) -> i64 {
    i64::try_from(state.now_ns() / 1_000_000_000).unwrap_or(i64::MAX)
}

pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    authorize(&caller, Action::ReadTransactions)?;
    let filters = filters(&query)?;
    let page = Page::new(query.limit, query.cursor.as_deref())?;
    let (reader, now) = (caller.clone(), now_s(&state));
    let all = state
        .read(move |store| read_all(store, &reader, now))
        .await?;
    let mut selected = all
        .iter()
        .filter(|(view, visible)| {
            *visible && view.record.rrn > page.after && matches(view, &filters)
        })
        .map(|(view, _)| view);
    let page_items: Vec<&Viewed> = selected.by_ref().take(page.limit as usize).collect();
    let next = selected
        .next()
        .and(page_items.last())
        .map(|v| encode_cursor(&v.record.rrn));
    let items: Vec<Value> = page_items.iter().map(|v| v.json()).collect();
    let columns = [
        "id",
        "business_date",
        "mid",
        "tid",
        "kind",
        "status",
        "channel",
        "masked_pan",
        "amount.amount_minor",
        "amount.currency",
        "response_code",
        "auth_code",
    ];
    Ok(list_response(&headers, items, &columns, next))
}

pub(crate) async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    authorize(&caller, Action::ReadTransactions)?;
    if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::NotFound);
    }
    let (reader, now) = (caller.clone(), now_s(&state));
    let all = state
        .read(move |store| read_all(store, &reader, now))
        .await?;
    let (view, _) = all
        .iter()
        .find(|(view, visible)| *visible && view.record.rrn == id)
        .ok_or(ApiError::NotFound)?;
    Ok(axum::Json(view.json()).into_response())
}

/// JSON schema of a transaction.
pub fn response_schema() -> Value {
    let money = super::wire::Money::schema();
    json!({"type": "object", "required": ["id", "rrn", "kind", "mid", "tid", "masked_pan", "amount", "status"],
        "properties": {"id": {"type": "string"}, "rrn": {"type": "string"},
            "kind": {"type": "string"}, "mid": {"type": "string"}, "tid": {"type": "string"},
            "business_date": {"type": ["string", "null"], "format": "date"},
            "masked_pan": {"type": "string"},
            "channel": {"type": ["string", "null"]}, "program": {"type": ["string", "null"]},
            "amount": money, "response_code": {"type": "string"},
            "status": {"type": "string", "enum": STATUSES}}})
}

/// Filters of the list.
pub fn filter_parameters() -> Vec<Value> {
    let text = |name: &str| json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"}});
    vec![
        text("merchant"),
        text("terminal"),
        json!({"name": "from", "in": "query", "required": false, "schema": {"type": "string", "format": "date"}}),
        json!({"name": "to", "in": "query", "required": false, "schema": {"type": "string", "format": "date"}}),
        json!({"name": "status", "in": "query", "required": false, "schema": {"type": "string", "enum": STATUSES}}),
        json!({"name": "channel", "in": "query", "required": false,
            "schema": {"type": "string", "enum": ["credit", "debit", "wallet_qr", "unionpay_qr"]}}),
    ]
}
