//! `POST /v1/accounts`, `GET /v1/accounts/{id}`: settlement accounts.
//!
//! An account is `single` (exactly one owner, no approvals), `joint` (two
//! or more owners and an m-of-n policy for binding changes and for payouts
//! above a threshold) or `cobrand` (the account of an existing co-brand
//! program; owners and a policy optional). Ids are chosen by the server
//! (`ACC-…`) unless the request names one. A bank key creates and reads
//! accounts of its own bank only; an owner key reads the accounts it owns;
//! any other account answers 404.

pub mod docs;

use std::collections::BTreeSet;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use domain::approvals::{OWNERS_MAX, Policy};
use serde::Deserialize;
use serde_json::{Value, json};
use store::api::{ApiChange, ResourcePut};

use self::docs::{ACCOUNT, AccountDoc, OwnerDoc, PolicyDoc};
use super::extract::ApiPath;
use super::wire::{Money, code_schema, is_code, rfc3339, validate_code, validate_text};
use super::{Action, Answer, ApiError, ApiState, Caller, FieldError, PostRequest, Role, authorize};

/// Longest account or owner name, and party id.
pub const NAME_LEN_MAX: usize = 100;

/// `POST /v1/accounts` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountBody {
    #[serde(default)]
    id: Option<String>,
    kind: String,
    name: String,
    bank: String,
    #[serde(default)]
    owners: Vec<OwnerDoc>,
    #[serde(default)]
    policy: Option<PolicyDoc>,
    #[serde(default)]
    program: Option<String>,
}

fn validate_owners(owners: &[OwnerDoc], errors: &mut Vec<FieldError>) {
    if owners.len() > OWNERS_MAX {
        errors.push(FieldError::new("owners", format!("at most {OWNERS_MAX}")));
    }
    for (i, owner) in owners.iter().enumerate() {
        validate_text(
            &format!("owners[{i}].party"),
            &owner.party,
            NAME_LEN_MAX,
            errors,
        );
        validate_text(
            &format!("owners[{i}].name"),
            &owner.name,
            NAME_LEN_MAX,
            errors,
        );
        if owners[..i].iter().any(|o| o.party == owner.party) {
            errors.push(FieldError::new(
                format!("owners[{i}].party"),
                "duplicate owner",
            ));
        }
    }
}

/// Checks a policy against the owners (through `domain::approvals::Policy`).
fn validate_policy(policy: &PolicyDoc, owners: &BTreeSet<String>, errors: &mut Vec<FieldError>) {
    let n = owners.len();
    if policy.binding_approvals_required > 0
        && Policy::new(owners.clone(), policy.binding_approvals_required).is_err()
    {
        errors.push(FieldError::new(
            "policy.binding_approvals_required",
            format!("0 to {n} (the number of owners)"),
        ));
    }
    match &policy.payout_threshold {
        Some(threshold) => {
            threshold.validate("policy.payout_threshold", errors);
            if Policy::new(owners.clone(), policy.payout_approvals_required).is_err() {
                errors.push(FieldError::new(
                    "policy.payout_approvals_required",
                    format!("1 to {n} (the number of owners) when there is a threshold"),
                ));
            }
        }
        None if policy.payout_approvals_required != 0 => errors.push(FieldError::new(
            "policy.payout_approvals_required",
            "0 without a payout threshold",
        )),
        None => {}
    }
}

/// Checks the rules of each kind; returns the policy to store.
fn validate_kind(body: &AccountBody, errors: &mut Vec<FieldError>) -> PolicyDoc {
    let none = PolicyDoc {
        binding_approvals_required: 0,
        payout_threshold: None,
        payout_approvals_required: 0,
    };
    let policy = body.policy.clone().unwrap_or_else(|| none.clone());
    let owners: BTreeSet<String> = body.owners.iter().map(|o| o.party.clone()).collect();
    match body.kind.as_str() {
        "single" => {
            if body.owners.len() != 1 {
                errors.push(FieldError::new("owners", "a single account has one owner"));
            }
            if policy != none {
                errors.push(FieldError::new(
                    "policy",
                    "a single account needs no approvals",
                ));
            }
        }
        "joint" => {
            if body.owners.len() < 2 {
                errors.push(FieldError::new(
                    "owners",
                    "a joint account has two or more owners",
                ));
            }
            if body.policy.is_none() {
                errors.push(FieldError::new("policy", "a joint account needs a policy"));
            }
            validate_policy(&policy, &owners, errors);
        }
        "cobrand" => validate_policy(&policy, &owners, errors),
        _ => errors.push(FieldError::new("kind", "single, joint or cobrand")),
    }
    match (&body.program, body.kind.as_str()) {
        (None, "cobrand") => errors.push(FieldError::new(
            "program",
            "a cobrand account names its program",
        )),
        (Some(program), "cobrand") => validate_code("program", program, errors),
        (Some(_), _) => errors.push(FieldError::new(
            "program",
            "only cobrand accounts have a program",
        )),
        (None, _) => {}
    }
    policy
}

/// Validates the body (except that the program exists).
fn validate(body: &AccountBody) -> Result<PolicyDoc, ApiError> {
    let mut errors = Vec::new();
    if let Some(id) = &body.id {
        validate_code("id", id, &mut errors);
    }
    validate_text("name", &body.name, NAME_LEN_MAX, &mut errors);
    validate_code("bank", &body.bank, &mut errors);
    validate_owners(&body.owners, &mut errors);
    let policy = validate_kind(body, &mut errors);
    if errors.is_empty() {
        Ok(policy)
    } else {
        Err(ApiError::Validation(errors))
    }
}

pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    request: PostRequest,
) -> Result<Response, ApiError> {
    let (body, pending) = request
        .begin::<AccountBody>(&state, caller, Action::CreateAccount)
        .await?;
    let caller = pending.caller();
    if caller.role == Role::Bank && caller.scope != body.bank {
        return Err(ApiError::Forbidden(
            "a bank key may create accounts of its own bank only".to_owned(),
        ));
    }
    let policy = validate(&body)?;
    if let Some(program) = body.program.clone() {
        let exists = state.read(move |store| store.program(&program)).await?;
        if exists.is_none() {
            return Err(ApiError::field("program", "no such co-brand program"));
        }
    }
    let now = state.now_ns();
    let id = match &body.id {
        Some(id) => id.clone(),
        None => docs::new_id("ACC", now)?,
    };
    let document = AccountDoc {
        id: id.clone(),
        kind: body.kind,
        name: body.name,
        bank: body.bank,
        owners: body.owners,
        policy,
        program: body.program,
        created_at: rfc3339(now),
    };
    let row = docs::row(ACCOUNT, &id, &id, "open", &document, now, now)?;
    let answer = docs::value(&document)?;
    let audit = pending.audit(&state, "account.create", &format!("accounts/{id}"), &answer);
    pending
        .commit(
            &state,
            ApiChange::PutResources(vec![ResourcePut::create(row)]),
            audit,
            Answer::created(&answer),
        )
        .await
}

/// Whether `caller` may see `account` (operators all, banks their own
/// bank's, owners their own).
pub(crate) fn visible(caller: &Caller, account: &AccountDoc) -> bool {
    match caller.role {
        Role::Operator => true,
        Role::Bank => account.bank == caller.scope,
        Role::Owner => account.owned_by(&caller.scope),
        Role::Brand | Role::Merchant => false,
    }
}

/// Reads an account document.
///
/// # Errors
/// Storage failures; 500 for an unreadable document.
pub(crate) async fn read_account(
    state: &ApiState,
    id: &str,
) -> Result<Option<(store::api::ResourceRow, AccountDoc)>, ApiError> {
    if !is_code(id) {
        return Ok(None);
    }
    let id = id.to_owned();
    let row = state
        .read(move |store| store.resource(ACCOUNT, &id))
        .await?;
    match row {
        Some(row) => {
            let document = docs::parse(&row)?;
            Ok(Some((row, document)))
        }
        None => Ok(None),
    }
}

pub(crate) async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    authorize(&caller, Action::ReadAccount)?;
    let (_, account) = read_account(&state, &id)
        .await?
        .filter(|(_, account)| visible(&caller, account))
        .ok_or(ApiError::NotFound)?;
    Ok(axum::Json(docs::value(&account)?).into_response())
}

fn owners_schema() -> Value {
    json!({"type": "array", "maxItems": OWNERS_MAX, "items": {"type": "object",
        "additionalProperties": false, "required": ["party", "name"],
        "properties": {"party": {"type": "string", "minLength": 1, "maxLength": NAME_LEN_MAX},
            "name": {"type": "string", "minLength": 1, "maxLength": NAME_LEN_MAX}}}})
}

fn policy_schema() -> Value {
    json!({"type": "object", "additionalProperties": false,
        "required": ["binding_approvals_required", "payout_threshold", "payout_approvals_required"],
        "properties": {
            "binding_approvals_required": {"type": "integer", "minimum": 0, "maximum": OWNERS_MAX},
            "payout_threshold": {"oneOf": [Money::schema(), {"type": "null"}]},
            "payout_approvals_required": {"type": "integer", "minimum": 0, "maximum": OWNERS_MAX}}})
}

/// JSON schema of the request body.
pub fn request_schema() -> Value {
    json!({"type": "object", "additionalProperties": false,
        "required": ["kind", "name", "bank"],
        "properties": {
            "id": code_schema(),
            "kind": {"type": "string", "enum": ["single", "joint", "cobrand"]},
            "name": {"type": "string", "minLength": 1, "maxLength": NAME_LEN_MAX},
            "bank": code_schema(),
            "owners": owners_schema(),
            "policy": policy_schema(),
            "program": code_schema()}})
}

/// JSON schema of an account as answered.
pub fn response_schema() -> Value {
    let mut schema = request_schema();
    schema["required"] = json!([
        "id",
        "kind",
        "name",
        "bank",
        "owners",
        "policy",
        "program",
        "created_at"
    ]);
    schema["properties"]["program"] = json!({"type": ["string", "null"]});
    schema["properties"]["created_at"] = json!({"type": "string", "format": "date-time"});
    schema["additionalProperties"] = json!(true);
    schema
}
