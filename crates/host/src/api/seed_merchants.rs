//! Sandbox seeding of the `merchant` and `terminal` resources of
//! sandbox.md (the host's own records of them are seeded by
//! `crate::seed::sandbox_seed`): the three merchants in their stages with
//! `STANDARD` contracts, their cycles, 23:00 cut-offs and `DBCOFFEE`
//! participation, and the four terminals, active. Idempotent: a resource
//! that exists is left alone.

use cardsec::TdesKey;
use domain::sandbox;
use serde_json::json;
use store::api::{ApiChange, ApiOutcome, ApiWrite, AuditEntry, ResourcePut, ResourceRow};

use super::merchants::{self, Merchant};
use super::wire::rfc3339;
use super::{ApiError, ApiState};

fn system() -> serde_json::Value {
    json!({"role": "system", "scope": "sandbox", "key_id": "system"})
}

/// The merchant document of a sandbox merchant.
fn merchant_document(merchant: &sandbox::Merchant, now: &str) -> Result<Merchant, ApiError> {
    let programs: Vec<&str> = if merchant.program_participant {
        vec![sandbox::PROGRAM]
    } else {
        Vec::new()
    };
    let hours = merchant.cutoff_minute / 60;
    let minutes = merchant.cutoff_minute % 60;
    let document = json!({
        "mid": merchant.mid,
        "name": merchant.name,
        "mcc": format!("{:04}", merchant.mcc),
        "address": {"line1": "1 Sandbox Road", "city": "Shanghai",
            "postal_code": "200000", "country": "CN"},
        "legal_entity": {"name": format!("{} Ltd", merchant.name),
            "registration_number": format!("SANDBOX-{}", merchant.mid)},
        "stage": merchant.stage.as_str(),
        "contract": {"fee_plan": sandbox::FEE_PLAN,
            "settlement_cycle": merchant.cycle.as_str(),
            "cut_off": format!("{hours:02}:{minutes:02}"),
            "liability_split": {"merchant_bps": 10_000, "acquirer_bps": 0},
            "programs": programs},
        "assessment": null,
        "campaign": null,
        "history": [{"action": "create", "from": null, "to": merchant.stage.as_str(),
            "by": system(), "at": now, "reason": "sandbox data"}],
        "created_at": now,
        "updated_at": now,
    });
    serde_json::from_value(document).map_err(ApiError::internal)
}

/// Creates `row` unless it exists, with a system audit event.
async fn seed(state: &ApiState, row: ResourceRow, action: &str) -> Result<(), ApiError> {
    let audit = AuditEntry {
        time_ns: state.now_ns(),
        actor_role: "system".to_owned(),
        actor_scope: "sandbox".to_owned(),
        action: action.to_owned(),
        resource: format!("{}s/{}", row.kind, row.id),
        // Canonical (sorted keys), as every audit detail is.
        details: serde_json::from_str::<serde_json::Value>(&row.document)
            .map_err(ApiError::internal)?
            .to_string(),
    };
    let write = ApiWrite {
        change: ApiChange::PutResources(vec![ResourcePut::create(row)]),
        audit: Some(audit),
        idempotency: None,
        only_after_success: false,
    };
    let outcomes = state
        .write(vec![store::WriteOp::Api(Box::new(write))])
        .await?;
    match outcomes.first() {
        Some(store::WriteOutcome::Api(ApiOutcome::Applied { .. } | ApiOutcome::Exists)) => Ok(()),
        other => Err(ApiError::Internal(format!(
            "seeding: unexpected outcome {other:?}"
        ))),
    }
}

fn row(kind: &str, id: &str, scope: &str, status: &str, document: String, now: u64) -> ResourceRow {
    ResourceRow {
        kind: kind.to_owned(),
        id: id.to_owned(),
        scope: scope.to_owned(),
        status: status.to_owned(),
        version: 0,
        document,
        created_at_ns: now,
        updated_at_ns: now,
    }
}

/// Seeds the sandbox merchants and terminals as resources. Idempotent.
///
/// # Errors
/// Storage failures.
pub(crate) async fn seed_merchants(state: &ApiState) -> Result<(), ApiError> {
    let now_ns = state.now_ns();
    let now = rfc3339(now_ns);
    for merchant in sandbox::merchants() {
        let document = merchant_document(&merchant, &now)?;
        let text = serde_json::to_string(&document).map_err(ApiError::internal)?;
        let stage = merchant.stage.as_str();
        let row = row(
            merchants::KIND,
            merchant.mid,
            merchant.mid,
            stage,
            text,
            now_ns,
        );
        seed(state, row, "merchant.create").await?;
    }
    let bdk = TdesKey::from_hex(sandbox::BDK_HEX).map_err(ApiError::internal)?;
    let key_set = crate::admin::key_set_id(&bdk);
    for terminal in sandbox::terminals() {
        let document = json!({
            "tid": terminal.tid, "mid": terminal.mid, "model": "Sandbox POS",
            "capabilities": ["chip", "contactless", "swipe", "pin"],
            "key_set": key_set, "initial_ksn": terminal.initial_ksn,
            "mac_required": terminal.mac_required, "status": "active",
            "history": [{"status": "active", "by": system(), "at": now, "reason": "sandbox data"}],
            "created_at": now, "updated_at": now,
        });
        let row = row(
            super::terminals::KIND,
            terminal.tid,
            terminal.mid,
            "active",
            document.to_string(),
            now_ns,
        );
        seed(state, row, "terminal.register").await?;
    }
    Ok(())
}
