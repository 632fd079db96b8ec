//! Sandbox seeding (`posbridge serve --sandbox` calls [`seed_sandbox`]).

use domain::sandbox;
use serde_json::json;
use store::api::{ApiChange, ApiOutcome, ApiWrite, AuditEntry};

use super::programs::ProgramParties;
use super::{ApiError, ApiState, Role};

fn system_audit(
    state: &ApiState,
    action: &str,
    resource: &str,
    details: &serde_json::Value,
) -> AuditEntry {
    AuditEntry {
        time_ns: state.now_ns(),
        actor_role: "system".to_owned(),
        actor_scope: "sandbox".to_owned(),
        action: action.to_owned(),
        resource: resource.to_owned(),
        details: details.to_string(),
    }
}

/// Writes `change` unless it exists already; returns whether it was new.
async fn seed(state: &ApiState, change: ApiChange, audit: AuditEntry) -> Result<bool, ApiError> {
    let write = ApiWrite {
        change,
        audit: Some(audit),
        idempotency: None,
        only_after_success: false,
    };
    let outcomes = state
        .write(vec![store::WriteOp::Api(Box::new(write))])
        .await?;
    match outcomes.first() {
        Some(store::WriteOutcome::Api(ApiOutcome::Applied { .. })) => Ok(true),
        Some(store::WriteOutcome::Api(ApiOutcome::Exists)) => Ok(false),
        other => Err(ApiError::Internal(format!(
            "seeding: unexpected outcome {other:?}"
        ))),
    }
}

/// Stores the sandbox API keys of `domain::sandbox::api_keys` (hashed with
/// the state's pepper). Keys that exist are left alone.
///
/// # Errors
/// When the state is not a sandbox's; storage failures.
pub async fn seed_sandbox_keys(state: &ApiState) -> Result<(), ApiError> {
    if !state.config().sandbox {
        return Err(ApiError::Internal(
            "refusing to seed the public sandbox keys outside --sandbox".to_owned(),
        ));
    }
    for key in sandbox::api_keys() {
        let role = Role::parse(key.role)
            .ok_or_else(|| ApiError::Internal(format!("sandbox role {}", key.role)))?;
        let scope = key.scope.unwrap_or("");
        let row = super::api_keys::key_row(
            &state.config().key_pepper,
            key.key,
            role,
            scope,
            &format!("sandbox {}", key.key),
            state.now_ns(),
        );
        let details = json!({"role": role.as_str(), "scope": scope, "label": row.label});
        let audit = system_audit(
            state,
            "api_key.create",
            &format!("api-keys/{}", row.id),
            &details,
        );
        seed(state, ApiChange::CreateApiKey(row), audit).await?;
    }
    Ok(())
}

/// Seeds the sandbox data this module owns: the API keys, the `STANDARD`
/// fee plan and the `DBCOFFEE` program. Idempotent.
///
/// # Errors
/// As [`seed_sandbox_keys`].
pub async fn seed_sandbox(state: &ApiState) -> Result<(), ApiError> {
    seed_sandbox_keys(state).await?;
    let now = state.now_ns();
    let plan = sandbox::fee_plan();
    let row = super::fee_plans::row(sandbox::FEE_PLAN, &plan, now);
    let document = super::fee_plans::document(sandbox::FEE_PLAN, &plan, now);
    let audit = system_audit(
        state,
        "fee_plan.create",
        &format!("fee-plans/{}", sandbox::FEE_PLAN),
        &document,
    );
    seed(state, ApiChange::CreateFeePlan(row), audit).await?;
    let rules = sandbox::program();
    let bins = vec!["622588".to_owned()];
    let parties = ProgramParties {
        name: "Demo Bank × Lucky Coffee",
        bank: sandbox::BANK,
        brand_partner: sandbox::BRAND_PARTNER,
        bin_ranges: &bins,
    };
    let row = super::programs::row(&rules, &parties, now);
    let document = super::programs::document(&rules, &parties, now);
    let audit = system_audit(
        state,
        "program.create",
        &format!("programs/{}", rules.code),
        &document,
    );
    seed(state, ApiChange::CreateProgram(row), audit).await?;
    super::seed_merchants::seed_merchants(state).await?;
    super::seed_accounts::seed_accounts(state).await?;
    Ok(())
}
