//! Validating a binding request: the merchant and its terminals, the split
//! lines (through `domain::settlement::validate_split`) and the accounts.

use std::collections::HashMap;

use domain::settlement::{SplitError, validate_split};
use serde::Deserialize;
use store::Store;

use super::lifecycle::{MerchantInfo, merchant_info, terminal_merchant};
use crate::api::accounts::docs::{self, ACCOUNT, AccountDoc, SplitDoc};
use crate::api::wire::is_code;
use crate::api::{ApiError, FieldError};

/// Most terminals one binding may name.
pub const TERMINALS_MAX: usize = 64;
/// Longest MID or TID.
pub const MERCHANT_ID_LEN_MAX: usize = 32;

/// `POST /v1/merchants/{mid}/bindings` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingBody {
    /// Terminals to bind; absent or empty for the whole merchant.
    #[serde(default)]
    pub terminals: Vec<String>,
    /// The split lines.
    pub splits: Vec<SplitDoc>,
}

/// Whether `id` could be a MID or TID (letters and digits).
pub fn is_merchant_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MERCHANT_ID_LEN_MAX
        && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Checks the shape of the body: terminals, split lines and their rules.
///
/// # Errors
/// 422 with every field error found.
pub fn validate_shape(body: &BindingBody) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if body.terminals.len() > TERMINALS_MAX {
        errors.push(FieldError::new(
            "terminals",
            format!("at most {TERMINALS_MAX}"),
        ));
    }
    for (i, tid) in body.terminals.iter().enumerate() {
        if !is_merchant_id(tid) {
            errors.push(FieldError::new(format!("terminals[{i}]"), "not a TID"));
        } else if body.terminals[..i].contains(tid) {
            errors.push(FieldError::new(format!("terminals[{i}]"), "duplicate"));
        }
    }
    let mut lines = Vec::new();
    for (i, split) in body.splits.iter().enumerate() {
        let field = format!("splits[{i}]");
        if !is_code(&split.account) {
            errors.push(FieldError::new(
                format!("{field}.account"),
                "not an account id",
            ));
        } else if body.splits[..i].iter().any(|s| s.account == split.account) {
            errors.push(FieldError::new(
                format!("{field}.account"),
                "each account appears once",
            ));
        }
        if let Some(fixed) = &split.fixed {
            fixed.validate(&format!("{field}.fixed"), &mut errors);
        }
        if split.share_bps.is_some_and(|bps| bps > 10_000) {
            errors.push(FieldError::new(
                format!("{field}.share_bps"),
                "at most 10000",
            ));
        }
        match split.line() {
            Some(line) => lines.push(line),
            None => errors.push(FieldError::new(field, "exactly one of share_bps and fixed")),
        }
    }
    if errors.is_empty() {
        if let Err(error) = validate_split(&lines) {
            errors.push(split_error(&error));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

fn split_error(error: &SplitError) -> FieldError {
    FieldError::new("splits", error.to_string())
}

/// What a valid request refers to.
#[derive(Debug)]
pub struct Referenced {
    /// The merchant.
    pub merchant: MerchantInfo,
    /// The accounts of the split lines, by id.
    pub accounts: HashMap<String, (store::api::ResourceRow, AccountDoc)>,
}

/// Reads the merchant, its terminals and the accounts: `Ok(None)` when the
/// merchant does not exist; field errors for terminals of another merchant
/// and accounts that do not exist.
///
/// # Errors
/// Database errors; field errors as `Err(Ok(errors))`.
pub fn read_referenced(
    store: &mut Store,
    mid: &str,
    body_terminals: &[String],
    splits: &[SplitDoc],
) -> store::Result<Result<Option<Referenced>, Vec<FieldError>>> {
    let Some(merchant) = merchant_info(store, mid)? else {
        return Ok(Ok(None));
    };
    let mut errors = Vec::new();
    for (i, tid) in body_terminals.iter().enumerate() {
        if terminal_merchant(store, tid)?.as_deref() != Some(mid) {
            errors.push(FieldError::new(
                format!("terminals[{i}]"),
                "no such terminal of this merchant",
            ));
        }
    }
    let mut accounts = HashMap::new();
    for (i, split) in splits.iter().enumerate() {
        match store.resource(ACCOUNT, &split.account)? {
            Some(row) => {
                let document: AccountDoc = serde_json::from_str(&row.document)
                    .map_err(|e| store::StoreError::Corrupt(format!("account {}: {e}", row.id)))?;
                accounts.insert(split.account.clone(), (row, document));
            }
            None => errors.push(FieldError::new(
                format!("splits[{i}].account"),
                "no such account",
            )),
        }
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    Ok(Ok(Some(Referenced { merchant, accounts })))
}

/// Parses the stored documents of `rows`.
///
/// # Errors
/// 500 for an unreadable document.
pub fn parse_all<T: serde::de::DeserializeOwned>(
    rows: &[store::api::ResourceRow],
) -> Result<Vec<T>, ApiError> {
    rows.iter().map(docs::parse).collect()
}
