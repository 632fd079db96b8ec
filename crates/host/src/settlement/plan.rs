//! What a pass settles by, read from the versioned resources and the host's
//! merchant records: risk holds, approved bindings with their splits,
//! account payout policies, and each merchant's payable ledger account.
//!
//! Wire → domain translation of the documents happens here, once. A
//! binding whose document cannot be read is left out (logged), so one bad
//! document leaves its merchant `unbound` instead of stopping every payout.

use std::collections::{HashMap, HashSet};

use domain::BusinessDate;
use domain::money::AmountMinor;
use domain::payouts::ApprovedBinding;
use domain::settlement::{SplitLine, SplitRule};
use serde_json::Value;
use store::HostTable;
use store::api::{ResourceQuery, ResourceRow};

use super::SettleIo;
use crate::records::Record;

/// Resources read per query.
const PAGE_RESOURCES: u64 = 10_000;

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

/// Everything a pass settles by.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// MIDs whose document says `"risk_hold": true`.
    pub held: HashSet<String>,
    /// Approved bindings by MID.
    pub bindings: HashMap<String, Vec<PlanBinding>>,
    /// Policies by account id.
    pub accounts: HashMap<String, AccountPolicy>,
    /// Payable ledger account by MID (host merchant records).
    pub payables: HashMap<String, u128>,
}

fn all_resources<I: SettleIo>(
    io: &mut I,
    kind: &str,
    status: Option<&str>,
) -> store::Result<Vec<ResourceRow>> {
    let mut rows = Vec::new();
    loop {
        let query = ResourceQuery {
            kind: kind.to_owned(),
            scope: None,
            status: status.map(str::to_owned),
            after_id: rows
                .last()
                .map_or_else(String::new, |r: &ResourceRow| r.id.clone()),
            limit: PAGE_RESOURCES,
        };
        let page = io.read(|store| store.resources(&query))?;
        let done = (page.len() as u64) < PAGE_RESOURCES;
        rows.extend(page);
        if done {
            return Ok(rows);
        }
    }
}

impl Plan {
    /// Reads the plan.
    ///
    /// # Errors
    /// Storage errors.
    pub fn load<I: SettleIo>(io: &mut I) -> store::Result<Plan> {
        let mut plan = Plan::default();
        for row in all_resources(io, "merchant", None)? {
            let document: Value = serde_json::from_str(&row.document).unwrap_or(Value::Null);
            if document.get("risk_hold").and_then(Value::as_bool) == Some(true) {
                plan.held.insert(row.id);
            }
        }
        for row in all_resources(io, "binding", Some("approved"))? {
            match parse_binding(&row) {
                Some((mid, binding)) => plan.bindings.entry(mid).or_default().push(binding),
                None => tracing::warn!(binding = %row.id, "unreadable binding left out"),
            }
        }
        for row in all_resources(io, "account", None)? {
            let document: Value = serde_json::from_str(&row.document).unwrap_or(Value::Null);
            plan.accounts.insert(row.id, parse_policy(&document));
        }
        for (key, body) in io.read(|store| store.host_rows(HostTable::Merchants))? {
            if let Some(Record::Merchant(merchant)) =
                Record::from_row(HostTable::Merchants, &key, &body)
            {
                plan.payables.insert(merchant.mid, merchant.account);
            }
        }
        Ok(plan)
    }
}

fn parse_policy(document: &Value) -> AccountPolicy {
    let policy = &document["policy"];
    AccountPolicy {
        threshold: policy["payout_threshold"]["amount_minor"]
            .as_i64()
            .map(AmountMinor),
        approvals_required: policy["payout_approvals_required"].as_u64().unwrap_or(0),
    }
}

/// A binding document → (MID, binding); `None` when unreadable.
pub fn parse_binding(row: &ResourceRow) -> Option<(String, PlanBinding)> {
    let document: Value = serde_json::from_str(&row.document).ok()?;
    let mid = document["mid"].as_str().unwrap_or(&row.scope).to_owned();
    let terminals = match &document["terminals"] {
        Value::Null => Vec::new(),
        value => value
            .as_array()?
            .iter()
            .map(|t| t.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()?,
    };
    let effective_from = match &document["effective_from"] {
        Value::Null => None,
        value => Some(BusinessDate::parse(value.as_str()?)?),
    };
    let splits = document["splits"]
        .as_array()?
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

fn parse_split(split: &Value) -> Option<SplitLine> {
    let account = split["account"].as_str()?.to_owned();
    let rule = match (&split["share_bps"], &split["fixed"]) {
        (Value::Number(bps), Value::Null) => SplitRule::Percent(u32::try_from(bps.as_u64()?).ok()?),
        (Value::Null, fixed) => SplitRule::Fixed(AmountMinor(fixed["amount_minor"].as_i64()?)),
        _ => return None,
    };
    Some(SplitLine { account, rule })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(document: &str) -> ResourceRow {
        ResourceRow {
            kind: "binding".into(),
            id: "BND-1".into(),
            scope: "100000000000001".into(),
            status: "approved".into(),
            version: 1,
            document: document.into(),
            created_at_ns: 0,
            updated_at_ns: 0,
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
        ];
        for document in bad {
            assert!(parse_binding(&row(document)).is_none(), "{document}");
        }
        let policy = parse_policy(&serde_json::json!({"policy": {
            "payout_threshold": {"amount_minor": 5_000_000, "currency": "CNY"},
            "payout_approvals_required": 1}}));
        assert_eq!(policy.threshold, Some(AmountMinor(5_000_000)));
        assert_eq!(policy.approvals_required, 1);
        assert_eq!(parse_policy(&Value::Null), AccountPolicy::default());
    }
}
