-- Settlement partials: the day's settlement items summed ahead of the
-- runs, like a materialized view refreshed by a job. A presum step sums the
-- items with `from_seq < seq <= to_seq` by business date, cycle, merchant,
-- terminal and kind (what a run's pass groups by) in ONE statement and
-- records the range in `settlement_presum_ranges`, in one transaction, so a
-- range is there whole or not at all. Ranges are contiguous from seq 0
-- (or from the watermark at this migration, below)
-- (`from_seq` of a range is the `to_seq` of the one before; both unique, so
-- two steps can never write the same range). Small neighbouring ranges are
-- merged into one (their partials summed again, the old rows deleted) in
-- one transaction too. A pass sums the partials of the ranges wholly inside
-- its seq range and the raw items of the rest.
CREATE TABLE settlement_presum_ranges (
    to_seq BIGINT PRIMARY KEY,
    from_seq BIGINT NOT NULL UNIQUE,
    items BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE settlement_partials (
    business_date TEXT NOT NULL,
    cycle TEXT NOT NULL,
    mid TEXT NOT NULL,
    tid TEXT NOT NULL,
    kind TEXT NOT NULL,
    to_seq BIGINT NOT NULL,
    items BIGINT NOT NULL,
    amount_minor BIGINT NOT NULL,
    fee_minor BIGINT NOT NULL,
    discount_minor BIGINT NOT NULL,
    fee_share_minor BIGINT NOT NULL,
    points BIGINT NOT NULL,
    PRIMARY KEY (business_date, cycle, mid, tid, kind, to_seq)
) {without_rowid};

CREATE INDEX settlement_partials_range ON settlement_partials (to_seq);

-- A database with items already: presums start after them (a seed range
-- ending at the current watermark, from_seq -1, no partials, never merged),
-- so the first step does not sum the history;
-- passes read items before it as they did before presums.
INSERT INTO settlement_presum_ranges (to_seq, from_seq, items, created_at)
SELECT MAX(seq), -1, 0, 0 FROM settlement_items HAVING COUNT(*) > 0;
