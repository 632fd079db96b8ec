//! Authentication (the [`Caller`] extractor) and authorization (one table of
//! role × action, checked by [`authorize`]).

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

use super::{ApiError, ApiState};

/// The role of an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The platform operator: everything.
    Operator,
    /// A bank (scope: bank code).
    Bank,
    /// A brand partner (scope: partner code).
    Brand,
    /// A merchant (scope: MID).
    Merchant,
    /// A settlement account owner (scope: owner party).
    Owner,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [
        Role::Operator,
        Role::Bank,
        Role::Brand,
        Role::Merchant,
        Role::Owner,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Bank => "bank",
            Role::Brand => "brand",
            Role::Merchant => "merchant",
            Role::Owner => "owner",
        }
    }

    /// Parses the stable name.
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }
}

/// What a request asks to do; [`authorize`] decides by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `POST /v1/api-keys`.
    CreateApiKey,
    /// `POST /v1/fee-plans`.
    CreateFeePlan,
    /// `GET /v1/fee-plans`, `GET /v1/fee-plans/{code}`.
    ReadFeePlans,
    /// `POST /v1/programs`.
    CreateProgram,
    /// `GET /v1/programs/{code}` (scoped: own bank or own brand partner).
    ReadProgram,
    /// `GET /v1/audit`, `GET /v1/audit/verify`.
    ReadAudit,
    /// `POST /v1/accounts` (a bank: its own bank only).
    CreateAccount,
    /// `GET /v1/accounts/{id}` (scoped: own bank, owned accounts).
    ReadAccount,
    /// `POST /v1/merchants/{mid}/bindings` (scoped: own merchant; an owner
    /// only for a merchant already bound to an account it owns).
    RequestBinding,
    /// `GET /v1/merchants/{mid}/bindings[/in-force]` (scoped: own merchant).
    ReadBindings,
    /// `GET /v1/approvals` (owners: their own accounts' requests).
    ReadApprovals,
    /// `POST /v1/approvals/{id}/approve`, `.../reject` (owners of the account).
    DecideApproval,
    /// `GET /v1/transactions[/{id}]` (scoped: own merchant, own bank, own
    /// program's cards).
    ReadTransactions,
    /// `GET /v1/ledger/accounts/{id}/balance`.
    ReadLedgerBalance,
    /// `POST /v1/merchants`.
    CreateMerchant,
    /// `GET /v1/merchants`, `GET /v1/merchants/{mid}` (a merchant: its own).
    ReadMerchants,
    /// `PUT /v1/merchants/{mid}/contract`.
    UpdateContract,
    /// `POST /v1/merchants/{mid}/onboarding/advance` and `.../reject`.
    ChangeOnboarding,
    /// `GET /v1/merchants/{mid}/onboarding` (a merchant: its own).
    ReadOnboarding,
    /// `POST /v1/terminals`.
    RegisterTerminal,
    /// `GET /v1/terminals/{tid}` (a merchant: its own).
    ReadTerminal,
    /// `POST /v1/terminals/{tid}/activate`, `.../suspend`.
    ChangeTerminalStatus,
    /// `GET /v1/reports/daily`.
    ReadDailyReport,
    /// `GET /v1/reconciliation/exceptions`.
    ReadReconciliation,
    /// `POST /v1/qr/payments` (a merchant: its own).
    CreateQrPayment,
    /// `POST /v1/qr/orders` (a merchant: its own).
    CreateQrOrder,
    /// `GET /v1/qr/orders/{id}` (a merchant: its own).
    ReadQrOrder,
    /// `POST /v1/qr/orders/{id}/pay` (sandbox: the wallet's notification).
    PayQrOrder,
    /// `POST /v1/issuer/cards` (sandbox).
    CreateIssuerCard,
    /// `POST /v1/settlement-runs`.
    RunSettlement,
    /// `GET /v1/settlement-runs/{id}`, `GET /v1/settlements` (scoped:
    /// a merchant's own).
    ReadSettlements,
    /// `GET /v1/payouts` (scoped: an owner's own accounts).
    ReadPayouts,
    /// `POST /v1/payouts/{id}/{send,confirm,return,release}`.
    ChangePayout,
    /// `POST /v1/merchants/{mid}/adjustments` (chargebacks, adjustments).
    AdjustSettlement,
}

/// The roles allowed each action. Scope checks (a brand reading only its
/// own program) come after, in the handler, and answer 404.
const PERMISSIONS: &[(Action, &[Role])] = &[
    (Action::CreateApiKey, &[Role::Operator]),
    (Action::CreateFeePlan, &[Role::Operator]),
    (Action::ReadFeePlans, &[Role::Operator]),
    (Action::CreateProgram, &[Role::Operator, Role::Bank]),
    (
        Action::ReadProgram,
        &[Role::Operator, Role::Bank, Role::Brand],
    ),
    (Action::ReadAudit, &[Role::Operator]),
    (Action::CreateAccount, &[Role::Operator, Role::Bank]),
    (
        Action::ReadAccount,
        &[Role::Operator, Role::Bank, Role::Owner],
    ),
    (
        Action::RequestBinding,
        &[Role::Operator, Role::Merchant, Role::Owner],
    ),
    (Action::ReadBindings, &[Role::Operator, Role::Merchant]),
    (Action::ReadApprovals, &[Role::Operator, Role::Owner]),
    (Action::DecideApproval, &[Role::Owner]),
    (
        Action::ReadTransactions,
        &[Role::Operator, Role::Merchant, Role::Bank, Role::Brand],
    ),
    (Action::ReadLedgerBalance, &[Role::Operator]),
    (Action::CreateMerchant, &[Role::Operator]),
    (
        Action::ReadMerchants,
        &[Role::Operator, Role::Bank, Role::Merchant],
    ),
    (Action::UpdateContract, &[Role::Operator]),
    (Action::ChangeOnboarding, &[Role::Operator]),
    (Action::ReadOnboarding, &[Role::Operator, Role::Merchant]),
    (Action::RegisterTerminal, &[Role::Operator]),
    (Action::ReadTerminal, &[Role::Operator, Role::Merchant]),
    (Action::ChangeTerminalStatus, &[Role::Operator]),
    (
        Action::ReadDailyReport,
        &[Role::Operator, Role::Bank, Role::Brand, Role::Merchant],
    ),
    (Action::ReadReconciliation, &[Role::Operator]),
    (Action::CreateQrPayment, &[Role::Operator, Role::Merchant]),
    (Action::CreateQrOrder, &[Role::Operator, Role::Merchant]),
    (Action::ReadQrOrder, &[Role::Operator, Role::Merchant]),
    (Action::PayQrOrder, &[Role::Operator]),
    (Action::CreateIssuerCard, &[Role::Operator]),
    (Action::RunSettlement, &[Role::Operator]),
    (Action::ReadSettlements, &[Role::Operator, Role::Merchant]),
    (Action::ReadPayouts, &[Role::Operator, Role::Owner]),
    (Action::ChangePayout, &[Role::Operator]),
    (Action::AdjustSettlement, &[Role::Operator]),
];

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Public id of the API key.
    pub key_id: String,
    /// The key's role.
    pub role: Role,
    /// The key's scope (empty for operators).
    pub scope: String,
}

/// Whether `caller` may do `action`.
///
/// # Errors
/// [`ApiError::Forbidden`] when the caller's role may not.
pub fn authorize(caller: &Caller, action: Action) -> Result<(), ApiError> {
    let allowed = PERMISSIONS
        .iter()
        .find(|(a, _)| *a == action)
        .is_some_and(|(_, roles)| roles.contains(&caller.role));
    if allowed {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "a {} key may not do this",
            caller.role.as_str()
        )))
    }
}

/// The roles allowed `action` (for the OpenAPI document).
pub fn roles_for(action: Action) -> &'static [Role] {
    PERMISSIONS
        .iter()
        .find(|(a, _)| *a == action)
        .map_or(&[], |(_, roles)| roles)
}

/// How a key is stored: SHA-256(pepper || key).
pub fn hash_key(pepper: &[u8], key: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(pepper);
    hasher.update(key.as_bytes());
    hasher.finalize().into()
}

/// The public id of a key: derived from its hash, so it says nothing about
/// the key.
pub(crate) fn key_id(key_hash: &[u8; 32]) -> String {
    format!("key_{}", super::wire::hex(&key_hash[..8]))
}

/// A new random key: `sk_` and 64 hex digits (256 bits).
pub(crate) fn generate_key() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(ApiError::internal)?;
    Ok(format!("sk_{}", super::wire::hex(&bytes)))
}

/// The prefix of the public sandbox keys.
pub const SANDBOX_KEY_PREFIX: &str = "sk_sandbox_";

/// Longest `Authorization` value looked at.
const AUTHORIZATION_BYTES_MAX: usize = 512;

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.len() <= AUTHORIZATION_BYTES_MAX)
            .ok_or(ApiError::Unauthorized)?;
        let key = value
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|key| !key.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        // The public sandbox keys open nothing outside the sandbox, even if
        // their rows were copied into a production database.
        if !state.config().sandbox && key.starts_with(SANDBOX_KEY_PREFIX) {
            return Err(ApiError::Unauthorized);
        }
        let key_hash = hash_key(&state.config().key_pepper, key);
        let row = state
            .read(move |store| store.api_key_by_hash(&key_hash))
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let role = Role::parse(&row.role).ok_or_else(|| {
            ApiError::Internal(format!("key {} has unknown role {}", row.id, row.role))
        })?;
        Ok(Caller {
            key_id: row.id,
            role,
            scope: row.scope,
        })
    }
}
