-- The platform's low-volume resources as versioned JSON documents:
-- merchants and their onboarding, contracts, terminals' registrations,
-- settlement accounts, bindings, approval requests, payouts and the like.
-- `kind` names the resource type, `id` is its id within the kind, `scope`
-- is the party that owns it (a MID, an account id; '' for none) and
-- `status` its state, so lists can filter without reading documents.
-- `version` starts at 1 and grows by one with every change: an update
-- names the version it read and is refused when another change came first.
CREATE TABLE api_resources (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    scope TEXT NOT NULL,
    status TEXT NOT NULL,
    version BIGINT NOT NULL,
    document TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);

CREATE INDEX api_resources_scope ON api_resources (kind, scope, id);
CREATE INDEX api_resources_status ON api_resources (kind, status, id);
