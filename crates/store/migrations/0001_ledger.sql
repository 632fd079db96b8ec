-- Ledger accounts and transfers. Shared by both engines; placeholders:
-- {id} is a 16-byte big-endian id (BLOB / BYTEA); {without_rowid} is SQLite's
-- WITHOUT ROWID (empty on PostgreSQL); {seq} is an integer surrogate key
-- (SQLite's rowid alias, a PostgreSQL identity): the SQLite writer updates
-- balances by it, a cheaper seek than the 16-byte id. Amounts and balances are minor units in
-- BIGINT (the core keeps them <= i64::MAX); timestamps are nanoseconds.

CREATE TABLE ledger_accounts (
    seq {seq},
    id {id} NOT NULL UNIQUE,
    ledger BIGINT NOT NULL,
    code INTEGER NOT NULL,
    flags INTEGER NOT NULL,
    user_data {id} NOT NULL,
    debits_pending BIGINT NOT NULL,
    debits_posted BIGINT NOT NULL,
    credits_pending BIGINT NOT NULL,
    credits_posted BIGINT NOT NULL,
    timestamp BIGINT NOT NULL
);

CREATE TABLE ledger_transfers (
    id {id} PRIMARY KEY,
    debit_account_id {id} NOT NULL,
    credit_account_id {id} NOT NULL,
    amount BIGINT NOT NULL,
    pending_id {id},
    user_data {id} NOT NULL,
    code INTEGER NOT NULL,
    ledger BIGINT NOT NULL,
    flags INTEGER NOT NULL,
    timeout_s BIGINT NOT NULL,
    timestamp BIGINT NOT NULL
) {without_rowid};

-- One row per pending transfer: status 1 open, 2 posted, 3 voided, 4 expired.
CREATE TABLE ledger_pending (
    id {id} PRIMARY KEY,
    status SMALLINT NOT NULL,
    expires_at BIGINT NOT NULL
) {without_rowid};

CREATE INDEX ledger_pending_due ON ledger_pending (expires_at) WHERE status = 1 AND expires_at > 0;

-- Balances after each transfer, for accounts with the history flag.
CREATE TABLE ledger_account_history (
    account_id {id} NOT NULL,
    timestamp BIGINT NOT NULL,
    transfer_id {id} NOT NULL,
    debits_pending BIGINT NOT NULL,
    debits_posted BIGINT NOT NULL,
    credits_pending BIGINT NOT NULL,
    credits_posted BIGINT NOT NULL,
    PRIMARY KEY (account_id, timestamp)
) {without_rowid};

-- Plain rows of a transfer's width, for the benchmark's baseline only.
CREATE TABLE bench_plain_rows (
    id {id} PRIMARY KEY,
    debit_account_id {id} NOT NULL,
    credit_account_id {id} NOT NULL,
    amount BIGINT NOT NULL,
    pending_id {id},
    user_data {id} NOT NULL,
    code INTEGER NOT NULL,
    ledger BIGINT NOT NULL,
    flags INTEGER NOT NULL,
    timeout_s BIGINT NOT NULL,
    timestamp BIGINT NOT NULL
) {without_rowid};
