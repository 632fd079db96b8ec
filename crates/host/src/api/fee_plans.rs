//! `POST /v1/fee-plans`, `GET /v1/fee-plans`, `GET /v1/fee-plans/{code}`.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use domain::fees::{Channel, FeePlan, FeePlanError, Rate, RefundPolicy};
use serde::Deserialize;
use serde_json::{Value, json};
use store::api::{ApiChange, DocumentRow};

use super::extract::{ApiPath, ApiQuery};
use super::pagination::{Page, encode_cursor, list_response};
use super::wire::{Money, code_schema, validate_code};
use super::{Action, Answer, ApiError, ApiState, Caller, FieldError, PostRequest, authorize};

/// Most MCC overrides in one plan.
pub const MCC_OVERRIDES_MAX: usize = 200;

/// One channel's rate on the wire.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateBody {
    rate_bps: u32,
    #[serde(default)]
    cap: Option<Money>,
    #[serde(default)]
    minimum: Option<Money>,
}

/// The rates of the four channels.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelsBody {
    credit: Option<RateBody>,
    debit: Option<RateBody>,
    wallet_qr: Option<RateBody>,
    unionpay_qr: Option<RateBody>,
}

/// A rate replacing a channel's rate for one MCC.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MccOverrideBody {
    mcc: String,
    channel: String,
    rate_bps: u32,
    #[serde(default)]
    cap: Option<Money>,
    #[serde(default)]
    minimum: Option<Money>,
}

/// `POST /v1/fee-plans` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeePlanBody {
    code: String,
    channels: ChannelsBody,
    #[serde(default)]
    mcc_overrides: Vec<MccOverrideBody>,
    refund_policy: String,
}

fn rate(field: &str, body: &RateBody, errors: &mut Vec<FieldError>) -> Rate {
    Rate {
        rate_bps: body.rate_bps,
        cap: body
            .cap
            .as_ref()
            .map(|m| m.validate(&format!("{field}.cap"), errors)),
        minimum: body
            .minimum
            .as_ref()
            .map(|m| m.validate(&format!("{field}.minimum"), errors)),
    }
}

fn parse_mcc(text: &str) -> Option<u16> {
    (text.len() == 4 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// The body as a domain plan, validated by `FeePlan::validate`.
fn to_domain(body: &FeePlanBody) -> Result<FeePlan, ApiError> {
    let mut errors = Vec::new();
    validate_code("code", &body.code, &mut errors);
    let c = &body.channels;
    let mut rates = HashMap::new();
    for (channel, given) in [
        (Channel::Credit, &c.credit),
        (Channel::Debit, &c.debit),
        (Channel::WalletQr, &c.wallet_qr),
        (Channel::UnionPayQr, &c.unionpay_qr),
    ] {
        let field = format!("channels.{}", channel.as_str());
        match given {
            Some(given) => {
                rates.insert(channel, rate(&field, given, &mut errors));
            }
            None => errors.push(FieldError::new(field, "every channel needs a rate")),
        }
    }
    if body.mcc_overrides.len() > MCC_OVERRIDES_MAX {
        errors.push(FieldError::new(
            "mcc_overrides",
            format!("at most {MCC_OVERRIDES_MAX}"),
        ));
    }
    let mut mcc_overrides = HashMap::new();
    for (i, o) in body.mcc_overrides.iter().enumerate() {
        let field = format!("mcc_overrides[{i}]");
        let mcc = parse_mcc(&o.mcc);
        let channel = Channel::parse(&o.channel);
        if mcc.is_none() {
            errors.push(FieldError::new(format!("{field}.mcc"), "four digits"));
        }
        if channel.is_none() {
            errors.push(FieldError::new(
                format!("{field}.channel"),
                "one of credit, debit, wallet_qr, unionpay_qr",
            ));
        }
        let body = RateBody {
            rate_bps: o.rate_bps,
            cap: o.cap.clone(),
            minimum: o.minimum.clone(),
        };
        let rate = rate(&field, &body, &mut errors);
        if let (Some(mcc), Some(channel)) = (mcc, channel) {
            if mcc_overrides.insert((mcc, channel), rate).is_some() {
                errors.push(FieldError::new(field, "duplicate MCC and channel"));
            }
        }
    }
    let refund_policy = match body.refund_policy.as_str() {
        "keep" => RefundPolicy::Keep,
        "proportional" => RefundPolicy::Proportional,
        _ => {
            errors.push(FieldError::new("refund_policy", "keep or proportional"));
            RefundPolicy::Keep
        }
    };
    let plan = FeePlan {
        rates,
        mcc_overrides,
        refund_policy,
    };
    if errors.is_empty() {
        if let Err(error) = plan.validate() {
            errors.push(domain_error(&error));
        }
    }
    if errors.is_empty() {
        Ok(plan)
    } else {
        Err(ApiError::Validation(errors))
    }
}

fn domain_error(error: &FeePlanError) -> FieldError {
    let channel = match error {
        FeePlanError::RateTooHigh(c)
        | FeePlanError::BadBounds(c)
        | FeePlanError::MissingChannel(c) => c,
    };
    FieldError::new(format!("channels.{channel}"), error.to_string())
}

fn rate_json(rate: &Rate) -> Value {
    json!({
        "rate_bps": rate.rate_bps,
        "cap": rate.cap.map(Money::cny),
        "minimum": rate.minimum.map(Money::cny),
    })
}

/// The API representation of a plan (also what is stored).
pub fn document(code: &str, plan: &FeePlan, created_at_ns: u64) -> Value {
    let mut channels = serde_json::Map::new();
    for channel in Channel::ALL {
        if let Some(rate) = plan.rates.get(&channel) {
            channels.insert(channel.as_str().to_owned(), rate_json(rate));
        }
    }
    let mut overrides: Vec<(&(u16, Channel), &Rate)> = plan.mcc_overrides.iter().collect();
    overrides.sort_by_key(|(key, _)| **key);
    let overrides: Vec<Value> = overrides
        .into_iter()
        .map(|((mcc, channel), rate)| {
            let mut value = rate_json(rate);
            value["mcc"] = json!(format!("{mcc:04}"));
            value["channel"] = json!(channel.as_str());
            value
        })
        .collect();
    json!({
        "code": code,
        "channels": channels,
        "mcc_overrides": overrides,
        "refund_policy": match plan.refund_policy {
            RefundPolicy::Keep => "keep",
            RefundPolicy::Proportional => "proportional",
        },
        "created_at": super::wire::rfc3339(created_at_ns),
    })
}

/// The stored row of a plan.
pub(crate) fn row(code: &str, plan: &FeePlan, created_at_ns: u64) -> DocumentRow {
    DocumentRow {
        code: code.to_owned(),
        bank: String::new(),
        brand_partner: String::new(),
        document: document(code, plan, created_at_ns).to_string(),
        created_at_ns,
    }
}

pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    request: PostRequest,
) -> Result<Response, ApiError> {
    let (body, pending) = request
        .begin::<FeePlanBody>(&state, caller, Action::CreateFeePlan)
        .await?;
    let plan = to_domain(&body)?;
    let now = state.now_ns();
    let row = row(&body.code, &plan, now);
    let document = document(&body.code, &plan, now);
    let audit = pending.audit(
        &state,
        "fee_plan.create",
        &format!("fee-plans/{}", body.code),
        &document,
    );
    pending
        .commit(
            &state,
            ApiChange::CreateFeePlan(row),
            audit,
            Answer::created(&document),
        )
        .await
}

/// Query of `GET /v1/fee-plans`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    limit: Option<u32>,
    cursor: Option<String>,
}

pub(crate) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    authorize(&caller, Action::ReadFeePlans)?;
    let page = Page::new(query.limit, query.cursor.as_deref())?;
    let after = page.after.clone();
    let limit = u64::from(page.limit) + 1;
    let mut rows = state
        .read(move |store| store.fee_plans(&after, limit))
        .await?;
    let more = rows.len() > page.limit as usize;
    rows.truncate(page.limit as usize);
    let next = more
        .then(|| rows.last().map(|r| encode_cursor(&r.code)))
        .flatten();
    let items = rows
        .iter()
        .map(|row| parse_document(&row.document))
        .collect::<Result<Vec<_>, _>>()?;
    let columns = [
        "code",
        "channels.credit.rate_bps",
        "channels.debit.rate_bps",
        "channels.debit.cap.amount_minor",
        "channels.wallet_qr.rate_bps",
        "channels.unionpay_qr.rate_bps",
        "refund_policy",
        "created_at",
    ];
    Ok(list_response(&headers, items, &columns, next))
}

/// A stored plan document (see [`document`]) as the domain's plan; `None`
/// when it does not read back (the host then treats the plan as unknown).
pub(crate) fn plan_from_document(text: &str) -> Option<FeePlan> {
    let mut value: Value = serde_json::from_str(text).ok()?;
    let object = value.as_object_mut()?;
    object.remove("created_at");
    for channel in object.get_mut("channels")?.as_object_mut()?.values_mut() {
        drop_nulls(channel);
    }
    for item in object.get_mut("mcc_overrides")?.as_array_mut()? {
        drop_nulls(item);
    }
    let body: FeePlanBody = serde_json::from_value(value).ok()?;
    to_domain(&body).ok()
}

/// Removes the `null` cap and minimum the stored form writes out.
fn drop_nulls(value: &mut Value) {
    if let Some(object) = value.as_object_mut() {
        object.retain(|_, v| !v.is_null());
    }
}

pub(crate) fn parse_document(text: &str) -> Result<Value, ApiError> {
    serde_json::from_str(text).map_err(ApiError::internal)
}

pub(crate) async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
) -> Result<Response, ApiError> {
    authorize(&caller, Action::ReadFeePlans)?;
    if !super::wire::is_code(&code) {
        return Err(ApiError::NotFound);
    }
    let row = state
        .read(move |store| store.fee_plan(&code))
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(axum::Json(parse_document(&row.document)?).into_response())
}

fn rate_schema() -> Value {
    json!({"type": "object", "additionalProperties": false, "required": ["rate_bps"],
        "properties": {"rate_bps": {"type": "integer", "minimum": 0, "maximum": 10000},
            "cap": Money::schema(), "minimum": Money::schema()}})
}

/// JSON schema of the request body.
pub fn request_schema() -> Value {
    let mut override_schema = rate_schema();
    override_schema["required"] = json!(["mcc", "channel", "rate_bps"]);
    override_schema["properties"]["mcc"] = json!({"type": "string", "pattern": "^[0-9]{4}$"});
    override_schema["properties"]["channel"] =
        json!({"type": "string", "enum": ["credit", "debit", "wallet_qr", "unionpay_qr"]});
    json!({"type": "object", "additionalProperties": false,
        "required": ["code", "channels", "refund_policy"],
        "properties": {
            "code": code_schema(),
            "channels": {"type": "object", "additionalProperties": false,
                "required": ["credit", "debit", "wallet_qr", "unionpay_qr"],
                "properties": {"credit": rate_schema(), "debit": rate_schema(),
                    "wallet_qr": rate_schema(), "unionpay_qr": rate_schema()}},
            "mcc_overrides": {"type": "array", "maxItems": MCC_OVERRIDES_MAX, "items": override_schema},
            "refund_policy": {"type": "string", "enum": ["keep", "proportional"]}}})
}

/// JSON schema of a plan as answered.
pub fn response_schema() -> Value {
    let mut schema = request_schema();
    schema["properties"]["created_at"] = json!({"type": "string", "format": "date-time"});
    schema["additionalProperties"] = json!(true);
    schema
}
