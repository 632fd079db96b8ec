-- Settlement runs: one per business date and cycle (`run_id` is derived
-- from both, so asking for a run again finds the same one). A run settles
-- the items of its date and cycle in passes: a pass covers the items with
-- `covered_seq < seq <= pass_to_seq` (the item `seq` watermark read when the
-- pass started), so a T+0 run grows pass by pass all day and a late item
-- of a T+1 date is settled by a later pass, never lost and never twice.
-- A pass is written in chunks of merchants (in MID order); each chunk's
-- commit also records `pass_done_mid`, the last MID it settled, so a run
-- stopped in the middle resumes after that MID. `status` is `running`
-- while a pass is open and `settled` between passes.
CREATE TABLE settlement_runs (
    run_id TEXT PRIMARY KEY,
    business_date TEXT NOT NULL,
    cycle TEXT NOT NULL,
    status TEXT NOT NULL,
    passes BIGINT NOT NULL,
    covered_seq BIGINT NOT NULL,
    pass_to_seq BIGINT NOT NULL,
    pass_done_mid TEXT NOT NULL,
    settlements BIGINT NOT NULL,
    items BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (business_date, cycle)
);

-- One row per merchant and pass of a run: the sums of its items (amounts
-- in minor units, signed as in `settlement_items`: refunds and
-- chargebacks here are positive amounts taken off), its net and what was
-- done with it (`payout`, `auto_debit`, `held`, `nothing`, `unbound`: no
-- binding in force, or `no_ledger_account`). `key` is
-- `run_id/pass/mid` with the pass zero-padded, the order of lists.
CREATE TABLE settlements (
    key TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    pass BIGINT NOT NULL,
    mid TEXT NOT NULL,
    business_date TEXT NOT NULL,
    cycle TEXT NOT NULL,
    items BIGINT NOT NULL,
    captures_minor BIGINT NOT NULL,
    refunds_minor BIGINT NOT NULL,
    fees_minor BIGINT NOT NULL,
    chargebacks_minor BIGINT NOT NULL,
    adjustments_minor BIGINT NOT NULL,
    discounts_minor BIGINT NOT NULL,
    fee_share_minor BIGINT NOT NULL,
    points BIGINT NOT NULL,
    net_minor BIGINT NOT NULL,
    outcome TEXT NOT NULL
);

CREATE INDEX settlements_by_date ON settlements (business_date, mid, key);
CREATE INDEX settlements_by_mid ON settlements (mid, key);

-- The legs of a merchant's settlement: what each bound account gets
-- (`credit`), owes (`debit`, an auto-debit of a negative net) or would get
-- while the merchant is held by risk (`held`); `amount_minor` is positive.
-- `transfer_id` is the ledger transfer that moved it between the
-- merchant's payable account and the account's payout clearing account;
-- `payout_id` the payout instruction (`payout` resource) it is part of.
CREATE TABLE settlement_legs (
    key TEXT NOT NULL,
    account TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    payout_id TEXT NOT NULL,
    transfer_id {id} NOT NULL,
    PRIMARY KEY (key, account, kind)
);

CREATE INDEX settlement_legs_payout ON settlement_legs (payout_id);

-- The runs' aggregation reads items by date, cycle, merchant, terminal and
-- kind and sums their amounts: an index holding every column it reads lets
-- the engine sum in index order without visiting the table (about twice as
-- fast on SQLite). It replaces the narrower index of migration 5, which is
-- its prefix, so items keep one index beside their key.
CREATE INDEX settlement_items_runs ON settlement_items (business_date, cycle, mid, tid, kind,
    amount_minor, fee_minor, discount_minor, fee_share_minor, points);
DROP INDEX settlement_items_due;
