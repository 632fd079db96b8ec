//! What a pass settles by, read from the versioned resources and the host's
//! merchant records: risk holds, approved bindings with their splits,
//! account payout policies, and each merchant's payable ledger account.
//!
//! Wire → domain translation of the documents happens here, once per pass
//! (never per merchant): documents are read into small typed views that
//! skip the fields a run does not need, bindings are grouped by merchant
//! as the in-force rule takes them, and every split account's payout
//! clearing ledger account is derived once. Only id, scope and document
//! are read, and of merchants and accounts only the documents that may
//! hold a risk hold or a payout threshold (the engine filters by text, see
//! `store::Store::settlement_plan_documents`). A binding whose document
//! cannot be read is left out (logged), so one bad document leaves its
//! merchant `unbound` instead of stopping every payout.

use std::collections::{HashMap, HashSet};

use domain::BusinessDate;
use domain::money::AmountMinor;
use domain::payouts::ApprovedBinding;
use domain::settlement::{SplitLine, SplitRule};
use serde_json::Value;
use store::HostTable;

use super::SettleIo;

/// An approved binding and its split rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanBinding {
    /// Id, terminals and first date.
    pub binding: ApprovedBinding,
    /// The split.
    pub splits: Vec<SplitLine>,
}

/// The payout policy of a settlement account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountPolicy {
    /// Payouts above this wait for the owners' approval.
    pub threshold: Option<AmountMinor>,
    /// Approvals such a payout needs.
    pub approvals_required: u64,
}

/// A merchant's approved bindings, as the in-force rule takes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MerchantBindings {
    /// Id, terminals and first date of each.
    pub candidates: Vec<ApprovedBinding>,
    /// The split of each, in the same order.
    pub splits: Vec<Vec<SplitLine>>,
}

/// Everything a pass settles by.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// MIDs whose document says `"risk_hold": true`.
    pub held: HashSet<String>,
    /// Approved bindings by MID.
    pub bindings: HashMap<String, MerchantBindings>,
    /// Payout clearing ledger account of every account a binding names.
    pub clearing: HashMap<String, u128>,
    /// Policies by account id: those with a payout threshold (any other
    /// account's policy is the default: no threshold).
    pub accounts: HashMap<String, AccountPolicy>,
    /// Payable ledger account by MID (host merchant records).
    pub payables: HashMap<String, u128>,
}

/// Reads the documents of `kind` (see `store::Store::settlement_plan_documents`).
fn documents<I: SettleIo>(
    io: &mut I,
    kind: &str,
    status: Option<&str>,
    hint: Option<&str>,
) -> store::Result<Vec<PlanDocument>> {
    let rows = io.read(|store| store.settlement_plan_documents(kind, status, hint))?;
    Ok(rows
        .into_iter()
        .map(|(id, scope, document)| PlanDocument {
            id,
            scope,
            document,
        })
        .collect())
}

/// A resource as the plan reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanDocument {
    /// Id.
    pub id: String,
    /// Scope (the MID of a binding).
    pub scope: String,
    /// The JSON document.
    pub document: String,
}

impl Plan {
    /// Reads the plan.
    ///
    /// # Errors
    /// Storage errors.
    pub fn load<I: SettleIo>(io: &mut I) -> store::Result<Plan> {
        let mut plan = Plan::default();
        // Only documents that may hold the key are read: a merchant is held
        // only by `"risk_hold": true`, a policy has a threshold only with an
        // `amount_minor` (an account without one has the default policy).
        for row in documents(io, "merchant", None, Some("risk_hold"))? {
            let held = serde_json::from_str::<MerchantView>(&row.document)
                .is_ok_and(|view| view.risk_hold == Some(true));
            if held {
                plan.held.insert(row.id);
            }
        }
        let bindings = documents(io, "binding", Some("approved"), None)?;
        // Sized once: growing maps of 100 000 merchants rehashes them often.
        plan.bindings.reserve(bindings.len());
        plan.clearing.reserve(bindings.len());
        for row in bindings {
            match parse_binding(&row) {
                Some((mid, binding)) => {
                    for split in &binding.splits {
                        if !plan.clearing.contains_key(&split.account) {
                            let id = super::clearing_account(&split.account);
                            plan.clearing.insert(split.account.clone(), id);
                        }
                    }
                    let merchant = plan.bindings.entry(mid).or_default();
                    merchant.candidates.push(binding.binding);
                    merchant.splits.push(binding.splits);
                }
                None => tracing::warn!(binding = %row.id, "unreadable binding left out"),
            }
        }
        for row in documents(io, "account", None, Some("amount_minor"))? {
            let view = serde_json::from_str::<AccountView>(&row.document).unwrap_or_default();
            plan.accounts.insert(row.id, parse_policy(&view.policy));
        }
        let merchants = io.read(|store| store.host_rows(HostTable::Merchants))?;
        plan.payables.reserve(merchants.len());
        for (mid, body) in merchants {
            if let Some(account) = payable_account(&body) {
                plan.payables.insert(mid, account);
            }
        }
        Ok(plan)
    }

    /// The payout clearing ledger account of `account`.
    #[must_use]
    pub fn clearing_account(&self, account: &str) -> u128 {
        self.clearing
            .get(account)
            .copied()
            .unwrap_or_else(|| super::clearing_account(account))
    }
}

/// The payable ledger account of a host merchant record's body: its
/// `account` field (the last one, as the record reader takes it), read
/// without decoding the rest (a number never holds an escape).
fn payable_account(body: &str) -> Option<u128> {
    body.split(';')
        .filter_map(|pair| pair.strip_prefix("account="))
        .next_back()?
        .parse()
        .ok()
}

/// What a pass reads of a merchant document.
#[derive(serde::Deserialize)]
struct MerchantView {
    #[serde(default)]
    risk_hold: Option<bool>,
}

/// What a pass reads of an account document (values kept loose: a field
/// of another type reads as absent, as it did for the whole document).
#[derive(Default, serde::Deserialize)]
struct AccountView {
    #[serde(default)]
    policy: Value,
}

/// What a pass reads of a binding document.
#[derive(serde::Deserialize)]
struct BindingView {
    #[serde(default)]
    mid: Value,
    #[serde(default)]
    terminals: Value,
    #[serde(default)]
    effective_from: Value,
    /// Each split read into its three fields, not into a map of its own
    /// (a binding that is not an array of objects here is unreadable, as
    /// it was).
    #[serde(default)]
    splits: Option<Vec<SplitView>>,
}

/// What a pass reads of a split line.
#[derive(serde::Deserialize)]
struct SplitView {
    #[serde(default)]
    account: Value,
    #[serde(default)]
    share_bps: Value,
    #[serde(default)]
    fixed: Value,
}

fn parse_policy(policy: &Value) -> AccountPolicy {
    AccountPolicy {
        threshold: policy["payout_threshold"]["amount_minor"]
            .as_i64()
            .map(AmountMinor),
        approvals_required: policy["payout_approvals_required"].as_u64().unwrap_or(0),
    }
}

/// A binding document → (MID, binding); `None` when unreadable.
pub fn parse_binding(row: &PlanDocument) -> Option<(String, PlanBinding)> {
    let document: BindingView = serde_json::from_str(&row.document).ok()?;
    let mid = document.mid.as_str().unwrap_or(&row.scope).to_owned();
    let terminals = match &document.terminals {
        Value::Null => Vec::new(),
        value => value
            .as_array()?
            .iter()
            .map(|t| t.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()?,
    };
    let effective_from = match &document.effective_from {
        Value::Null => None,
        value => Some(BusinessDate::parse(value.as_str()?)?),
    };
    let splits = document
        .splits?
        .iter()
        .map(parse_split)
        .collect::<Option<Vec<_>>>()?;
    domain::settlement::validate_split(&splits).ok()?;
    Some((
        mid,
        PlanBinding {
            binding: ApprovedBinding {
                id: row.id.clone(),
                terminals,
                effective_from,
            },
            splits,
        },
    ))
}

fn parse_split(split: &SplitView) -> Option<SplitLine> {
    let account = split.account.as_str()?.to_owned();
    let rule = match (&split.share_bps, &split.fixed) {
        (Value::Number(bps), Value::Null) => SplitRule::Percent(u32::try_from(bps.as_u64()?).ok()?),
        (Value::Null, fixed) => SplitRule::Fixed(AmountMinor(fixed["amount_minor"].as_i64()?)),
        _ => return None,
    };
    Some(SplitLine { account, rule })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(document: &str) -> PlanDocument {
        PlanDocument {
            id: "BND-1".into(),
            scope: "100000000000001".into(),
            document: document.into(),
        }
    }

    #[test]
    fn reads_binding_documents() {
        let good = r#"{"id":"BND-1","mid":"100000000000001","terminals":["T0000002"],
            "splits":[{"account":"RENT","fixed":{"amount_minor":500,"currency":"CNY"}},
                      {"account":"ACC-JOINT-1","share_bps":10000}],
            "effective_from":"2026-11-24"}"#;
        let (mid, binding) = parse_binding(&row(good)).unwrap();
        assert_eq!(mid, "100000000000001");
        assert_eq!(binding.binding.terminals, vec!["T0000002".to_owned()]);
        assert_eq!(binding.splits[0].rule, SplitRule::Fixed(AmountMinor(500)));
        assert_eq!(binding.splits[1].rule, SplitRule::Percent(10_000));
        let bad = [
            "not json",
            r#"{"splits":[{"account":"A","share_bps":9000}]}"#,
            r#"{"splits":[{"account":"A","share_bps":10000,"fixed":{"amount_minor":1}}]}"#,
            r#"{"splits":[{"account":"A","share_bps":10000}],"effective_from":"2026-13-01"}"#,
            r#"{"splits":[{"account":"A","share_bps":10000}],"terminals":[1]}"#,
            r#"{"splits":{"account":"A","share_bps":10000}}"#,
            r#"{"splits":["A"]}"#,
            r#"{"splits":[{"account":7,"share_bps":10000}]}"#,
            r#"{"splits":[{"account":"A","share_bps":-1}]}"#,
            r#"{"splits":[{"account":"A","fixed":{"amount_minor":"1"}}]}"#,
            r#"{"mid":"1"}"#,
        ];
        for document in bad {
            assert!(parse_binding(&row(document)).is_none(), "{document}");
        }
        let policy = parse_policy(&serde_json::json!({
            "payout_threshold": {"amount_minor": 5_000_000, "currency": "CNY"},
            "payout_approvals_required": 1}));
        assert_eq!(policy.threshold, Some(AmountMinor(5_000_000)));
        assert_eq!(policy.approvals_required, 1);
        assert_eq!(parse_policy(&Value::Null), AccountPolicy::default());
    }

    #[test]
    fn reads_the_payable_account_as_the_record_reader_does() {
        use crate::records::{MerchantRecord, Record};
        let record = Record::Merchant(MerchantRecord {
            mid: "100000000000001".into(),
            name: "A;B=C%account=7".into(),
            stage: "live".into(),
            account: (1 << 64) + 42,
            participant: false,
            mcc: 5814,
            fee_plan: "STANDARD".into(),
            cycle: "T1".into(),
            cutoff_minute: 1380,
        });
        let row = record.row();
        let Some(Record::Merchant(read)) = Record::from_row(row.table, &row.key, &row.body) else {
            panic!("record not read back");
        };
        assert_eq!(payable_account(&row.body), Some(read.account));
        assert_eq!(payable_account("name=x;stage=live"), None);
        assert_eq!(payable_account("account=x"), None);
    }
}
