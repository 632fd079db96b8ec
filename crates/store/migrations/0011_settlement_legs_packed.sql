-- Settlements clustered on their key, each row carrying its legs. A
-- merchant's settlement was a row in a rowid table with its key index and
-- two more indexes, plus a row per leg in `settlement_legs` with its key
-- index and a payout index (read by nothing): seven B-trees touched per
-- merchant settled. Now it is one row in a table clustered on `key`
-- (SQLite's WITHOUT ROWID; PostgreSQL keeps a heap and its primary key)
-- and the two list indexes: three.
--
-- `legs` is the legs in one text: legs separated by `;`, fields by `,`:
-- account, kind, amount_minor (decimal), payout_id, transfer_id (32 hex
-- digits, big-endian); in account and kind and payout_id `%`, `,` and `;`
-- are written `%25`, `%2C` and `%3B`. Empty: no legs. Readers order the
-- legs by account and kind (the primary key's order of the old table).
-- Existing legs are packed here.
CREATE TABLE settlements_packed (
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
    outcome TEXT NOT NULL,
    legs TEXT NOT NULL
) {without_rowid};

INSERT INTO settlements_packed (key, run_id, pass, mid, business_date, cycle, items,
    captures_minor, refunds_minor, fees_minor, chargebacks_minor, adjustments_minor,
    discounts_minor, fee_share_minor, points, net_minor, outcome, legs)
SELECT s.key, s.run_id, s.pass, s.mid, s.business_date, s.cycle, s.items,
    s.captures_minor, s.refunds_minor, s.fees_minor, s.chargebacks_minor, s.adjustments_minor,
    s.discounts_minor, s.fee_share_minor, s.points, s.net_minor, s.outcome,
    COALESCE((SELECT {string_agg}(
        replace(replace(replace(l.account, '%', '%25'), ',', '%2C'), ';', '%3B') || ',' ||
        replace(replace(replace(l.kind, '%', '%25'), ',', '%2C'), ';', '%3B') || ',' ||
        CAST(l.amount_minor AS TEXT) || ',' ||
        replace(replace(replace(l.payout_id, '%', '%25'), ',', '%2C'), ';', '%3B') || ',' ||
        {hex_of}l.transfer_id{hex_end}, ';')
        FROM settlement_legs l WHERE l.key = s.key), '')
FROM settlements s;

DROP TABLE settlement_legs;
DROP TABLE settlements;
ALTER TABLE settlements_packed RENAME TO settlements;
CREATE INDEX settlements_by_date ON settlements (business_date, mid, key);
CREATE INDEX settlements_by_mid ON settlements (mid, key);
