//! `POST /v1/qr/payments` (consumer-presented) and the `qr-order`
//! endpoints of [`orders`] (merchant-presented).
//!
//! Consumer-presented: the till scans the customer's payment code and
//! posts `{mid, tid?, amount, payment_code, order_reference?}`. The code is
//! 16–24 digits; codes starting `62` are UnionPay QR (fee channel
//! `unionpay_qr`), all others wallet QR (`wallet_qr`). The wallet network
//! (sandbox: `domain::wallet`, by the amount's last two digits: `51`
//! insufficient funds, `05` declined) answers synchronously, and the
//! running host captures an approval like a card sale (`crate::qr`): the
//! transaction record, the ledger transfer, the plan's fee and the
//! settlement item, in one request with the `qr-payment` resource
//! (id = the RRN, scope = MID, status `approved` | `declined`).
//!
//! Decisions:
//! - A decline is a value: `201` with `status: "declined"` and a `reason`
//!   (`insufficient_funds`, `declined`); it is recorded, no money moves.
//! - Bad input is `422` and records nothing. A MID the caller may not use
//!   (another merchant's) is answered like an unknown one: `422` on `mid`.
//!   A merchant not live (nor in certification) → `409`.
//! - The payment code is never kept, logged or answered in clear: only its
//!   first 4 and last 4 digits (`payment_code_masked`). It is read as a
//!   raw JSON value so that even a malformed one is never echoed in an
//!   error.
//! - `Idempotency-Key` is honoured: a repeat replays the first answer.
//! - QR payments need the terminal host of this process (it owns the RRN
//!   counter and the state); an API-only process answers `409`.

pub mod orders;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use domain::fees::Channel;
use serde::Deserialize;
use serde_json::{Value, json};
use store::api::{ApiChange, ResourcePut, ResourceRow};

use crate::admin::AdminOutcome;
use crate::qr::{QrDecision, QrPayment, QrRefusal};

use super::merchants::is_mid;
use super::terminals::is_tid;
use super::wire::{Money, rfc3339, validate_text};
use super::{
    Action, Answer, ApiError, ApiState, Caller, FieldError, PendingWrite, PostRequest, Role,
};

/// The resource kind of QR payments.
pub const PAYMENT_KIND: &str = "qr-payment";
/// Longest order reference.
pub const REFERENCE_LEN_MAX: usize = 64;
/// Largest amount of one QR payment, minor units (1 000 000.00 CNY).
pub const AMOUNT_MINOR_MAX: i64 = 100_000_000;

impl From<QrRefusal> for ApiError {
    fn from(refusal: QrRefusal) -> Self {
        match refusal {
            QrRefusal::UnknownMerchant => ApiError::field("mid", "no such merchant"),
            QrRefusal::UnknownTerminal => ApiError::field("tid", refusal.to_string()),
            QrRefusal::BadAmount => ApiError::field("amount.amount_minor", refusal.to_string()),
            QrRefusal::NotAccepting(_) | QrRefusal::UnknownFeePlan(_) => {
                ApiError::Conflict(refusal.to_string())
            }
        }
    }
}

/// `POST /v1/qr/payments` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentBody {
    mid: String,
    #[serde(default)]
    tid: Option<String>,
    amount: Money,
    /// Raw: never echoed, whatever its type.
    payment_code: Value,
    #[serde(default)]
    order_reference: Option<String>,
}

impl std::fmt::Debug for PaymentBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentBody")
            .field("mid", &self.mid)
            .field("tid", &self.tid)
            .field("amount", &self.amount)
            .field("payment_code", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// The checks shared by payments and orders: MID (and the caller's right
/// to it), TID, amount, reference.
pub(crate) fn validate_common(
    caller: &Caller,
    mid: &str,
    tid: Option<&str>,
    amount: &Money,
    reference: Option<&str>,
    errors: &mut Vec<FieldError>,
) {
    if !is_mid(mid) {
        errors.push(FieldError::new("mid", "15 digits"));
    } else if caller.role == Role::Merchant && caller.scope != mid {
        errors.push(FieldError::new("mid", "no such merchant"));
    }
    if tid.is_some_and(|t| !is_tid(t)) {
        errors.push(FieldError::new("tid", "8 characters of A-Z and 0-9"));
    }
    let minor = amount.validate("amount", errors);
    if minor.0 == 0 || minor.0 > AMOUNT_MINOR_MAX {
        // (a negative amount is named by `Money::validate`)
        errors.push(FieldError::new(
            "amount.amount_minor",
            format!("1 to {AMOUNT_MINOR_MAX}"),
        ));
    }
    if let Some(reference) = reference {
        validate_text("order_reference", reference, REFERENCE_LEN_MAX, errors);
    }
}

impl PaymentBody {
    /// The payment to capture (the code masked), or field errors.
    fn validate(&self, caller: &Caller) -> Result<QrPayment, ApiError> {
        let mut errors = Vec::new();
        validate_common(
            caller,
            &self.mid,
            self.tid.as_deref(),
            &self.amount,
            self.order_reference.as_deref(),
            &mut errors,
        );
        let code = self.payment_code.as_str().unwrap_or_default();
        let channel = domain::wallet::channel_of_code(code);
        if channel.is_none() {
            errors.push(FieldError::new(
                "payment_code",
                "a string of 16 to 24 digits",
            ));
        }
        match channel {
            Some(channel) if errors.is_empty() => Ok(QrPayment {
                mid: self.mid.clone(),
                tid: self.tid.clone().unwrap_or_default(),
                amount: domain::AmountMinor(self.amount.amount_minor),
                channel,
                masked: domain::wallet::mask_code(code),
            }),
            _ => Err(ApiError::Validation(errors)),
        }
    }
}

/// The answered (and stored) form of a QR payment.
pub(crate) fn payment_document(
    payment: &QrPayment,
    decision: &QrDecision,
    reference: Option<&str>,
    order: Option<&str>,
) -> Value {
    let status = if decision.approved() {
        "approved"
    } else {
        "declined"
    };
    let reason = domain::wallet::decline_reason(decision.code);
    let at_ns = u64::try_from(decision.at_s)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000);
    json!({
        "id": decision.rrn,
        "mid": payment.mid,
        "tid": (!payment.tid.is_empty()).then_some(&payment.tid),
        "amount": Money::cny(payment.amount),
        "channel": payment.channel.as_str(),
        "payment_code_masked": (!payment.masked.is_empty()).then_some(&payment.masked),
        "order_reference": reference,
        "order": order,
        "status": status,
        "reason": (!reason.is_empty()).then_some(reason),
        "response_code": decision.code.as_str(),
        "auth_code": (!decision.record.auth_code.is_empty()).then_some(&decision.record.auth_code),
        "fee": Money::cny(domain::AmountMinor(decision.fee)),
        "business_date": decision.business_date,
        "created_at": rfc3339(at_ns),
    })
}

/// The `qr-payment` resource row of `document`.
pub(crate) fn payment_row(document: &Value, now_ns: u64) -> ResourceRow {
    ResourceRow {
        kind: PAYMENT_KIND.to_owned(),
        id: document["id"].as_str().unwrap_or_default().to_owned(),
        scope: document["mid"].as_str().unwrap_or_default().to_owned(),
        status: document["status"].as_str().unwrap_or_default().to_owned(),
        version: 0,
        document: document.to_string(),
        created_at_ns: now_ns,
        updated_at_ns: now_ns,
    }
}

/// The audit details of a payment (never the code).
pub(crate) fn audit_details(document: &Value) -> Value {
    json!({"id": document["id"], "mid": document["mid"], "channel": document["channel"],
        "amount": document["amount"], "status": document["status"], "fee": document["fee"]})
}

/// Captures `payment` through the running host with the API write built
/// by `build` from the decision; answers the outcome and the answer text.
pub(crate) async fn capture<F>(
    state: &ApiState,
    payment: &QrPayment,
    build: F,
) -> Result<(QrDecision, AdminOutcome), ApiError>
where
    F: FnOnce(&QrDecision) -> Result<store::WriteOp, ApiError>,
{
    let Some(host) = state.host() else {
        return Err(ApiError::Conflict(
            "QR payments are taken by a server running the terminal host".to_owned(),
        ));
    };
    if let Some(code) = host.missing_fee_plan(&payment.mid) {
        // Read without the host's lock, as the ISO path does (`crate::plans`).
        let wanted = code.clone();
        let row = state.read(move |store| store.fee_plan(&wanted)).await?;
        if let Some(plan) = row.and_then(|r| super::plan_from_document(&r.document)) {
            host.add_fee_plan(code, plan);
        }
    }
    let now_s = i64::try_from(state.now_ns() / 1_000_000_000).unwrap_or(0);
    host.qr_capture(payment, now_s, |_, decision| build(decision).map(Some))
        .await
}

pub(crate) async fn pay(
    State(state): State<ApiState>,
    caller: Caller,
    request: PostRequest,
) -> Result<Response, ApiError> {
    let (body, pending) = request
        .begin::<PaymentBody>(&state, caller, Action::CreateQrPayment)
        .await?;
    let payment = body.validate(pending.caller())?;
    let _admin = state.admin_lock().await;
    pending.recheck(&state).await?;
    let mut text = String::new();
    let reference = body.order_reference.clone();
    let (_, outcome) = capture(&state, &payment, |decision| {
        let document = payment_document(&payment, decision, reference.as_deref(), None);
        let (op, answer) = write_op(&state, &pending, &document, vec![])?;
        text = answer;
        Ok(op)
    })
    .await?;
    pending
        .finish(&state, outcome.api(), StatusCode::CREATED, text)
        .await
}

/// The API write of a payment `document` (plus `other` puts), its audit
/// event and idempotency record, and the answer text.
pub(crate) fn write_op(
    state: &ApiState,
    pending: &PendingWrite,
    document: &Value,
    other: Vec<ResourcePut>,
) -> Result<(store::WriteOp, String), ApiError> {
    let mut puts = vec![ResourcePut::create(payment_row(document, state.now_ns()))];
    puts.extend(other);
    let audit = pending.audit(
        state,
        "qr_payment.create",
        &format!(
            "qr/payments/{}",
            document["id"].as_str().unwrap_or_default()
        ),
        &audit_details(document),
    );
    let answer = Answer::created(document);
    Ok(pending.write_op(state, ApiChange::PutResources(puts), audit, &answer))
}

/// The channel named by a wallet's notification.
pub(crate) fn parse_channel(name: &str) -> Option<Channel> {
    [Channel::WalletQr, Channel::UnionPayQr]
        .into_iter()
        .find(|c| c.as_str() == name)
}

/// JSON schema of the payment body.
pub fn payment_request_schema() -> Value {
    json!({"type": "object", "additionalProperties": false,
        "required": ["mid", "amount", "payment_code"],
        "properties": {
            "mid": {"type": "string", "pattern": "^[0-9]{15}$"},
            "tid": {"type": "string", "pattern": "^[A-Z0-9]{8}$"},
            "amount": Money::schema(),
            "payment_code": {"type": "string", "pattern": "^[0-9]{16,24}$",
                "description": "the customer's payment code; starting 62: UnionPay QR, else wallet QR"},
            "order_reference": {"type": "string", "minLength": 1, "maxLength": REFERENCE_LEN_MAX}}})
}

/// JSON schema of a payment as answered.
pub fn payment_response_schema() -> Value {
    json!({"type": "object", "required": ["id", "mid", "amount", "channel", "status", "fee"],
        "properties": {
            "id": {"type": "string", "description": "the RRN"},
            "mid": {"type": "string"},
            "tid": {"type": ["string", "null"]},
            "amount": Money::schema(),
            "channel": {"type": "string", "enum": ["wallet_qr", "unionpay_qr"]},
            "payment_code_masked": {"type": ["string", "null"]},
            "order_reference": {"type": ["string", "null"]},
            "order": {"type": ["string", "null"]},
            "status": {"type": "string", "enum": ["approved", "declined"]},
            "reason": {"type": ["string", "null"], "enum": ["insufficient_funds", "declined", null]},
            "response_code": {"type": "string"},
            "auth_code": {"type": ["string", "null"]},
            "fee": Money::schema(),
            "business_date": {"type": ["string", "null"]},
            "created_at": {"type": "string"}}})
}
