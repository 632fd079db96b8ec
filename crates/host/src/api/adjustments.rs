//! `POST /v1/merchants/{mid}/adjustments` (operator): a chargeback or an
//! adjustment, posted to the ledger and written as a settlement item of
//! the merchant's current business date and cycle, in ONE commit.
//!
//! - **Chargeback**: `transaction_id` names a captured transaction (a sale
//!   or completion, approved, not in certification mode) of the merchant;
//!   the amount (positive) must not exceed what is left of it (its amount
//!   less refunds and earlier chargebacks). The transfer takes it from the
//!   merchant's payable account back to where the money came from: the
//!   card network's settlement account for an off-us card, the wallet or
//!   card network's account for QR (the transaction's payer account), the
//!   issuer's funding account for an on-us card (the issuing side
//!   credits its cardholder). Item kind `chargeback`, amount negative
//!   (the merchant's side), the transaction's terminal, RRN and channel.
//! - **Adjustment**: a signed, non-zero amount with a reason; positive
//!   credits the merchant (operator adjustments account → merchant
//!   payable), negative debits it. Item kind `adjustment`, no terminal
//!   (the merchant-wide binding settles it), RRN = the adjustment's id.
//!
//! The item is dated by the API's clock and the merchant's cut-off exactly
//! as the host dates a capture at that moment, so the next run of that
//! date and cycle includes it (`net = captures − refunds − fees −
//! chargebacks ± adjustments`). An `adjustment` resource (id `ADJ-…`,
//! scope MID, status `posted`) records the request. The operator
//! adjustments account ([`crate::seed::ADJUSTMENTS_ACCOUNT`]) is created
//! on first use when a database was seeded before it existed.
//!
//! Atomicity: the request is ONE store request — the transfer, then the
//! API write (resource, audit event, idempotency record; applied only if
//! the transfer was created), then the item (written only if both were).
//! Requests are serialized by the API's admin lock and re-check their
//! `Idempotency-Key` under it, so a repeat is answered with the first
//! response and never posts twice, and two chargebacks of one transaction
//! cannot both pass the remaining-amount check. With an `Idempotency-Key`
//! the adjustment's id (and so its transfer id) derives from the caller's
//! key and it, so a repeat racing from another process finds its transfer
//! existing and is answered with the first response. The transaction is found
//! by reading the host's transaction rows (linear, like
//! `GET /v1/transactions`).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use ledger::{AccountFlags, AccountId, NewAccount, NewTransfer, TransferId};
use serde::Deserialize;
use serde_json::{Value, json};
use store::api::{ApiChange, ResourcePut, ResourceQuery};
use store::{HostTable, SettlementItem, WriteOp, WriteOutcome};

use super::accounts::docs;
use super::extract::ApiPath;
use super::wire::{Money, rfc3339, validate_text};
use super::{Action, Answer, ApiError, ApiState, Caller, FieldError, PostRequest};
use crate::chargebacks::Refused;
use crate::records::{MerchantRecord, Record, TransactionRecord};
use crate::seed::{
    ADJUSTMENTS_ACCOUNT, ISSUER_FUNDING_ACCOUNT, LEDGER_CNY, LEDGER_CODE, NETWORK_ACCOUNT,
};

/// Largest amount of one chargeback or adjustment, minor units.
pub const AMOUNT_MAX_MINOR: i64 = 100_000_000_000;
/// Longest reason.
pub const REASON_LEN_MAX: usize = 200;
/// Most adjustments of one merchant read to total a transaction's
/// chargebacks.
const ADJUSTMENTS_READ_MAX: u64 = 100_000;
/// Tag of adjustment transfer ids (top byte): above the host's ids and
/// below the settlement runs' (`0x5E`), so a run's new ids stay above
/// every stored id.
const TRANSFER_TAG: u128 = 0x5D;
/// Resource kind.
const ADJUSTMENT: &str = "adjustment";
/// Why a transaction cannot be charged back.
const NOT_CAPTURED: &str = "not a captured transaction (an approved sale or completion)";

/// Body of the request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentBody {
    kind: String,
    amount: Money,
    #[serde(default)]
    transaction_id: Option<String>,
    reason: String,
}

/// What the request asks, checked.
enum Ask {
    Chargeback { amount: i64, rrn: String },
    Adjustment { amount: i64 },
}

fn validate(body: &AdjustmentBody) -> Result<Ask, ApiError> {
    let mut errors = Vec::new();
    validate_text("reason", &body.reason, REASON_LEN_MAX, &mut errors);
    if domain::money::Currency::from_alpha(&body.amount.currency).is_none() {
        errors.push(FieldError::new(
            "amount.currency",
            "unsupported currency (supported: CNY)",
        ));
    }
    let amount = body.amount.amount_minor;
    if amount.unsigned_abs() > AMOUNT_MAX_MINOR.unsigned_abs() {
        errors.push(FieldError::new(
            "amount.amount_minor",
            format!("at most {AMOUNT_MAX_MINOR} either way"),
        ));
    }
    let ask = match body.kind.as_str() {
        "chargeback" => {
            if amount <= 0 {
                errors.push(FieldError::new(
                    "amount.amount_minor",
                    "a chargeback is a positive amount",
                ));
            }
            match &body.transaction_id {
                Some(rrn) if rrn.len() == 12 && rrn.bytes().all(|b| b.is_ascii_digit()) => {
                    Some(Ask::Chargeback {
                        amount,
                        rrn: rrn.clone(),
                    })
                }
                _ => {
                    errors.push(FieldError::new(
                        "transaction_id",
                        "a chargeback names the transaction's RRN (12 digits)",
                    ));
                    None
                }
            }
        }
        "adjustment" => {
            if amount == 0 {
                errors.push(FieldError::new("amount.amount_minor", "must not be zero"));
            }
            if body.transaction_id.is_some() {
                errors.push(FieldError::new(
                    "transaction_id",
                    "only a chargeback names a transaction",
                ));
            }
            Some(Ask::Adjustment { amount })
        }
        _ => {
            errors.push(FieldError::new("kind", "chargeback or adjustment"));
            None
        }
    };
    match ask {
        Some(ask) if errors.is_empty() => Ok(ask),
        _ => Err(ApiError::Validation(errors)),
    }
}

pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(mid): ApiPath<String>,
    headers: HeaderMap,
    request: PostRequest,
) -> Result<Response, ApiError> {
    let (body, pending) = request
        .begin::<AdjustmentBody>(&state, caller, Action::AdjustSettlement)
        .await?;
    let ask = validate(&body)?;
    let _admin = state.admin_lock().await;
    pending.recheck(&state).await?;
    let merchant = read_merchant(&state, &mid)
        .await?
        .ok_or(ApiError::NotFound)?;
    if domain::settlement::Cycle::parse(&merchant.cycle).is_none() {
        return Err(ApiError::Conflict(format!(
            "merchant {mid} has no settlement contract yet"
        )));
    }
    let now = state.now_ns();
    let id = match headers.get("idempotency-key").and_then(|v| v.to_str().ok()) {
        Some(key) => keyed_id(&pending.caller().key_id, key),
        None => docs::new_id("ADJ", now)?,
    };
    let transfer_id = transfer_id(&id);
    let (debit, credit, amount, source) = match &ask {
        Ask::Chargeback { amount, rrn } => {
            let txn = chargeable(&state, &merchant, rrn, *amount).await?;
            let back_to = match txn.route.as_str() {
                "onus" => ISSUER_FUNDING_ACCOUNT,
                _ if txn.payer_account != 0 => txn.payer_account,
                _ => NETWORK_ACCOUNT,
            };
            (merchant.account, back_to, *amount, Some(txn))
        }
        Ask::Adjustment { amount } if *amount > 0 => {
            (ADJUSTMENTS_ACCOUNT, merchant.account, *amount, None)
        }
        Ask::Adjustment { amount } => (merchant.account, ADJUSTMENTS_ACCOUNT, -amount, None),
    };
    let payable = merchant.account;
    let has_payable = state
        .read(move |store| store.account(AccountId(payable)))
        .await?
        .is_some();
    if !has_payable {
        return Err(ApiError::Conflict(format!(
            "merchant {mid} has no payable ledger account"
        )));
    }
    ensure_adjustments_account(&state).await?;
    // Counted in the host's view before the commit, given back if it fails.
    let reservation = match (&ask, state.host()) {
        (Ask::Chargeback { amount, rrn }, Some(host)) => Some(
            host.reserve_chargeback(&merchant.mid, rrn, *amount)
                .map_err(refusal)?,
        ),
        _ => None,
    };
    let now_s = i64::try_from(now / 1_000_000_000).unwrap_or(i64::MAX);
    let date = domain::settlement::business_date(
        now_s,
        domain::sandbox::TIME_ZONE_OFFSET_S,
        merchant.cutoff_minute,
    )
    .ok_or_else(|| ApiError::internal("no business date"))?;
    let item = SettlementItem {
        item_id: format!("{id}/{}", body.kind),
        mid: merchant.mid.clone(),
        tid: source.as_ref().map(|t| t.tid.clone()).unwrap_or_default(),
        rrn: source
            .as_ref()
            .map_or_else(|| id.clone(), |t| t.rrn.clone()),
        business_date: date.to_string(),
        cycle: merchant.cycle.clone(),
        channel: source
            .as_ref()
            .map(|t| t.channel.clone())
            .unwrap_or_default(),
        kind: body.kind.clone(),
        amount_minor: if source.is_some() {
            -amount
        } else {
            body.amount.amount_minor
        },
        fee_minor: 0,
        discount_minor: 0,
        fee_share_minor: 0,
        points: 0,
        program: String::new(),
        created_at_ns: now,
    };
    let document = json!({
        "id": id,
        "mid": merchant.mid,
        "kind": body.kind,
        "amount": Money::cny(domain::money::AmountMinor(body.amount.amount_minor)),
        "transaction_id": body.transaction_id,
        "reason": body.reason,
        "business_date": item.business_date,
        "cycle": item.cycle,
        "ledger": {"transfer_id": format!("{transfer_id:032x}"),
            "debit_account": debit.to_string(), "credit_account": credit.to_string()},
        "created_by": docs::Requester::of(pending.caller()),
        "created_at": rfc3339(now),
    });
    let row = docs::row(ADJUSTMENT, &id, &mid, "posted", &document, now, now)?;
    let audit = pending.audit(
        &state,
        &format!("settlement.{}", body.kind),
        &format!("merchants/{mid}/adjustments/{id}"),
        &document,
    );
    let answer = Answer::created(&document);
    let (api_op, text) = pending.write_op(
        &state,
        ApiChange::PutResources(vec![ResourcePut::create(row)]),
        audit,
        &answer,
    );
    let api_op = match api_op {
        WriteOp::Api(mut write) => {
            write.only_after_success = true;
            WriteOp::Api(write)
        }
        other => other,
    };
    let transfer = NewTransfer::new(
        TransferId(transfer_id),
        AccountId(debit),
        AccountId(credit),
        amount.unsigned_abs(),
        LEDGER_CNY,
        LEDGER_CODE,
    );
    let ops = vec![
        WriteOp::CreateTransfers(vec![transfer]),
        api_op,
        WriteOp::SettlementItems(vec![item]),
    ];
    let outcomes = state.write(ops).await?;
    if let Some(WriteOutcome::Transfers(results)) = outcomes.first() {
        if let Some(refused) = results
            .iter()
            .find(|r| **r != ledger::CreateTransferResult::Ok)
        {
            if *refused == ledger::CreateTransferResult::Exists {
                // A repeat of this request won: answer as it did.
                pending.recheck(&state).await?;
            }
            return Err(ApiError::Conflict(format!(
                "the ledger refused the transfer: {refused:?}"
            )));
        }
    }
    if let Some(reservation) = reservation {
        reservation.keep();
    }
    pending
        .finish(&state, outcomes.get(1), StatusCode::CREATED, text)
        .await
}

/// The host's refusal of a chargeback, as the API's own check words it.
fn refusal(refused: Refused) -> ApiError {
    match refused {
        Refused::NotCaptured => ApiError::field("transaction_id", NOT_CAPTURED),
        Refused::Exceeds(left) => ApiError::field(
            "amount.amount_minor",
            format!("exceeds what is left of the transaction ({left})"),
        ),
    }
}

/// The id of a request made with an `Idempotency-Key`: the same for a
/// repeat, so even a repeat racing from another process is refused by the
/// ledger (its transfer exists) and answered with the first response.
fn keyed_id(key_id: &str, idempotency_key: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{key_id}\n{idempotency_key}").as_bytes());
    format!("ADJ-K{}", super::wire::hex(&digest[..12]).to_uppercase())
}

/// The transfer id of adjustment `id`.
fn transfer_id(id: &str) -> u128 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("adjustment/{id}").as_bytes());
    let mut low = [0u8; 8];
    low.copy_from_slice(&digest[..8]);
    (TRANSFER_TAG << 120) | u128::from(u64::from_be_bytes(low))
}

async fn read_merchant(state: &ApiState, mid: &str) -> Result<Option<MerchantRecord>, ApiError> {
    let mid = mid.to_owned();
    let rows = state
        .read(|store| store.host_rows(HostTable::Merchants))
        .await?;
    Ok(rows
        .iter()
        .find(|(key, _)| *key == mid)
        .and_then(
            |(key, body)| match Record::from_row(HostTable::Merchants, key, body)? {
                Record::Merchant(m) => Some(m),
                _ => None,
            },
        ))
}

/// The captured transaction `rrn` of `merchant`, when `amount` does not
/// exceed what is left of it.
async fn chargeable(
    state: &ApiState,
    merchant: &MerchantRecord,
    rrn: &str,
    amount: i64,
) -> Result<TransactionRecord, ApiError> {
    let wanted = rrn.to_owned();
    let rows = state
        .read(|store| store.host_rows(HostTable::Transactions))
        .await?;
    let txn = rows
        .iter()
        .filter(|(key, _)| *key == wanted)
        .find_map(
            |(key, body)| match Record::from_row(HostTable::Transactions, key, body)? {
                Record::Transaction(t) => Some(t),
                _ => None,
            },
        )
        .filter(|t| t.mid == merchant.mid)
        .ok_or_else(|| {
            ApiError::field(
                "transaction_id",
                "no transaction of this merchant with this RRN",
            )
        })?;
    let captured = matches!(txn.kind.as_str(), "sale" | "completion")
        && txn.code == "00"
        && !matches!(txn.state.as_str(), "voided" | "reversed" | "declined")
        && !txn.certification;
    if !captured {
        return Err(ApiError::field("transaction_id", NOT_CAPTURED));
    }
    let charged = charged_back(state, &merchant.mid, rrn).await?;
    let left = txn.amount - txn.refunded - charged;
    if amount > left {
        return Err(ApiError::field(
            "amount.amount_minor",
            format!("exceeds what is left of the transaction ({left})"),
        ));
    }
    Ok(txn)
}

/// The chargebacks of transaction `rrn` so far, minor units.
async fn charged_back(state: &ApiState, mid: &str, rrn: &str) -> Result<i64, ApiError> {
    let query = ResourceQuery {
        kind: ADJUSTMENT.into(),
        scope: Some(mid.to_owned()),
        limit: ADJUSTMENTS_READ_MAX,
        ..ResourceQuery::default()
    };
    let rows = state.read(move |store| store.resources(&query)).await?;
    let mut total = 0i64;
    for row in rows {
        let document: Value = docs::parse(&row)?;
        if document["kind"] == "chargeback" && document["transaction_id"] == rrn {
            total = total.saturating_add(document["amount"]["amount_minor"].as_i64().unwrap_or(0));
        }
    }
    Ok(total)
}

/// Creates the operator adjustments account when a database was seeded
/// before it existed.
async fn ensure_adjustments_account(state: &ApiState) -> Result<(), ApiError> {
    let exists = state
        .read(|store| store.account(AccountId(ADJUSTMENTS_ACCOUNT)))
        .await?
        .is_some();
    if !exists {
        state
            .write(vec![WriteOp::CreateAccounts(vec![adjustments_account()])])
            .await?;
    }
    Ok(())
}

/// The operator adjustments ledger account.
#[must_use]
pub fn adjustments_account() -> NewAccount {
    NewAccount {
        flags: AccountFlags::default(),
        ..NewAccount::new(AccountId(ADJUSTMENTS_ACCOUNT), LEDGER_CNY, LEDGER_CODE)
    }
}

/// JSON schema of the request body.
pub fn request_schema() -> Value {
    json!({"type": "object", "additionalProperties": false, "required": ["kind", "amount", "reason"],
        "properties": {
            "kind": {"type": "string", "enum": ["chargeback", "adjustment"]},
            "amount": signed_money_schema(),
            "transaction_id": {"type": "string", "pattern": "^[0-9]{12}$",
                "description": "RRN of the captured transaction (chargebacks only)"},
            "reason": {"type": "string", "minLength": 1, "maxLength": REASON_LEN_MAX}}})
}

fn signed_money_schema() -> Value {
    json!({"type": "object", "additionalProperties": false,
        "required": ["amount_minor", "currency"],
        "description": "a chargeback: positive; an adjustment: signed (negative debits the merchant)",
        "properties": {"amount_minor": {"type": "integer", "format": "int64",
                "minimum": -AMOUNT_MAX_MINOR, "maximum": AMOUNT_MAX_MINOR},
            "currency": {"type": "string", "enum": ["CNY"]}}})
}

/// JSON schema of the answer.
pub fn response_schema() -> Value {
    json!({"type": "object", "required": ["id", "mid", "kind", "amount", "reason", "business_date", "cycle", "ledger"],
        "properties": {
            "id": {"type": "string"}, "mid": {"type": "string"},
            "kind": {"type": "string", "enum": ["chargeback", "adjustment"]},
            "amount": signed_money_schema(),
            "transaction_id": {"type": ["string", "null"]},
            "reason": {"type": "string"},
            "business_date": {"type": "string", "format": "date"},
            "cycle": {"type": "string", "enum": ["T0", "T1"]},
            "ledger": {"type": "object", "properties": {"transfer_id": {"type": "string"},
                "debit_account": {"type": "string"}, "credit_account": {"type": "string"}}},
            "created_by": {"type": "object"},
            "created_at": {"type": "string", "format": "date-time"}}})
}
