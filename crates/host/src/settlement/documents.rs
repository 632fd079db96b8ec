//! The wire forms of settlement: payout and approval resources, run and
//! settlement documents, and the settlement file (CSV).

use domain::money::AmountMinor;
use domain::payouts::{LegKind, PayoutStatus, initial_status};
use serde_json::{Value, json};
use store::api::ResourceRow;
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

/// A money value as documents carry it.
#[derive(serde::Serialize)]
struct Money {
    amount_minor: i64,
    currency: &'static str,
}

impl Money {
    fn cny(amount_minor: i64) -> Self {
        Self {
            amount_minor,
            currency: "CNY",
        }
    }
}

/// A payout's history entry.
#[derive(serde::Serialize)]
struct HistoryEntry<'a> {
    at: &'a str,
    status: &'a str,
}

/// A payout document as created by a pass (fields in the order the API's
/// other documents have them: by name).
#[derive(serde::Serialize)]
struct PayoutDocument<'a> {
    account: &'a str,
    amount: Money,
    approval_id: Option<&'a str>,
    business_date: &'a str,
    created_at: &'a str,
    cycle: &'a str,
    history: [HistoryEntry<'a>; 1],
    id: &'a str,
    kind: &'a str,
    merchants: u64,
    pass: u64,
    return_reason: Option<&'a str>,
    run_id: &'a str,
    status: &'a str,
}

/// Who asked for a payout's approval: the system.
#[derive(serde::Serialize)]
struct Requester {
    key_id: &'static str,
    role: &'static str,
    scope: &'static str,
}

/// An approval request document for a payout (fields by name).
#[derive(serde::Serialize)]
struct ApprovalDocument<'a> {
    account: &'a str,
    amount: Money,
    approvals: [(); 0],
    created_at: &'a str,
    expires_at: &'a str,
    id: &'a str,
    rejections: [(); 0],
    requested_by: Requester,
    required: u64,
    subject_id: &'a str,
    subject_kind: &'static str,
}

/// The resources a finished pass creates (at version 1): a payout per
/// account and kind, and an approval request for each payout above its
/// account's threshold. Documents are serialized from typed views (the
/// same JSON as the API's, keys by name), once per payout.
#[must_use]
pub fn payout_puts(
    run: &SettlementRun,
    totals: &[PayoutTotal],
    plan: &Plan,
    now_ns: u64,
) -> Vec<ResourceRow> {
    let now = rfc3339(now_ns);
    let expires = rfc3339(now_ns.saturating_add(APPROVAL_TTL_NS));
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
        let document = PayoutDocument {
            account: &total.account,
            amount: Money::cny(total.amount_minor),
            approval_id: approval.as_deref(),
            business_date: &run.business_date,
            created_at: &now,
            cycle: &run.cycle,
            history: [HistoryEntry {
                at: &now,
                status: status.as_str(),
            }],
            id: &total.payout_id,
            kind: kind.as_str(),
            merchants: total.merchants,
            pass: run.passes,
            return_reason: None,
            run_id: &run.run_id,
            status: status.as_str(),
        };
        puts.push(row(
            "payout",
            &total.payout_id,
            &total.account,
            status.as_str(),
            to_json(&document),
            now_ns,
        ));
        if let Some(approval) = approval {
            let document = ApprovalDocument {
                account: &total.account,
                amount: Money::cny(total.amount_minor),
                approvals: [],
                created_at: &now,
                expires_at: &expires,
                id: &approval,
                rejections: [],
                requested_by: Requester {
                    key_id: "",
                    role: "system",
                    scope: "",
                },
                required: policy.approvals_required.max(1),
                subject_id: &total.payout_id,
                subject_kind: "payout",
            };
            puts.push(row(
                "approval",
                &approval,
                &total.account,
                "pending",
                to_json(&document),
                now_ns,
            ));
        }
    }
    puts
}

/// Room for a payout or approval document (about 400 bytes), so the text
/// is not grown several times.
const DOCUMENT_CAPACITY: usize = 512;

fn to_json(document: &impl serde::Serialize) -> String {
    let mut out = Vec::with_capacity(DOCUMENT_CAPACITY);
    // Plain structs of strings and integers always serialize, as UTF-8.
    if serde_json::to_writer(&mut out, document).is_err() {
        return String::new();
    }
    String::from_utf8(out).unwrap_or_default()
}

fn row(
    kind: &str,
    id: &str,
    scope: &str,
    status: &str,
    document: String,
    now_ns: u64,
) -> ResourceRow {
    ResourceRow {
        kind: kind.to_owned(),
        id: id.to_owned(),
        scope: scope.to_owned(),
        status: status.to_owned(),
        version: 1,
        document,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settlement::plan::AccountPolicy;

    /// The typed documents are the JSON the API's documents are.
    #[test]
    fn payout_and_approval_documents() {
        let run = SettlementRun {
            run_id: "SR-20261124-T1".into(),
            business_date: "2026-11-24".into(),
            cycle: "T1".into(),
            status: "running".into(),
            passes: 1,
            covered_seq: 0,
            pass_to_seq: 9,
            pass_done_mid: String::new(),
            settlements: 2,
            items: 9,
            created_at_ns: 0,
            updated_at_ns: 0,
        };
        let mut plan = Plan::default();
        plan.accounts.insert(
            "ACC-J".into(),
            AccountPolicy {
                threshold: Some(AmountMinor(1_000)),
                approvals_required: 2,
            },
        );
        let total = |account: &str, kind: LegKind, amount_minor| PayoutTotal {
            payout_id: payout_id(&run.run_id, 1, account, kind),
            account: account.into(),
            kind: kind.as_str().into(),
            amount_minor,
            merchants: 1,
        };
        let totals = [
            total("ACC-J", LegKind::Credit, 5_000),
            total("ACC-S", LegKind::Debit, 70),
        ];
        let now = 1_764_000_000_000_000_000;
        let puts = payout_puts(&run, &totals, &plan, now);
        let kinds: Vec<(&str, &str)> = puts
            .iter()
            .map(|p| (p.kind.as_str(), p.status.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("payout", "awaiting_approval"),
                ("approval", "pending"),
                ("payout", "approved")
            ]
        );
        let parsed: Vec<Value> = puts
            .iter()
            .map(|p| serde_json::from_str(&p.document).unwrap())
            .collect();
        let at = rfc3339(now);
        assert_eq!(
            parsed[0],
            json!({
                "id": "PO-20261124-T1-1-ACC-J", "run_id": "SR-20261124-T1", "pass": 1,
                "business_date": "2026-11-24", "cycle": "T1", "account": "ACC-J",
                "kind": "credit", "amount": money(5_000), "merchants": 1,
                "status": "awaiting_approval", "approval_id": "AP-PO-20261124-T1-1-ACC-J",
                "return_reason": null,
                "history": [{"status": "awaiting_approval", "at": at}], "created_at": at,
            })
        );
        assert_eq!(
            parsed[1],
            json!({
                "id": "AP-PO-20261124-T1-1-ACC-J", "subject_kind": "payout",
                "subject_id": "PO-20261124-T1-1-ACC-J", "account": "ACC-J", "required": 2,
                "approvals": [], "rejections": [],
                "requested_by": {"role": "system", "scope": "", "key_id": ""},
                "amount": money(5_000),
                "expires_at": rfc3339(now + APPROVAL_TTL_NS), "created_at": at,
            })
        );
        assert_eq!(parsed[2]["approval_id"], Value::Null);
        assert_eq!(parsed[2]["kind"], "debit");
        assert_eq!(parsed[2]["amount"], money(70));
    }
}
