//! `GET /v1/reports/daily?date=YYYY-MM-DD`: a business date's sales by
//! merchant, terminal and channel, with fees, fee share, points and
//! discounts, summed by the database from the settlement items.
//!
//! Who sees what: operators and banks every merchant; a merchant key its
//! own merchant; a brand key only the items of its programs (co-brand cards
//! of the programs whose brand partner is the key's scope). Figures are net
//! over the date's items: sales are captures less voids (and reversals),
//! refunds a positive amount, fees net of fees returned.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use domain::BusinessDate;
use serde::Deserialize;
use serde_json::{Value, json};
use store::{DailyReport, ReportLine, ReportScope};

use super::extract::ApiQuery;
use super::pagination::{list_response, wants_csv};
use super::wire::Money;
use super::{Action, ApiError, ApiState, Caller, Role, authorize};
use domain::AmountMinor;

/// Query of the daily report.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DailyQuery {
    date: Option<String>,
}

/// The CSV columns: one row per line, `breakdown` naming its table.
const CSV_COLUMNS: [&str; 11] = [
    "breakdown",
    "mid",
    "tid",
    "channel",
    "items",
    "sales.amount_minor",
    "refunds.amount_minor",
    "fees.amount_minor",
    "fee_share.amount_minor",
    "discounts.amount_minor",
    "points",
];

pub(crate) async fn daily(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<DailyQuery>,
) -> Result<Response, ApiError> {
    authorize(&caller, Action::ReadDailyReport)?;
    let date = query
        .date
        .as_deref()
        .and_then(BusinessDate::parse)
        .ok_or_else(|| ApiError::field("date", "a business date YYYY-MM-DD"))?
        .to_string();
    let role = caller.role;
    let scope_key = caller.scope.clone();
    let wanted = date.clone();
    let report = state
        .read(move |store| {
            let scope = match role {
                Role::Merchant => ReportScope {
                    mid: Some(scope_key),
                    programs: None,
                },
                Role::Brand => ReportScope {
                    mid: None,
                    programs: Some(store.programs_of_brand_partner(&scope_key)?),
                },
                _ => ReportScope::default(),
            };
            store.daily_report(&wanted, &scope)
        })
        .await?;
    if wants_csv(&headers) {
        return Ok(list_response(
            &headers,
            csv_rows(&report),
            &CSV_COLUMNS,
            None,
        ));
    }
    Ok(axum::Json(document(&date, &report)).into_response())
}

fn money(minor: i64) -> Money {
    Money::cny(AmountMinor(minor))
}

fn line_json(line: &ReportLine, names: &[&str]) -> Value {
    let mut value = json!({
        "items": line.items,
        "sales": money(line.sales_minor),
        "refunds": money(line.refunds_minor),
        "fees": money(line.fees_minor),
        "fee_share": money(line.fee_share_minor),
        "discounts": money(line.discounts_minor),
        "points": line.points,
    });
    for (name, key) in names.iter().zip(&line.key) {
        value[*name] = json!(key);
    }
    value
}

fn lines(lines: &[ReportLine], names: &[&str]) -> Vec<Value> {
    lines.iter().map(|line| line_json(line, names)).collect()
}

/// The JSON answer.
fn document(date: &str, report: &DailyReport) -> Value {
    json!({
        "date": date,
        "total": line_json(&report.total.clone().unwrap_or_default(), &[]),
        "by_merchant": lines(&report.by_merchant, &["mid"]),
        "by_terminal": lines(&report.by_terminal, &["mid", "tid"]),
        "by_channel": lines(&report.by_channel, &["channel"]),
    })
}

fn csv_rows(report: &DailyReport) -> Vec<Value> {
    let mut rows = Vec::new();
    let tables: [(&str, &[ReportLine], &[&str]); 3] = [
        ("merchant", &report.by_merchant, &["mid"]),
        ("terminal", &report.by_terminal, &["mid", "tid"]),
        ("channel", &report.by_channel, &["channel"]),
    ];
    for (breakdown, table, names) in tables {
        for line in table {
            let mut row = line_json(line, names);
            row["breakdown"] = json!(breakdown);
            rows.push(row);
        }
    }
    rows
}

fn line_schema(keys: &[&str]) -> Value {
    let money = Money::schema();
    let mut properties = json!({"items": {"type": "integer"}, "sales": money,
        "refunds": money, "fees": money, "fee_share": money, "discounts": money,
        "points": {"type": "integer"}});
    for key in keys {
        properties[*key] = json!({"type": "string"});
    }
    json!({"type": "object", "properties": properties})
}

/// JSON schema of the answer.
pub fn response_schema() -> Value {
    json!({"type": "object", "required": ["date", "total", "by_merchant", "by_terminal", "by_channel"],
        "properties": {"date": {"type": "string", "format": "date"},
            "total": line_schema(&[]),
            "by_merchant": {"type": "array", "items": line_schema(&["mid"])},
            "by_terminal": {"type": "array", "items": line_schema(&["mid", "tid"])},
            "by_channel": {"type": "array", "items": line_schema(&["channel"])}}})
}

/// Query parameters.
pub fn parameters() -> Vec<Value> {
    vec![json!({"name": "date", "in": "query", "required": true,
        "schema": {"type": "string", "format": "date"}})]
}
