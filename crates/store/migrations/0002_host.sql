-- The terminal host's records (posbridge serve). Shared by both engines.
-- Each table is keyed by a text key and holds the host's record as text
-- (`name=value` pairs joined by `;`, written and read by the `host` crate's
-- `records` module). Records are written by the single writer in the same
-- transaction as the ledger transfers they belong to. No clear PAN, track 2,
-- PIN block or key is ever stored: cards are keyed by vault token and hold
-- the PAN only as vault ciphertext.

-- key: MID
CREATE TABLE host_merchants (key TEXT PRIMARY KEY, body TEXT NOT NULL);
-- key: TID
CREATE TABLE host_terminals (key TEXT PRIMARY KEY, body TEXT NOT NULL);
-- key: vault token (hex)
CREATE TABLE host_cards (key TEXT PRIMARY KEY, body TEXT NOT NULL);
-- key: RRN (12 characters, assigned by the host)
CREATE TABLE host_transactions (key TEXT PRIMARY KEY, body TEXT NOT NULL);
-- key: TID/STAN/DE 7 of an answered request; body: the stored response fields
CREATE TABLE host_duplicates (key TEXT PRIMARY KEY, body TEXT NOT NULL);
-- key: TID/original MTI/STAN/DE 7 of a reversal (also one that came first)
CREATE TABLE host_reversals (key TEXT PRIMARY KEY, body TEXT NOT NULL);
-- key: TID/batch number
CREATE TABLE host_batches (key TEXT PRIMARY KEY, body TEXT NOT NULL);
-- key: KSN (20 hex characters); body: the request it was used for
CREATE TABLE host_ksn_usage (key TEXT PRIMARY KEY, body TEXT NOT NULL);
-- key: TID/batch number of a 0500 that did not balance
CREATE TABLE host_exceptions (key TEXT PRIMARY KEY, body TEXT NOT NULL);
-- key: RRN of an off-us request the network did not answer
CREATE TABLE host_network_reversals (key TEXT PRIMARY KEY, body TEXT NOT NULL);
-- key: a setting's name (e.g. `sandbox`)
CREATE TABLE host_settings (key TEXT PRIMARY KEY, body TEXT NOT NULL);
