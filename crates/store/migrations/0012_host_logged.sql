-- The answered requests (`host_duplicates`) and the KSNs used
-- (`host_ksn_usage`) as append-only logs. Their keys (TID/STAN/DE 7, a
-- KSN) are spread over every terminal's range, so each record written
-- touched a leaf page of its own: a commit of n requests wrote about 2n
-- pages of these two tables to the WAL. Kept in write order under an
-- integer sequence, a commit appends its records to the last page.
-- A key's last row is its value (readers fold the log, see
-- `HostTable::logged`); these records are written once per key in
-- practice (a repeated request is answered from the stored answer, not
-- decided again), so the logs hold no superseded rows to speak of.
-- Existing rows are copied in key order: each key is there once.

CREATE TABLE host_duplicates_log (seq {seq}, key TEXT NOT NULL, body TEXT NOT NULL);
INSERT INTO host_duplicates_log (key, body) SELECT key, body FROM host_duplicates ORDER BY key;
DROP TABLE host_duplicates;
ALTER TABLE host_duplicates_log RENAME TO host_duplicates;

CREATE TABLE host_ksn_usage_log (seq {seq}, key TEXT NOT NULL, body TEXT NOT NULL);
INSERT INTO host_ksn_usage_log (key, body) SELECT key, body FROM host_ksn_usage ORDER BY key;
DROP TABLE host_ksn_usage;
ALTER TABLE host_ksn_usage_log RENAME TO host_ksn_usage;
