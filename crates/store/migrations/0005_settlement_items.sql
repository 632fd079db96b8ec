-- Settlement items: one row for every movement of money a merchant is
-- settled for (a capture, a refund, a void or reversal of a capture, a
-- chargeback, an adjustment), written by the host in the same transaction
-- as the transaction record and its ledger transfers. Settlement runs
-- aggregate them by merchant, business date and cycle.
-- `item_id` is the idempotency key (e.g. `RRN/kind`): writing an item twice
-- keeps the first. Amounts are signed minor units from the merchant's side:
-- a capture is positive, a refund or void negative; `fee_minor` is the
-- merchant discount fee charged (negative when a fee is given back);
-- `discount_minor` the brand-funded instant discount; `fee_share_minor` the
-- part of the fee owed to a brand partner; `points` the points accrued.
CREATE TABLE settlement_items (
    seq {seq},
    item_id TEXT NOT NULL UNIQUE,
    mid TEXT NOT NULL,
    tid TEXT NOT NULL,
    rrn TEXT NOT NULL,
    business_date TEXT NOT NULL,
    cycle TEXT NOT NULL,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    fee_minor BIGINT NOT NULL,
    discount_minor BIGINT NOT NULL,
    fee_share_minor BIGINT NOT NULL,
    points BIGINT NOT NULL,
    program TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX settlement_items_due ON settlement_items (business_date, cycle, mid);
