-- Settlement items indexed by business date and seq instead of the runs'
-- covering index of migration 6 (date, cycle, merchant, terminal, kind and
-- the sums). Runs no longer read that index: they read the presummed
-- partials (migration 10) and the raw items of the rest by seq. Writing it
-- cost the host more than anything else it writes: its entries are
-- ordered by merchant and terminal, so each item went to a leaf page of its
-- own (half of the pages every terminal commit wrote to the WAL). Entries
-- by (date, seq) are appended: the day's items go to the index's last page.
-- The daily report, the transaction list's items and a run's long gaps
-- read a date's items, or a seq range of them, by this index.

CREATE INDEX settlement_items_dated ON settlement_items (business_date, seq);
DROP INDEX settlement_items_runs;
