//! `POST /v1/issuer/cards`: on-us test cards of the sandbox issuer.
//!
//! Only on a server started with `--sandbox` (else `404`: production
//! cards come from the issuer's card management system), operator only.
//! Body: `{pan, expiry: "YYMM", pin, balance? | limit?, status?, program?,
//! points?, redeem_points?}`.
//! The PAN must pass Luhn and route on-us in the host's BIN table; its BIN
//! range decides the product: a debit card takes `balance`, a credit card
//! `limit` (what it may spend). `program` is optional and, when given,
//! must be the co-brand program of the card's BIN range (a co-brand range
//! makes every card of it a program card). `status` is `active` (default),
//! `lost` or `stolen`.
//!
//! Co-brand cards only: `points` is the card's opening points balance
//! (default 0, at most [`POINTS_MAX`]), issued from the program's points
//! issuance account; `redeem_points` (default `false`) is the cardholder's
//! standing choice to pay with points at the program's participating
//! merchants (see `capture`: the points redeemed pay part of each sale
//! there, 1 point = 0.01 unless the program says otherwise). Either on a
//! card of no program → `422`. The answer echoes both.
//!
//! The card is written through the running host in one request: its
//! ledger account (and a points account for a co-brand card), the funding
//! transfer of its balance or limit from the issuer's funding account,
//! the host's `CardRecord` keyed by the vault token (PAN encrypted by the
//! vault, PIN kept only as its PVV under the sandbox PVK), and an
//! `issuer-card` resource (id = token). The card is authorized on the ISO
//! 8583 path as soon as the answer is sent. PAN and PIN are read as raw
//! JSON values, never echoed, logged or stored in clear; the answer holds
//! the masked PAN and the token. A PAN the host knows already → `409`.
//!
//! Ledger accounts of issued cards: [`ISSUED_CARD_ACCOUNT_BASE`] + n (the
//! n-th card issued through the API), funded by transfer
//! [`ISSUED_FUNDING_TRANSFER_BASE`] + n; its opening points by transfer
//! [`ISSUED_POINTS_TRANSFER_BASE`] + n.

use axum::extract::State;
use axum::response::Response;
use cardsec::{Pan, Pin, pinverify};
use domain::routing::{CardProduct, Route};
use ledger::{AccountFlags, AccountId, NewAccount, NewTransfer, TransferId};
use serde::Deserialize;
use serde_json::{Value, json};
use store::api::{ApiChange, ResourcePut, ResourceRow};

use crate::admin::AdminChange;
use crate::qr::HostChange;
use crate::records::{CardRecord, Record};
use crate::seed::{
    HostKeys, ISSUER_FUNDING_ACCOUNT, LEDGER_CNY, LEDGER_CODE, LEDGER_POINTS,
    POINTS_ISSUANCE_ACCOUNT, PVKI, points_account,
};
use crate::state::HostState;

use super::wire::{Money, rfc3339};
use super::{Action, Answer, ApiError, ApiState, Caller, FieldError, PostRequest};

/// The resource kind of issued cards.
pub const KIND: &str = "issuer-card";
/// First ledger account of cards issued through the API (far above the
/// sandbox's and the onboarded merchants' accounts).
pub const ISSUED_CARD_ACCOUNT_BASE: u128 = 1 << 72;
/// First funding transfer of cards issued through the API.
pub const ISSUED_FUNDING_TRANSFER_BASE: u128 = (1 << 101) + (1 << 72);
/// Largest balance or limit, minor units (10 000 000.00 CNY).
pub const AVAILABLE_MINOR_MAX: i64 = 1_000_000_000;
/// First opening-points transfer of cards issued through the API.
pub const ISSUED_POINTS_TRANSFER_BASE: u128 = (1 << 101) + (1 << 73);
/// Largest opening points balance.
pub const POINTS_MAX: u64 = 1_000_000_000;

/// `POST /v1/issuer/cards` body (PAN and PIN raw, never echoed).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardBody {
    pan: Value,
    expiry: String,
    pin: Value,
    #[serde(default)]
    balance: Option<Money>,
    #[serde(default)]
    limit: Option<Money>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    program: Option<String>,
    #[serde(default)]
    points: Option<u64>,
    #[serde(default)]
    redeem_points: Option<bool>,
}

impl std::fmt::Debug for CardBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardBody")
            .field("pan", &"<redacted>")
            .field("expiry", &self.expiry)
            .field("pin", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// A checked card, before the host gives it an account.
struct NewCard {
    pan: Pan,
    pin: Pin,
    product: CardProduct,
    program: String,
    available: i64,
    points: u64,
    redeem_points: bool,
}

impl CardBody {
    fn validate(&self) -> Result<NewCard, ApiError> {
        let mut errors = Vec::new();
        let bins = domain::sandbox::bin_table();
        let pan = self
            .pan
            .as_str()
            .and_then(|digits| Pan::new_luhn(digits).ok());
        let route = pan.as_ref().and_then(|p| bins.route(p.expose_digits()));
        let (product, range_program) = match (&pan, route) {
            (None, _) => {
                errors.push(FieldError::new("pan", "digits that pass the Luhn check"));
                (None, None)
            }
            (Some(_), Some(Route::OnUs { product, program })) => (Some(*product), program.clone()),
            (Some(_), _) => {
                errors.push(FieldError::new("pan", "the BIN is not one of the bank's"));
                (None, None)
            }
        };
        if domain::YearMonth::parse_yymm(&self.expiry).is_none() {
            errors.push(FieldError::new("expiry", "YYMM"));
        }
        let pin = self.pin.as_str().and_then(|digits| Pin::new(digits).ok());
        if pin.is_none() {
            errors.push(FieldError::new("pin", "4 to 12 digits"));
        }
        let available = product.map_or(0, |p| self.available(p, &mut errors));
        let status = self.status.as_deref().unwrap_or("active");
        if !["active", "lost", "stolen"].contains(&status) {
            errors.push(FieldError::new("status", "active, lost or stolen"));
        }
        if let Some(program) = &self.program {
            if range_program.as_deref() != Some(program.as_str()) {
                errors.push(FieldError::new(
                    "program",
                    "the co-brand program of the card's BIN range",
                ));
            }
        }
        let cobrand = range_program.is_some();
        let points = self.points.unwrap_or(0);
        if self.points.is_some() && !cobrand {
            errors.push(FieldError::new("points", "only for a co-brand card"));
        } else if points > POINTS_MAX {
            errors.push(FieldError::new("points", format!("at most {POINTS_MAX}")));
        }
        let redeem_points = self.redeem_points.unwrap_or(false);
        if redeem_points && !cobrand {
            errors.push(FieldError::new("redeem_points", "only for a co-brand card"));
        }
        match (pan, pin, product) {
            (Some(pan), Some(pin), Some(product)) if errors.is_empty() => Ok(NewCard {
                pan,
                pin,
                product,
                program: range_program.unwrap_or_default(),
                available,
                points,
                redeem_points,
            }),
            _ => Err(ApiError::Validation(errors)),
        }
    }

    /// The balance (debit) or limit (credit), exactly one of them.
    fn available(&self, product: CardProduct, errors: &mut Vec<FieldError>) -> i64 {
        let (wanted, other, wanted_name, other_name) = match product {
            CardProduct::Debit => (&self.balance, &self.limit, "balance", "limit"),
            CardProduct::Credit => (&self.limit, &self.balance, "limit", "balance"),
        };
        if other.is_some() {
            errors.push(FieldError::new(
                other_name,
                format!("a card of this BIN takes a {wanted_name}"),
            ));
        }
        let Some(money) = wanted else {
            errors.push(FieldError::new(wanted_name, "required for this BIN"));
            return 0;
        };
        let amount = money.validate(wanted_name, errors).0;
        if amount > AVAILABLE_MINOR_MAX {
            errors.push(FieldError::new(
                format!("{wanted_name}.amount_minor"),
                format!("at most {AVAILABLE_MINOR_MAX}"),
            ));
        }
        amount
    }
}

/// The host change issuing `card` as the next issued card.
fn issue(
    host: &HostState,
    card: &NewCard,
    record: CardRecord,
    api: store::WriteOp,
) -> Result<HostChange, ApiError> {
    if host.cards.contains_key(&record.token) {
        return Err(ApiError::Conflict(
            "the issuer knows this card already".to_owned(),
        ));
    }
    let n = host
        .cards
        .values()
        .filter(|c| c.account >= ISSUED_CARD_ACCOUNT_BASE)
        .count() as u128
        + 1;
    let account = ISSUED_CARD_ACCOUNT_BASE + n;
    let flags = AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS;
    let mut accounts = vec![NewAccount {
        flags,
        ..NewAccount::new(AccountId(account), LEDGER_CNY, LEDGER_CODE)
    }];
    if !card.program.is_empty() {
        accounts.push(NewAccount {
            flags,
            ..NewAccount::new(
                AccountId(points_account(account)),
                LEDGER_POINTS,
                LEDGER_CODE,
            )
        });
    }
    let mut transfers = Vec::new();
    if let Ok(amount @ 1..) = u64::try_from(card.available) {
        transfers.push(NewTransfer::new(
            TransferId(ISSUED_FUNDING_TRANSFER_BASE + n),
            AccountId(ISSUER_FUNDING_ACCOUNT),
            AccountId(account),
            amount,
            LEDGER_CNY,
            LEDGER_CODE,
        ));
    }
    if !card.program.is_empty() && card.points > 0 {
        transfers.push(NewTransfer::new(
            TransferId(ISSUED_POINTS_TRANSFER_BASE + n),
            AccountId(POINTS_ISSUANCE_ACCOUNT),
            AccountId(points_account(account)),
            card.points,
            LEDGER_POINTS,
            LEDGER_CODE,
        ));
    }
    Ok(HostChange {
        admin: AdminChange {
            accounts,
            api: Some(api),
            records: vec![Record::Card(CardRecord { account, ..record })],
        },
        transfers,
        items: Vec::new(),
    })
}

pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    request: PostRequest,
) -> Result<Response, ApiError> {
    if !state.config().sandbox {
        return Err(ApiError::NotFound);
    }
    let (body, pending) = request
        .begin::<CardBody>(&state, caller, Action::CreateIssuerCard)
        .await?;
    let card = body.validate()?;
    let keys = HostKeys::sandbox().map_err(ApiError::internal)?;
    let Some(host) = state.host().cloned() else {
        return Err(ApiError::Conflict(
            "cards are issued by a server running the terminal host".to_owned(),
        ));
    };
    if host.key_set_id() != crate::admin::key_set_id(&keys.bdk) {
        return Err(ApiError::Conflict(
            "the host does not run with the sandbox keys".to_owned(),
        ));
    }
    let record = card_record(&keys, &card, &body)?;
    let status = record.status.clone();
    let now = state.now_ns();
    let document = json!({"token": record.token, "masked_pan": record.masked,
        "expiry": record.expiry, "product": record.product, "status": status,
        "program": (!card.program.is_empty()).then_some(&card.program),
        "balance": (card.product == CardProduct::Debit).then(|| Money::cny(domain::AmountMinor(card.available))),
        "limit": (card.product == CardProduct::Credit).then(|| Money::cny(domain::AmountMinor(card.available))),
        "points": (!card.program.is_empty()).then_some(card.points),
        "redeem_points": record.redeem_points,
        "created_at": rfc3339(now)});
    let row = ResourceRow {
        kind: KIND.to_owned(),
        id: record.token.clone(),
        scope: "issuer".to_owned(),
        status,
        version: 0,
        document: document.to_string(),
        created_at_ns: now,
        updated_at_ns: now,
    };
    let audit = pending.audit(
        &state,
        "issuer_card.create",
        &format!("issuer/cards/{}", record.token),
        &json!({"token": record.token, "masked_pan": record.masked, "product": record.product}),
    );
    let answer = Answer::created(&document);
    let (op, text) = pending.write_op(
        &state,
        ApiChange::PutResources(vec![ResourcePut::create(row)]),
        audit,
        &answer,
    );
    let _admin = state.admin_lock().await;
    pending.recheck(&state).await?;
    let (_, outcome) = host
        .host_change(|host_state| Ok::<_, ApiError>(((), issue(host_state, &card, record, op)?)))
        .await?;
    pending
        .finish(&state, outcome.api(), axum::http::StatusCode::CREATED, text)
        .await
}

/// The host's record of `card` (its account set by [`issue`]).
fn card_record(keys: &HostKeys, card: &NewCard, body: &CardBody) -> Result<CardRecord, ApiError> {
    let token = keys.vault.token(&card.pan);
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&token.digest[..12]);
    let encrypted = keys
        .vault
        .encrypt_with_nonce(&card.pan, keys.vault.current_version(), nonce)
        .map_err(ApiError::internal)?;
    Ok(CardRecord {
        token: token.to_string(),
        encrypted_pan: encrypted.to_string(),
        masked: card.pan.masked(),
        product: match card.product {
            CardProduct::Debit => "debit",
            CardProduct::Credit => "credit",
        }
        .to_owned(),
        status: body.status.clone().unwrap_or_else(|| "active".to_owned()),
        expiry: body.expiry.clone(),
        available: card.available,
        pin_failures: 0,
        pvv: pinverify::pvv(&keys.pvk, &card.pan, PVKI, &card.pin).map_err(ApiError::internal)?,
        chip: false,
        program: card.program.clone(),
        account: 0,
        points: card.points,
        redeem_points: card.redeem_points,
    })
}

/// JSON schema of the card body.
pub fn request_schema() -> Value {
    json!({"type": "object", "additionalProperties": false, "required": ["pan", "expiry", "pin"],
        "properties": {
            "pan": {"type": "string", "pattern": "^[0-9]{8,19}$", "description": "Luhn-valid, on-us BIN"},
            "expiry": {"type": "string", "pattern": "^[0-9]{4}$", "description": "YYMM"},
            "pin": {"type": "string", "pattern": "^[0-9]{4,12}$", "description": "kept only as a PVV"},
            "balance": Money::schema(), "limit": Money::schema(),
            "status": {"type": "string", "enum": ["active", "lost", "stolen"]},
            "program": {"type": "string"},
            "points": {"type": "integer", "minimum": 0, "maximum": POINTS_MAX,
                "description": "opening points balance (co-brand cards only)"},
            "redeem_points": {"type": "boolean", "default": false,
                "description": "pay with points at the program's participating merchants (co-brand cards only)"}}})
}

/// JSON schema of an issued card as answered.
pub fn response_schema() -> Value {
    json!({"type": "object", "required": ["token", "masked_pan", "expiry", "product", "status"],
        "properties": {
            "token": {"type": "string"}, "masked_pan": {"type": "string"},
            "expiry": {"type": "string"},
            "product": {"type": "string", "enum": ["debit", "credit"]},
            "status": {"type": "string", "enum": ["active", "lost", "stolen"]},
            "program": {"type": ["string", "null"]},
            "balance": {"type": ["object", "null"]}, "limit": {"type": ["object", "null"]},
            "points": {"type": ["integer", "null"], "description": "opening points balance (co-brand cards)"},
            "redeem_points": {"type": "boolean"},
            "created_at": {"type": "string"}}})
}
