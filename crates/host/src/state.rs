//! The host's working state: every record of the host tables, loaded at
//! start and changed under the state lock as soon as a decision's writes are
//! submitted to the store writer (the answer waits for the commit; see the
//! `service` module docs for the group commit and fail-stop rules).

use std::collections::HashMap;

use store::{HostTable, Store};

use crate::records::{
    AnswerRecord, BatchRecord, CardRecord, MerchantRecord, Record, TerminalRecord,
    TransactionRecord,
};

/// Key of an answered request: `tid/stan/de7`.
#[must_use]
pub fn answer_key(tid: &str, stan: u32, transmission: u64) -> String {
    format!("{tid}/{stan:06}/{transmission:010}")
}

/// Key of a request as a reversal names it: `tid/mti/stan/de7`.
#[must_use]
pub fn request_key(tid: &str, mti: &str, stan: u32, transmission: u64) -> String {
    format!("{tid}/{mti}/{stan:06}/{transmission:010}")
}

/// Everything the host decides with.
#[derive(Debug, Default, Clone)]
pub struct HostState {
    /// Merchants by MID.
    pub merchants: HashMap<String, MerchantRecord>,
    /// Terminals by TID.
    pub terminals: HashMap<String, TerminalRecord>,
    /// On-us cards by vault token.
    pub cards: HashMap<String, CardRecord>,
    /// Transactions by RRN.
    pub transactions: HashMap<String, TransactionRecord>,
    /// RRN by request key (`tid/mti/stan/de7`).
    pub by_request: HashMap<String, String>,
    /// Answered requests by `tid/stan/de7`.
    pub answers: HashMap<String, AnswerRecord>,
    /// Reversals by the original's request key → reversed RRN (may be empty).
    pub reversals: HashMap<String, String>,
    /// Batches by `tid/number`.
    pub batches: HashMap<String, BatchRecord>,
    /// KSN → answer key of the request that used it.
    pub ksn_usage: HashMap<String, String>,
    /// Settings.
    pub settings: HashMap<String, String>,
    /// Rows of the other tables (exceptions, network reversals).
    pub others: usize,
    /// The next RRN number.
    pub next_rrn: u64,
    /// Fee plans by code, from the store's fee plan documents (see
    /// `capture` for how plans created later are picked up).
    pub fee_plans: HashMap<String, domain::fees::FeePlan>,
    /// Amounts charged back by RRN (see `chargebacks`): a follow-up counts
    /// them as refunded.
    pub charged_back: HashMap<String, i64>,
}

impl HostState {
    /// Loads every host table.
    ///
    /// # Errors
    /// Database errors.
    pub fn load(store: &mut Store) -> store::Result<HostState> {
        let mut state = HostState {
            next_rrn: 1,
            ..HostState::default()
        };
        for table in HostTable::ALL {
            for (key, body) in store.host_rows(table)? {
                if let Some(record) = Record::from_row(table, &key, &body) {
                    state.apply(record);
                }
            }
        }
        state.fee_plans = crate::capture::load_fee_plans(store)?;
        state.charged_back = crate::chargebacks::load(store)?;
        Ok(state)
    }

    /// Whether no host data is stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.merchants.is_empty() && self.terminals.is_empty() && self.settings.is_empty()
    }

    /// Applies one committed record.
    pub fn apply(&mut self, record: Record) {
        match record {
            Record::Merchant(m) => {
                self.merchants.insert(m.mid.clone(), m);
            }
            Record::Terminal(t) => {
                self.terminals.insert(t.tid.clone(), t);
            }
            Record::Card(c) => {
                self.cards.insert(c.token.clone(), c);
            }
            Record::Transaction(t) => {
                if let Ok(number) = t.rrn.parse::<u64>() {
                    self.next_rrn = self.next_rrn.max(number.saturating_add(1));
                }
                self.by_request.insert(t.request_key.clone(), t.rrn.clone());
                self.transactions.insert(t.rrn.clone(), t);
            }
            Record::Answer(key, answer) => {
                self.answers.insert(key, answer);
            }
            Record::Reversal(key, rrn) => {
                self.reversals.insert(key, rrn);
            }
            Record::Batch(b) => {
                self.batches.insert(format!("{}/{:06}", b.tid, b.number), b);
            }
            Record::KsnUse(ksn, request) => {
                self.ksn_usage.insert(ksn, request);
            }
            Record::Setting(key, value) => {
                self.settings.insert(key, value);
            }
            Record::Exception(..) | Record::NetworkReversal(..) => self.others += 1,
        }
    }

    /// Takes `rrn` from the counter (a record carrying it is applied later).
    pub fn reserve_rrn(&mut self, rrn: &str) {
        if let Ok(number) = rrn.parse::<u64>() {
            self.next_rrn = self.next_rrn.max(number.saturating_add(1));
        }
    }

    /// Whether `tid`'s batch `number` is closed.
    #[must_use]
    pub fn batch_closed(&self, tid: &str, number: u32) -> bool {
        self.batches
            .get(&format!("{tid}/{number:06}"))
            .is_some_and(|b| b.closed)
    }
}
