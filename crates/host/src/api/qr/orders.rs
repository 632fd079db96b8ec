//! Merchant-presented dynamic QR: `POST /v1/qr/orders`,
//! `GET /v1/qr/orders/{id}`, and the sandbox's
//! `POST /v1/qr/orders/{id}/pay`.
//!
//! An order is a `qr-order` resource (id `QRO-…`, server-chosen; scope =
//! MID) for one amount, `pending` until paid, with the `payload` string the
//! till renders as a QR code (`posbridge:qr:v1:{id}`: the wallet resolves
//! it to the order through its network) and an expiry (`expires_in_s`,
//! 60 to 86 400 seconds, default 900).
//!
//! Paying it is the wallet network's notification. In the sandbox the
//! operator sends it: `POST /v1/qr/orders/{id}/pay` with
//! `{"channel": "wallet_qr" | "unionpay_qr"}` (default `wallet_qr`). It is
//! authorized and captured exactly as a consumer-presented payment, and
//! in the same request the order becomes `paid` or `declined` (with the
//! payment's id): once only — a second pay, or a pay after the expiry, is
//! `409`. Outside the sandbox the endpoint is `404`: real wallet
//! notifications come through the wallet connector.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use store::api::{ApiChange, ResourcePut, ResourceRow};

use crate::qr::QrPayment;

use super::super::accounts::docs::new_id;
use super::super::extract::ApiPath;
use super::super::merchants::{self, link};
use super::super::wire::{Money, rfc3339};
use super::super::{
    Action, Answer, ApiError, ApiState, Caller, FieldError, PostRequest, Role, authorize,
};
use super::{capture, parse_channel, payment_document, validate_common, write_op};

/// The resource kind of merchant-presented QR orders.
pub const ORDER_KIND: &str = "qr-order";
/// Default lifetime of an order.
pub const EXPIRES_IN_S_DEFAULT: u64 = 900;
/// Shortest lifetime of an order.
pub const EXPIRES_IN_S_MIN: u64 = 60;
/// Longest lifetime of an order.
pub const EXPIRES_IN_S_MAX: u64 = 86_400;

/// `POST /v1/qr/orders` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderBody {
    mid: String,
    #[serde(default)]
    tid: Option<String>,
    amount: Money,
    #[serde(default)]
    order_reference: Option<String>,
    #[serde(default)]
    expires_in_s: Option<u64>,
}

/// `POST /v1/qr/orders/{id}/pay` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayBody {
    #[serde(default)]
    channel: Option<String>,
}

fn is_order_id(id: &str) -> bool {
    id.len() <= 40
        && id.starts_with("QRO-")
        && id[4..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    request: PostRequest,
) -> Result<Response, ApiError> {
    let (body, pending) = request
        .begin::<OrderBody>(&state, caller, Action::CreateQrOrder)
        .await?;
    let mut errors = Vec::new();
    validate_common(
        pending.caller(),
        &body.mid,
        body.tid.as_deref(),
        &body.amount,
        body.order_reference.as_deref(),
        &mut errors,
    );
    let expires_in_s = body.expires_in_s.unwrap_or(EXPIRES_IN_S_DEFAULT);
    if !(EXPIRES_IN_S_MIN..=EXPIRES_IN_S_MAX).contains(&expires_in_s) {
        errors.push(FieldError::new(
            "expires_in_s",
            format!("{EXPIRES_IN_S_MIN} to {EXPIRES_IN_S_MAX}"),
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if link::resource(&state, merchants::KIND, &body.mid)
        .await?
        .is_none()
    {
        return Err(ApiError::field("mid", "no such merchant"));
    }
    let now = state.now_ns();
    let id = new_id("QRO", now)?;
    let expires_ns = now.saturating_add(expires_in_s.saturating_mul(1_000_000_000));
    let document = json!({
        "id": id, "mid": body.mid, "tid": body.tid, "amount": body.amount,
        "order_reference": body.order_reference, "payload": format!("posbridge:qr:v1:{id}"),
        "status": "pending", "expires_in_s": expires_in_s, "expires_at": rfc3339(expires_ns),
        "payment": null, "created_at": rfc3339(now), "updated_at": rfc3339(now)});
    let row = ResourceRow {
        kind: ORDER_KIND.to_owned(),
        id: id.clone(),
        scope: body.mid.clone(),
        status: "pending".to_owned(),
        version: 0,
        document: document.to_string(),
        created_at_ns: now,
        updated_at_ns: now,
    };
    let body_out = answer(&document, 1);
    let audit = pending.audit(
        &state,
        "qr_order.create",
        &format!("qr/orders/{id}"),
        &json!({"id": id, "mid": body.mid, "amount": body.amount}),
    );
    pending
        .commit(
            &state,
            ApiChange::PutResources(vec![ResourcePut::create(row)]),
            audit,
            Answer::created(&body_out),
        )
        .await
}

fn answer(document: &Value, version: u64) -> Value {
    let mut value = document.clone();
    value["version"] = json!(version);
    value
}

/// The order `id` and its row, if `caller` may see it.
async fn load(
    state: &ApiState,
    caller: &Caller,
    id: &str,
) -> Result<(Value, ResourceRow), ApiError> {
    if !is_order_id(id) {
        return Err(ApiError::NotFound);
    }
    let row = link::resource(state, ORDER_KIND, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let own = match caller.role {
        Role::Operator => true,
        Role::Merchant => caller.scope == row.scope,
        _ => false,
    };
    if !own {
        return Err(ApiError::NotFound);
    }
    let document = serde_json::from_str(&row.document).map_err(ApiError::internal)?;
    Ok((document, row))
}

pub(crate) async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    authorize(&caller, Action::ReadQrOrder)?;
    let (document, row) = load(&state, &caller, &id).await?;
    Ok(axum::Json(answer(&document, row.version)).into_response())
}

pub(crate) async fn pay(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    request: PostRequest,
) -> Result<Response, ApiError> {
    if !state.config().sandbox || !is_order_id(&id) {
        return Err(ApiError::NotFound);
    }
    let (body, pending) = request
        .begin::<PayBody>(&state, caller, Action::PayQrOrder)
        .await?;
    let channel = match body.channel.as_deref() {
        None => domain::fees::Channel::WalletQr,
        Some(name) => parse_channel(name)
            .ok_or_else(|| ApiError::field("channel", "wallet_qr or unionpay_qr"))?,
    };
    let _admin = state.admin_lock().await;
    pending.recheck(&state).await?;
    let (mut order, row) = load(&state, pending.caller(), &id).await?;
    payable(&order, &row, state.now_ns())?;
    let amount: Money =
        serde_json::from_value(order["amount"].clone()).map_err(ApiError::internal)?;
    let payment = QrPayment {
        mid: row.scope.clone(),
        tid: order["tid"].as_str().unwrap_or_default().to_owned(),
        amount: domain::AmountMinor(amount.amount_minor),
        channel,
        masked: String::new(),
    };
    let reference = order["order_reference"].as_str().map(str::to_owned);
    let mut text = String::new();
    let (_, outcome) = capture(&state, &payment, |decision| {
        let document = payment_document(&payment, decision, reference.as_deref(), Some(&id));
        let now = state.now_ns();
        order["status"] = json!(if decision.approved() {
            "paid"
        } else {
            "declined"
        });
        order["payment"] = document.clone();
        order["updated_at"] = json!(rfc3339(now));
        let replaced = ResourceRow {
            status: order["status"].as_str().unwrap_or_default().to_owned(),
            document: order.to_string(),
            updated_at_ns: now,
            ..row.clone()
        };
        let (op, answer) = write_op(
            &state,
            &pending,
            &document,
            vec![ResourcePut::replace(replaced, row.version)],
        )?;
        text = answer;
        Ok(op)
    })
    .await?;
    pending
        .finish(&state, outcome.api(), StatusCode::CREATED, text)
        .await
}

/// Refuses an order that is not `pending` or has expired at `now_ns`.
fn payable(order: &Value, row: &ResourceRow, now_ns: u64) -> Result<(), ApiError> {
    if order["status"] != "pending" {
        return Err(ApiError::Conflict(format!(
            "the order is {} already",
            order["status"].as_str().unwrap_or_default()
        )));
    }
    let expires_ns = row.created_at_ns.saturating_add(
        order["expires_in_s"]
            .as_u64()
            .unwrap_or(0)
            .saturating_mul(1_000_000_000),
    );
    if now_ns >= expires_ns {
        return Err(ApiError::Conflict("the order expired".to_owned()));
    }
    Ok(())
}

/// JSON schema of the order body.
pub fn request_schema() -> Value {
    json!({"type": "object", "additionalProperties": false, "required": ["mid", "amount"],
        "properties": {
            "mid": {"type": "string", "pattern": "^[0-9]{15}$"},
            "tid": {"type": "string", "pattern": "^[A-Z0-9]{8}$"},
            "amount": Money::schema(),
            "order_reference": {"type": "string", "minLength": 1, "maxLength": super::REFERENCE_LEN_MAX},
            "expires_in_s": {"type": "integer", "minimum": EXPIRES_IN_S_MIN, "maximum": EXPIRES_IN_S_MAX}}})
}

/// JSON schema of the pay body.
pub fn pay_schema() -> Value {
    json!({"type": "object", "additionalProperties": false,
        "properties": {"channel": {"type": "string", "enum": ["wallet_qr", "unionpay_qr"]}}})
}

/// JSON schema of an order as answered.
pub fn response_schema() -> Value {
    json!({"type": "object", "required": ["id", "mid", "amount", "payload", "status", "expires_at"],
        "properties": {
            "id": {"type": "string"}, "mid": {"type": "string"},
            "tid": {"type": ["string", "null"]}, "amount": Money::schema(),
            "order_reference": {"type": ["string", "null"]},
            "payload": {"type": "string", "description": "render as a QR code"},
            "status": {"type": "string", "enum": ["pending", "paid", "declined"]},
            "expires_in_s": {"type": "integer"}, "expires_at": {"type": "string"},
            "payment": {"type": ["object", "null"]},
            "version": {"type": "integer", "minimum": 1}}})
}
