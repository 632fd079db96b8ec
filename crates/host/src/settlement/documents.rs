//! The wire forms of settlement: payout and approval resources, run and
//! settlement documents, and the settlement file (CSV).

use domain::money::AmountMinor;
use domain::payouts::{LegKind, PayoutStatus, initial_status};
use serde_json::{Value, json};
use store::api::{ResourcePut, ResourceRow};
use store::{PayoutTotal, Settlement, SettlementRun};

use super::plan::Plan;
use crate::api::rfc3339;

/// How long an approval request for a payout stays open.
pub const APPROVAL_TTL_NS: u64 = 7 * 86_400 * 1_000_000_000;

/// The payout a leg belongs to: `PO-YYYYMMDD-T1-PASS-ACCOUNT`, with `-D`
/// for auto-debits and `-H` for held payouts.
#[must_use]
pub fn payout_id(run_id: &str, pass: u64, account: &str, kind: LegKind) -> String {
    let run = run_id.strip_prefix("SR-").unwrap_or(run_id);
    let suffix = match kind {
        LegKind::Credit => "",
        LegKind::Debit => "-D",
        LegKind::Held => "-H",
    };
    format!("PO-{run}-{pass}-{account}{suffix}")
}

/// The approval request of a payout.
#[must_use]
pub fn approval_id(payout_id: &str) -> String {
    format!("AP-{payout_id}")
}

fn money(amount_minor: i64) -> Value {
    json!({"amount_minor": amount_minor, "currency": "CNY"})
}

/// The resources a finished pass creates: a payout per account and kind,
/// and an approval request for each payout above its account's threshold.
#[must_use]
pub fn payout_puts(
    run: &SettlementRun,
    totals: &[PayoutTotal],
    plan: &Plan,
    now_ns: u64,
) -> Vec<ResourcePut> {
    let mut puts = Vec::with_capacity(totals.len());
    for total in totals {
        let kind = LegKind::parse(&total.kind).unwrap_or(LegKind::Held);
        let policy = plan
            .accounts
            .get(&total.account)
            .copied()
            .unwrap_or_default();
        let status = initial_status(kind, AmountMinor(total.amount_minor), policy.threshold);
        let approval =
            (status == PayoutStatus::AwaitingApproval).then(|| approval_id(&total.payout_id));
        let document = json!({
            "id": total.payout_id,
            "run_id": run.run_id,
            "pass": run.passes,
            "business_date": run.business_date,
            "cycle": run.cycle,
            "account": total.account,
            "kind": kind.as_str(),
            "amount": money(total.amount_minor),
            "merchants": total.merchants,
            "status": status.as_str(),
            "approval_id": approval,
            "return_reason": null,
            "history": [{"status": status.as_str(), "at": rfc3339(now_ns)}],
            "created_at": rfc3339(now_ns),
        });
        puts.push(ResourcePut::create(row(
            "payout",
            &total.payout_id,
            &total.account,
            status.as_str(),
            &document,
            now_ns,
        )));
        if let Some(approval) = approval {
            let document = json!({
                "id": approval,
                "subject_kind": "payout",
                "subject_id": total.payout_id,
                "account": total.account,
                "required": policy.approvals_required.max(1),
                "approvals": [],
                "rejections": [],
                "requested_by": {"role": "system", "scope": "", "key_id": ""},
                "amount": money(total.amount_minor),
                "expires_at": rfc3339(now_ns.saturating_add(APPROVAL_TTL_NS)),
                "created_at": rfc3339(now_ns),
            });
            puts.push(ResourcePut::create(row(
                "approval",
                &approval,
                &total.account,
                "pending",
                &document,
                now_ns,
            )));
        }
    }
    puts
}

fn row(
    kind: &str,
    id: &str,
    scope: &str,
    status: &str,
    document: &Value,
    now_ns: u64,
) -> ResourceRow {
    ResourceRow {
        kind: kind.to_owned(),
        id: id.to_owned(),
        scope: scope.to_owned(),
        status: status.to_owned(),
        version: 1,
        document: document.to_string(),
        created_at_ns: now_ns,
        updated_at_ns: now_ns,
    }
}

/// A run as the API answers it.
#[must_use]
pub fn run_document(run: &SettlementRun) -> Value {
    json!({
        "id": run.run_id,
        "business_date": run.business_date,
        "cycle": run.cycle,
        "status": run.status,
        "passes": run.passes,
        "covered_seq": run.covered_seq,
        "settlements": run.settlements,
        "items": run.items,
        "created_at": rfc3339(run.created_at_ns),
        "updated_at": rfc3339(run.updated_at_ns),
    })
}

/// A merchant's settlement as the API answers it.
#[must_use]
pub fn settlement_document(settlement: &Settlement) -> Value {
    let s = &settlement.sums;
    let legs: Vec<Value> = settlement
        .legs
        .iter()
        .map(|leg| {
            json!({
                "account": leg.account,
                "kind": leg.kind,
                "amount": money(leg.amount_minor),
                "payout_id": leg.payout_id,
                "payout_status": leg.payout_status,
            })
        })
        .collect();
    json!({
        "run_id": settlement.run_id,
        "pass": settlement.pass,
        "business_date": settlement.business_date,
        "cycle": settlement.cycle,
        "mid": settlement.mid,
        "items": settlement.items,
        "captures": money(s.captures_minor),
        "refunds": money(s.refunds_minor),
        "fees": money(s.fees_minor),
        "chargebacks": money(s.chargebacks_minor),
        "adjustments": money(s.adjustments_minor),
        "discounts": money(s.discounts_minor),
        "fee_share": money(s.fee_share_minor),
        "points": s.points,
        "net": money(settlement.net_minor),
        "outcome": settlement.outcome,
        "legs": legs,
    })
}

/// Columns of the settlement file.
pub const CSV_HEADER: &str = "business_date,cycle,mid,account,gross_minor,refunds_minor,\
fees_minor,net_minor,share_minor,kind,payout_id,status\r\n";

fn cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// The settlement file's lines of one merchant: one per leg (merchant ×
/// account), or one with empty account columns when nothing moved.
/// `share_minor` is signed: an auto-debit is negative. `status` is the
/// payout's, or the settlement's outcome when there is no payout.
pub fn csv_lines(settlement: &Settlement, out: &mut String) {
    let s = &settlement.sums;
    let head = format!(
        "{},{},{},",
        cell(&settlement.business_date),
        cell(&settlement.cycle),
        cell(&settlement.mid)
    );
    let sums = format!(
        "{},{},{},{}",
        s.captures_minor, s.refunds_minor, s.fees_minor, settlement.net_minor
    );
    if settlement.legs.is_empty() {
        out.push_str(&format!(
            "{head},{sums},0,,,{}\r\n",
            cell(&settlement.outcome)
        ));
    }
    for leg in &settlement.legs {
        let share = if leg.kind == "debit" {
            -leg.amount_minor
        } else {
            leg.amount_minor
        };
        out.push_str(&format!(
            "{head}{},{sums},{share},{},{},{}\r\n",
            cell(&leg.account),
            cell(&leg.kind),
            cell(&leg.payout_id),
            cell(&leg.payout_status)
        ));
    }
}
