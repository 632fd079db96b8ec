//! The stored documents of settlement accounts, bindings and approval
//! requests (kinds `account`, `binding`, `approval` of `api_resources`), in
//! the shapes every part of the platform reads, and the helpers that turn
//! them into resource rows.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use store::api::ResourceRow;

use crate::api::wire::{Money, hex};
use crate::api::{ApiError, Caller};

/// Resource kind of settlement accounts.
pub const ACCOUNT: &str = "account";
/// Resource kind of bindings.
pub const BINDING: &str = "binding";
/// Resource kind of approval requests.
pub const APPROVAL: &str = "approval";
/// Resource kind of payouts (their lifecycle belongs to settlement).
pub const PAYOUT: &str = "payout";
/// Resource kind of merchants.
pub const MERCHANT: &str = "merchant";
/// Resource kind of terminals.
pub const TERMINAL: &str = "terminal";

/// One owner of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerDoc {
    /// Party id (the scope of the owner's API keys).
    pub party: String,
    /// Display name.
    pub name: String,
}

/// The approval policy of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDoc {
    /// Owners who must approve a binding change (0: none).
    pub binding_approvals_required: usize,
    /// Payouts above this need approval (`None`: never).
    pub payout_threshold: Option<Money>,
    /// Owners who must approve such a payout.
    pub payout_approvals_required: usize,
}

/// A settlement account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDoc {
    /// Account id.
    pub id: String,
    /// `single`, `joint` or `cobrand`.
    pub kind: String,
    /// Display name.
    pub name: String,
    /// Bank holding the account.
    pub bank: String,
    /// Owners.
    pub owners: Vec<OwnerDoc>,
    /// Approval policy.
    pub policy: PolicyDoc,
    /// Co-brand program (cobrand accounts).
    pub program: Option<String>,
    /// Creation time, RFC 3339.
    pub created_at: String,
}

impl AccountDoc {
    /// Whether `party` owns the account.
    pub fn owned_by(&self, party: &str) -> bool {
        self.owners.iter().any(|o| o.party == party)
    }

    /// The owners' party ids.
    pub fn owner_set(&self) -> std::collections::BTreeSet<String> {
        self.owners.iter().map(|o| o.party.clone()).collect()
    }
}

/// One line of a binding's split: a share in basis points, or a fixed amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitDoc {
    /// Settlement account id.
    pub account: String,
    /// Share of the remainder, basis points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_bps: Option<u32>,
    /// Fixed amount per cycle, paid first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<Money>,
}

/// Who asked for a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    /// Role of the key.
    pub role: String,
    /// Scope of the key.
    pub scope: String,
    /// Public id of the key.
    pub key_id: String,
}

impl Requester {
    /// The requester of `caller`.
    pub fn of(caller: &Caller) -> Self {
        Self {
            role: caller.role.as_str().to_owned(),
            scope: caller.scope.clone(),
            key_id: caller.key_id.clone(),
        }
    }

    /// The maker's party for the approval rules: an owner key's party, or
    /// a name no owner party can have for every other role.
    pub fn maker(&self) -> String {
        if self.role == "owner" {
            self.scope.clone()
        } else {
            format!("{}:{}", self.role, self.scope)
        }
    }
}

/// A binding of a merchant (or some of its terminals) to accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindingDoc {
    /// Binding id.
    pub id: String,
    /// Merchant.
    pub mid: String,
    /// Terminals bound; empty for the whole merchant.
    pub terminals: Vec<String>,
    /// How the merchant's net is split.
    pub splits: Vec<SplitDoc>,
    /// `pending_approval`, `approved`, `rejected`, `expired`, `superseded`.
    pub status: String,
    /// First business date it applies to (set when approved).
    pub effective_from: Option<String>,
    /// Approval requests it waits for, one per account needing one.
    pub approvals: Vec<String>,
    /// Who asked for it.
    pub requested_by: Requester,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// When it was approved, RFC 3339.
    pub approved_at: Option<String>,
    /// Approval time in ns (orders bindings approved for the same date).
    pub approved_at_ns: Option<u64>,
    /// When it was rejected, expired or superseded, RFC 3339.
    pub closed_at: Option<String>,
    /// The binding that replaced it.
    pub superseded_by: Option<String>,
}

/// An approval request of one account for one subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalDoc {
    /// Request id.
    pub id: String,
    /// `binding` or `payout`.
    pub subject_kind: String,
    /// Id of the binding or payout.
    pub subject_id: String,
    /// Account whose owners decide.
    pub account: String,
    /// Approvals needed.
    pub required: usize,
    /// Owners who approved.
    pub approvals: Vec<String>,
    /// Owners who rejected.
    pub rejections: Vec<String>,
    /// Who made the request (the maker never counts).
    pub requested_by: Requester,
    /// `pending`, `approved`, `rejected`, `expired`.
    pub status: String,
    /// Deadline, RFC 3339.
    pub expires_at: String,
    /// Creation time, RFC 3339.
    #[serde(default)]
    pub created_at: String,
    /// When it was decided or expired, RFC 3339.
    #[serde(default)]
    pub decided_at: Option<String>,
}

/// Parses a stored document.
///
/// # Errors
/// 500: a stored document that does not read is our failure.
pub fn parse<T: serde::de::DeserializeOwned>(row: &ResourceRow) -> Result<T, ApiError> {
    serde_json::from_str(&row.document)
        .map_err(|e| ApiError::Internal(format!("{} {}: {e}", row.kind, row.id)))
}

/// The JSON value of a document.
pub fn value<T: Serialize>(document: &T) -> Result<Value, ApiError> {
    serde_json::to_value(document).map_err(ApiError::internal)
}

/// A row of `kind`/`id` holding `document`.
pub fn row<T: Serialize>(
    kind: &str,
    id: &str,
    scope: &str,
    status: &str,
    document: &T,
    created_at_ns: u64,
    now_ns: u64,
) -> Result<ResourceRow, ApiError> {
    Ok(ResourceRow {
        kind: kind.to_owned(),
        id: id.to_owned(),
        scope: scope.to_owned(),
        status: status.to_owned(),
        version: 0,
        document: serde_json::to_string(document).map_err(ApiError::internal)?,
        created_at_ns,
        updated_at_ns: now_ns,
    })
}

/// `row` with a new document and status (same kind, id, scope, creation).
pub fn updated<T: Serialize>(
    row: &ResourceRow,
    status: &str,
    document: &T,
    now_ns: u64,
) -> Result<ResourceRow, ApiError> {
    self::row(
        &row.kind,
        &row.id,
        &row.scope,
        status,
        document,
        row.created_at_ns,
        now_ns,
    )
}

/// A server-chosen id: `prefix`, the time in hex (ids sort by creation)
/// and 32 random bits.
///
/// # Errors
/// 500 when the system has no randomness.
pub fn new_id(prefix: &str, now_ns: u64) -> Result<String, ApiError> {
    let mut random = [0u8; 4];
    getrandom::fill(&mut random).map_err(ApiError::internal)?;
    Ok(format!("{prefix}-{}{}", hex(&now_ns.to_be_bytes()), hex(&random)).to_uppercase())
}

/// Parses the RFC 3339 UTC times this API writes
/// (`YYYY-MM-DDTHH:MM:SS[.fff]Z`) into ns since the Unix epoch.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let (date, time) = text.strip_suffix('Z')?.split_once('T')?;
    let days = domain::BusinessDate::parse(date)?.days_since_epoch();
    let (clock, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut parts = clock.split(':');
    let mut field = |max: u64| -> Option<u64> {
        let part = parts.next()?;
        let ok = part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| part.parse().ok())
            .flatten()
            .filter(|v| *v <= max)
    };
    let (h, m, s) = (field(23)?, field(59)?, field(60)?);
    if parts.next().is_some() || fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut nanos: u64 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().ok()?
    };
    for _ in fraction.len()..9 {
        nanos *= 10;
    }
    let seconds = u64::try_from(days).ok()? * 86_400 + h * 3600 + m * 60 + s;
    seconds.checked_mul(1_000_000_000)?.checked_add(nanos)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_round_trips() {
        for ns in [0, 1_767_225_600_123_000_000, 1_767_484_800_000_000_000] {
            let text = crate::api::wire::rfc3339(ns);
            assert_eq!(super::parse_rfc3339(&text), Some(ns), "{text}");
        }
        assert_eq!(
            super::parse_rfc3339("2026-01-01T00:00:00Z"),
            Some(1_767_225_600_000_000_000)
        );
        for bad in [
            "2026-01-01",
            "2026-01-01T24:00:00Z",
            "2026-02-30T00:00:00Z",
            "x",
        ] {
            assert_eq!(super::parse_rfc3339(bad), None, "{bad}");
        }
    }
}
