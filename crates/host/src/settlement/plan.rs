//! What a pass settles by, read from the versioned resources and the host's
//! merchant records: risk holds, approved bindings with their splits,
//! account payout policies, and each merchant's payable ledger account.
//!
//! Wire → domain translation of the documents happens here, once per pass
//! (never per merchant): documents are read into small typed views that
//! skip the fields a run does not need, bindings are grouped by merchant
//! as the in-force rule takes them, and every split line's payout
//! clearing ledger account is derived once. The merchants are one list in
//! MID order (payable account and bindings together), their bindings and
//! split lines in flat lists they index: a pass looks each merchant up
//! once, near the last one (it settles in MID order), rather than hashing
//! into three maps of 100 000 entries, and a plan is a few allocations per
//! merchant to make and to free. Only id, scope and document
//! are read, and of merchants and accounts only the documents that may
//! hold a risk hold or a payout threshold (the engine filters by text, see
//! `store::Store::settlement_plan_documents`). A binding whose document
//! cannot be read is left out (logged), so one bad document leaves its
//! merchant `unbound` instead of stopping every payout.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

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

/// A merchant as a pass settles it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantPlan {
    /// MID.
    pub mid: String,
    /// Payable ledger account (host merchant record), if any.
    pub payable: Option<u128>,
    /// Its approved bindings: a range of [`Plan::candidates`] (empty: none).
    pub bindings: std::ops::Range<usize>,
}

/// Everything a pass settles by.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// MIDs whose document says `"risk_hold": true`.
    pub held: HashSet<String>,
    /// Merchants with a payable account or an approved binding, by MID
    /// (byte order), each once.
    pub merchants: Vec<MerchantPlan>,
    /// Approved bindings (id, terminals, first date), grouped by merchant.
    pub candidates: Vec<ApprovedBinding>,
    /// The split of each candidate: a range of [`Plan::lines`].
    pub candidate_lines: Vec<std::ops::Range<usize>>,
    /// Split lines of every candidate.
    pub lines: Vec<SplitLine>,
    /// The payout clearing ledger account of each of [`Plan::lines`].
    pub clearing: Vec<u128>,
    /// Policies by account id: those with a payout threshold (any other
    /// account's policy is the default: no threshold).
    pub accounts: HashMap<String, AccountPolicy>,
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

/// Binding documents a thread parses at a time.
const PARSE_CHUNK: usize = 4096;

/// A binding as the plan reads it: its MID, and the payout clearing ledger
/// account of each of its split lines.
#[derive(Debug)]
struct ReadBinding {
    mid: String,
    binding: PlanBinding,
    clearing: Vec<u128>,
}

/// A binding document → [`ReadBinding`]; `None` when unreadable.
fn read_binding(row: &PlanDocument) -> Option<ReadBinding> {
    let (mid, binding) = parse_binding(row)?;
    let clearing = binding
        .splits
        .iter()
        .map(|line| super::clearing_account(&line.account))
        .collect();
    Some(ReadBinding {
        mid,
        binding,
        clearing,
    })
}

/// Parses chunks of `rows` (the next one at `next`) until none is left:
/// each chunk's readable bindings, by chunk index.
fn parse_chunks(rows: &[PlanDocument], next: &AtomicUsize) -> Vec<(usize, Vec<ReadBinding>)> {
    let mut parsed = Vec::new();
    loop {
        let chunk = next.fetch_add(1, Ordering::Relaxed);
        let start = chunk.saturating_mul(PARSE_CHUNK);
        let end = rows.len().min(start.saturating_add(PARSE_CHUNK));
        let Some(rows) = rows.get(start..end).filter(|rows| !rows.is_empty()) else {
            return parsed;
        };
        let mut bindings = Vec::with_capacity(rows.len());
        for row in rows {
            match read_binding(row) {
                Some(binding) => bindings.push(binding),
                None => tracing::warn!(binding = %row.id, "unreadable binding left out"),
            }
        }
        parsed.push((chunk, bindings));
    }
}

/// Host merchant records (MID, body) → (MID, payable account).
fn payables(records: Vec<(String, String)>) -> Vec<(String, Option<u128>)> {
    records
        .into_iter()
        .map(|(mid, body)| {
            let account = payable_account(&body);
            (mid, account)
        })
        .collect()
}

/// What a scoped thread returned (its panic goes on here).
fn join<T>(thread: std::thread::ScopedJoinHandle<'_, T>) -> T {
    match thread.join() {
        Ok(out) => out,
        Err(panic) => std::panic::resume_unwind(panic),
    }
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
    /// The approved bindings are read first and parsed (with each split
    /// line's clearing account: the plan's most work) on a second thread,
    /// in chunks both threads take turns at: this one reads the other
    /// documents and the host's merchant records meanwhile (the store's
    /// connection is this thread's), then joins the parsing; the merchant
    /// records are read in two halves, one on each thread. A merchant's
    /// bindings stay in the order read.
    ///
    /// # Errors
    /// Storage errors.
    pub fn load<I: SettleIo>(io: &mut I) -> store::Result<Plan> {
        let binding_rows = documents(io, "binding", Some("approved"), None)?;
        let next_chunk = AtomicUsize::new(0);
        let (mut plan, mut payables, mut parsed) = std::thread::scope(|scope| {
            let parsing = scope.spawn(|| parse_chunks(&binding_rows, &next_chunk));
            let read = Self::read_rest(io);
            let (plan, mut records) = match read {
                Ok(read) => read,
                Err(err) => {
                    // Nothing more to parse: the load fails.
                    next_chunk.store(usize::MAX / 2, Ordering::Relaxed);
                    join(parsing);
                    return Err(err);
                }
            };
            let second = records.split_off(records.len() / 2);
            let reading = scope.spawn(move || payables(second));
            let mut parsed = parse_chunks(&binding_rows, &next_chunk);
            let mut payables = payables(records);
            parsed.extend(join(parsing));
            payables.extend(join(reading));
            Ok((plan, payables, parsed))
        })?;
        parsed.sort_unstable_by_key(|(chunk, _)| *chunk);
        let mut bindings =
            Vec::with_capacity(parsed.iter().map(|(_, chunk)| chunk.len()).sum::<usize>());
        for (_, chunk) in parsed {
            bindings.extend(chunk);
        }
        // By MID; a merchant's bindings stay in the order read (stable).
        // The records come by MID already: their sort only checks.
        bindings.sort_by(|a, b| a.mid.cmp(&b.mid));
        payables.sort_by(|a, b| a.0.cmp(&b.0));
        plan.merge(payables, bindings);
        Ok(plan)
    }

    /// Holds and account policies, and the host's merchant records (MID,
    /// body).
    fn read_rest<I: SettleIo>(io: &mut I) -> store::Result<(Plan, Vec<(String, String)>)> {
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
        for row in documents(io, "account", None, Some("amount_minor"))? {
            let view = serde_json::from_str::<AccountView>(&row.document).unwrap_or_default();
            plan.accounts.insert(row.id, parse_policy(&view.policy));
        }
        let records = io.read(|store| store.host_rows(HostTable::Merchants))?;
        Ok((plan, records))
    }

    /// Fills [`Plan::merchants`] from the payable accounts and the
    /// bindings, both by MID.
    fn merge(&mut self, payables: Vec<(String, Option<u128>)>, bindings: Vec<ReadBinding>) {
        self.merchants.reserve(payables.len().max(bindings.len()));
        self.candidates.reserve(bindings.len());
        self.candidate_lines.reserve(bindings.len());
        self.lines.reserve(bindings.len());
        self.clearing.reserve(bindings.len());
        let mut payables = payables.into_iter().peekable();
        let mut bindings = bindings.into_iter().peekable();
        loop {
            // The next MID of either list (taken, not copied).
            let next_is_payable = match (payables.peek(), bindings.peek()) {
                (Some((p, _)), Some(b)) => *p <= b.mid,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let first = self.candidates.len();
            let mut payable = None;
            let mid = if next_is_payable {
                let Some((mid, account)) = payables.next() else {
                    break;
                };
                payable = account;
                mid
            } else {
                let Some(binding) = bindings.next() else {
                    break;
                };
                self.push(binding.binding, binding.clearing);
                binding.mid
            };
            while let Some((_, account)) = payables.next_if(|(p, _)| *p == mid) {
                // A MID is one host record (were it not, the last one
                // with an account would count).
                payable = account.or(payable);
            }
            while let Some(binding) = bindings.next_if(|b| b.mid == mid) {
                self.push(binding.binding, binding.clearing);
            }
            let bindings = first..self.candidates.len();
            self.merchants.push(MerchantPlan {
                mid,
                payable,
                bindings,
            });
        }
    }

    /// Adds a candidate and its split lines.
    fn push(&mut self, binding: PlanBinding, clearing: Vec<u128>) {
        let start = self.lines.len();
        self.lines.extend(binding.splits);
        self.clearing.extend(clearing);
        self.candidate_lines.push(start..self.lines.len());
        self.candidates.push(binding.binding);
    }

    /// The merchant `mid`, looked for first at `*cursor` (where the last
    /// lookup ended: a pass goes in MID order), then by binary search;
    /// `*cursor` is left after it.
    #[must_use]
    pub fn merchant(&self, mid: &str, cursor: &mut usize) -> Option<&MerchantPlan> {
        let at = match self.merchants.get(*cursor) {
            Some(next) if next.mid == mid => *cursor,
            _ => self
                .merchants
                .binary_search_by(|m| m.mid.as_str().cmp(mid))
                .ok()?,
        };
        *cursor = at + 1;
        self.merchants.get(at)
    }

    /// The payout clearing ledger account of `account`, from the split
    /// lines of `merchant`'s bindings (derived when none names it).
    #[must_use]
    pub fn clearing_account(&self, merchant: Option<&MerchantPlan>, account: &str) -> u128 {
        let lines = merchant.filter(|m| !m.bindings.is_empty()).and_then(|m| {
            let first = self.candidate_lines.get(m.bindings.start)?.start;
            let last = self
                .candidate_lines
                .get(m.bindings.end.checked_sub(1)?)?
                .end;
            Some(first..last)
        });
        lines
            .and_then(|range| {
                let at = self
                    .lines
                    .get(range.clone())?
                    .iter()
                    .position(|l| l.account == account)?;
                self.clearing.get(range.start + at).copied()
            })
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

    /// Payable accounts and bindings meet by MID; lookups in any order find
    /// the same merchants; each line's clearing account is its account's.
    #[test]
    fn merchants_by_mid_with_their_bindings_and_clearing_accounts() {
        let binding = |mid: &str, id: &str, accounts: &[&str]| {
            let splits: Vec<String> = accounts
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    let bps = if i + 1 == accounts.len() { 10_000 } else { 0 };
                    if bps == 0 {
                        format!(r#"{{"account":"{a}","fixed":{{"amount_minor":100}}}}"#)
                    } else {
                        format!(r#"{{"account":"{a}","share_bps":{bps}}}"#)
                    }
                })
                .collect();
            let document = format!(r#"{{"mid":"{mid}","splits":[{}]}}"#, splits.join(","));
            let mut row = row(&document);
            row.id = id.into();
            read_binding(&row).unwrap()
        };
        let payables = vec![
            ("M1".to_owned(), Some(11)),
            ("M3".to_owned(), None),
            ("M4".to_owned(), Some(44)),
        ];
        let bindings = vec![
            binding("M1", "BND-2", &["RENT", "ACC-1"]),
            binding("M1", "BND-1", &["ACC-1B"]),
            binding("M2", "BND-3", &["ACC-2"]),
        ];
        let mut plan = Plan::default();
        plan.merge(payables, bindings);
        let mids: Vec<&str> = plan.merchants.iter().map(|m| m.mid.as_str()).collect();
        assert_eq!(mids, ["M1", "M2", "M3", "M4"]);
        let payables: Vec<Option<u128>> = plan.merchants.iter().map(|m| m.payable).collect();
        assert_eq!(payables, [Some(11), None, None, Some(44)]);
        let m1 = &plan.merchants[0];
        let ids: Vec<&str> = plan.candidates[m1.bindings.clone()]
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(
            ids,
            ["BND-2", "BND-1"],
            "a merchant's bindings in the order read"
        );
        let lines = &plan.lines[plan.candidate_lines[m1.bindings.start].clone()];
        assert_eq!(lines[0].account, "RENT");
        assert!(plan.merchants[2].bindings.is_empty());
        assert_eq!(plan.clearing.len(), plan.lines.len());
        for (line, clearing) in plan.lines.iter().zip(&plan.clearing) {
            assert_eq!(*clearing, super::super::clearing_account(&line.account));
        }
        let mut cursor = 0;
        for mid in ["M4", "M1", "M2", "M0", "M3", "M5", "M4"] {
            let found = plan.merchant(mid, &mut cursor).map(|m| m.mid.as_str());
            let expected = plan
                .merchants
                .iter()
                .find(|m| m.mid == mid)
                .map(|m| m.mid.as_str());
            assert_eq!(found, expected, "{mid}");
        }
        let m1 = plan.merchant("M1", &mut cursor);
        for account in ["RENT", "ACC-1", "ACC-1B", "ACC-2", "OTHER"] {
            assert_eq!(
                plan.clearing_account(m1, account),
                super::super::clearing_account(account),
                "{account}"
            );
        }
        assert_eq!(
            plan.clearing_account(None, "ACC-2"),
            super::super::clearing_account("ACC-2")
        );
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
