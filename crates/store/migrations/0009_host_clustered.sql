-- The host's record tables clustered on their key. Their rows were kept
-- in a rowid table plus a separate index on the text key, so every record
-- written or replaced touched two B-trees; clustered on the key (SQLite's
-- WITHOUT ROWID) it touches one, which roughly halves the pages a commit
-- writes to the WAL for them. On PostgreSQL the tables are rebuilt as they
-- were (a heap and its primary-key index). Rows, keys and bodies are kept
-- as they are: every reader of these tables is unchanged. (On PostgreSQL
-- the primary keys keep the names they were created with,
-- `host_*_clustered_pkey`.)

CREATE TABLE host_merchants_clustered (key TEXT PRIMARY KEY, body TEXT NOT NULL) {without_rowid};
INSERT INTO host_merchants_clustered (key, body) SELECT key, body FROM host_merchants;
DROP TABLE host_merchants;
ALTER TABLE host_merchants_clustered RENAME TO host_merchants;

CREATE TABLE host_terminals_clustered (key TEXT PRIMARY KEY, body TEXT NOT NULL) {without_rowid};
INSERT INTO host_terminals_clustered (key, body) SELECT key, body FROM host_terminals;
DROP TABLE host_terminals;
ALTER TABLE host_terminals_clustered RENAME TO host_terminals;

CREATE TABLE host_cards_clustered (key TEXT PRIMARY KEY, body TEXT NOT NULL) {without_rowid};
INSERT INTO host_cards_clustered (key, body) SELECT key, body FROM host_cards;
DROP TABLE host_cards;
ALTER TABLE host_cards_clustered RENAME TO host_cards;

CREATE TABLE host_transactions_clustered (key TEXT PRIMARY KEY, body TEXT NOT NULL) {without_rowid};
INSERT INTO host_transactions_clustered (key, body) SELECT key, body FROM host_transactions;
DROP TABLE host_transactions;
ALTER TABLE host_transactions_clustered RENAME TO host_transactions;

CREATE TABLE host_duplicates_clustered (key TEXT PRIMARY KEY, body TEXT NOT NULL) {without_rowid};
INSERT INTO host_duplicates_clustered (key, body) SELECT key, body FROM host_duplicates;
DROP TABLE host_duplicates;
ALTER TABLE host_duplicates_clustered RENAME TO host_duplicates;

CREATE TABLE host_reversals_clustered (key TEXT PRIMARY KEY, body TEXT NOT NULL) {without_rowid};
INSERT INTO host_reversals_clustered (key, body) SELECT key, body FROM host_reversals;
DROP TABLE host_reversals;
ALTER TABLE host_reversals_clustered RENAME TO host_reversals;

CREATE TABLE host_batches_clustered (key TEXT PRIMARY KEY, body TEXT NOT NULL) {without_rowid};
INSERT INTO host_batches_clustered (key, body) SELECT key, body FROM host_batches;
DROP TABLE host_batches;
ALTER TABLE host_batches_clustered RENAME TO host_batches;

CREATE TABLE host_ksn_usage_clustered (key TEXT PRIMARY KEY, body TEXT NOT NULL) {without_rowid};
INSERT INTO host_ksn_usage_clustered (key, body) SELECT key, body FROM host_ksn_usage;
DROP TABLE host_ksn_usage;
ALTER TABLE host_ksn_usage_clustered RENAME TO host_ksn_usage;

CREATE TABLE host_exceptions_clustered (key TEXT PRIMARY KEY, body TEXT NOT NULL) {without_rowid};
INSERT INTO host_exceptions_clustered (key, body) SELECT key, body FROM host_exceptions;
DROP TABLE host_exceptions;
ALTER TABLE host_exceptions_clustered RENAME TO host_exceptions;

CREATE TABLE host_network_reversals_clustered (key TEXT PRIMARY KEY, body TEXT NOT NULL) {without_rowid};
INSERT INTO host_network_reversals_clustered (key, body) SELECT key, body FROM host_network_reversals;
DROP TABLE host_network_reversals;
ALTER TABLE host_network_reversals_clustered RENAME TO host_network_reversals;

CREATE TABLE host_settings_clustered (key TEXT PRIMARY KEY, body TEXT NOT NULL) {without_rowid};
INSERT INTO host_settings_clustered (key, body) SELECT key, body FROM host_settings;
DROP TABLE host_settings;
ALTER TABLE host_settings_clustered RENAME TO host_settings;
