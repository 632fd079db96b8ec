//! The terminal host's records: keyed text rows written in the same
//! transaction as the ledger transfers they belong to (migration 0002).

/// Most characters of a record key.
pub const HOST_KEY_LEN_MAX: usize = 128;
/// Most characters of a record body.
pub const HOST_BODY_LEN_MAX: usize = 4096;

/// A table of the terminal host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostTable {
    /// Merchants by MID.
    Merchants,
    /// Terminals by TID.
    Terminals,
    /// On-us and known cards by vault token.
    Cards,
    /// Transactions by RRN.
    Transactions,
    /// Answered requests by TID/STAN/DE 7, with the response fields.
    Duplicates,
    /// Reversals received (also before their original).
    Reversals,
    /// Terminal batches by TID/batch number.
    Batches,
    /// KSNs used, with the request they were used for.
    KsnUsage,
    /// Reconciliation exceptions.
    Exceptions,
    /// Reversals owed to the card network (timed-out requests).
    NetworkReversals,
    /// Host settings (e.g. whether the database holds sandbox data).
    Settings,
}

impl HostTable {
    /// Every table.
    pub const ALL: [HostTable; 11] = [
        HostTable::Merchants,
        HostTable::Terminals,
        HostTable::Cards,
        HostTable::Transactions,
        HostTable::Duplicates,
        HostTable::Reversals,
        HostTable::Batches,
        HostTable::KsnUsage,
        HostTable::Exceptions,
        HostTable::NetworkReversals,
        HostTable::Settings,
    ];

    /// The SQL table name.
    pub fn name(self) -> &'static str {
        match self {
            HostTable::Merchants => "host_merchants",
            HostTable::Terminals => "host_terminals",
            HostTable::Cards => "host_cards",
            HostTable::Transactions => "host_transactions",
            HostTable::Duplicates => "host_duplicates",
            HostTable::Reversals => "host_reversals",
            HostTable::Batches => "host_batches",
            HostTable::KsnUsage => "host_ksn_usage",
            HostTable::Exceptions => "host_exceptions",
            HostTable::NetworkReversals => "host_network_reversals",
            HostTable::Settings => "host_settings",
        }
    }

    /// Whether the table is an append-only log (migration 12): its rows are
    /// kept in write order under an integer sequence, with no index on the
    /// key, and a key's last row is its value. The answered requests and
    /// the KSNs used, whose keys are spread over every terminal: as logs, a
    /// commit appends their records to one page instead of one page each.
    pub fn logged(self) -> bool {
        matches!(self, HostTable::Duplicates | HostTable::KsnUsage)
    }

    /// What follows a row's `INSERT`: a keyed table replaces the key's row,
    /// a log appends.
    pub(crate) fn on_conflict(self) -> &'static str {
        if self.logged() {
            ""
        } else {
            " ON CONFLICT (key) DO UPDATE SET body = excluded.body"
        }
    }

    /// The `SELECT` of a table's `(key, body)` rows: by key, or for a log
    /// in write order (to be folded with [`latest_per_key`]).
    pub(crate) fn select_sql(self) -> String {
        let order = if self.logged() { "seq" } else { "key" };
        format!("SELECT key, body FROM {} ORDER BY {order}", self.name())
    }
}

/// A log's rows in write order folded to each key's last row, by key (what
/// the keyed tables give).
pub(crate) fn latest_per_key(rows: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut latest = std::collections::BTreeMap::new();
    for (key, body) in rows {
        latest.insert(key, body);
    }
    latest.into_iter().collect()
}

/// One record to insert or replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRow {
    /// Its table.
    pub table: HostTable,
    /// Its key (at most [`HOST_KEY_LEN_MAX`] characters).
    pub key: String,
    /// Its body (at most [`HOST_BODY_LEN_MAX`] characters).
    pub body: String,
}
