-- The HTTP API's own tables: API keys, idempotency records, fee plans,
-- co-brand programs and the hash-chained audit log. Placeholders as in
-- 0001_ledger.sql; {id} is used for any short binary value (hashes).
-- Every integer is BIGINT so both engines read it as i64.

-- API keys: only SHA-256(pepper || key) is stored. `scope` is '' for
-- operator keys.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    key_hash {id} NOT NULL UNIQUE,
    role TEXT NOT NULL,
    scope TEXT NOT NULL,
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- The first successful response to a POST with an Idempotency-Key, per
-- API key; `fingerprint` is SHA-256 of method, path and body.
CREATE TABLE api_idempotency (
    key_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint {id} NOT NULL,
    status BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (key_id, idempotency_key)
);

-- Fee plans and co-brand programs, as the API's JSON documents (the host
-- translates them to and from the domain types).
CREATE TABLE api_fee_plans (
    code TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_programs (
    code TEXT PRIMARY KEY,
    bank TEXT NOT NULL,
    brand_partner TEXT NOT NULL,
    document TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- The audit log: hash = SHA-256(previous_hash || canonical bytes of the
-- event); the first event's previous_hash is 32 zero bytes.
CREATE TABLE audit_events (
    seq BIGINT PRIMARY KEY,
    time_ns BIGINT NOT NULL,
    actor_role TEXT NOT NULL,
    actor_scope TEXT NOT NULL,
    action TEXT NOT NULL,
    resource TEXT NOT NULL,
    details TEXT NOT NULL,
    previous_hash {id} NOT NULL,
    hash {id} NOT NULL
);

CREATE INDEX audit_events_resource ON audit_events (resource, seq);
