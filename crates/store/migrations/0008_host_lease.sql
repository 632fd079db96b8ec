-- The active host's lease. Several hosts may run on one PostgreSQL
-- database, but only the lease's holder serves terminals: a host that gets
-- a request while it does not hold the lease takes it over (`epoch` + 1,
-- written by its store writer as `WriteOp::TakeLease`) and reloads its
-- state. Every request carrying a host's decisions names the epoch it was
-- decided under (`WriteOp::Fence`); the writer refuses, unwritten, those
-- whose epoch is no longer the lease's. One row, id 1; epoch 0: never held.
CREATE TABLE host_lease (
    id BIGINT PRIMARY KEY,
    holder TEXT NOT NULL,
    epoch BIGINT NOT NULL
);
INSERT INTO host_lease (id, holder, epoch) VALUES (1, '', 0);

-- Every ledger batch of every writer process adds one to `seq`, inside
-- its transaction and under the batch lock. A writer that finds another
-- value than the one it wrote last knows another process wrote in between,
-- and reloads what it caches (account balances, the largest transfer id,
-- the last timestamp) before it applies anything.
CREATE TABLE ledger_writes (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL
);
INSERT INTO ledger_writes (id, seq) VALUES (1, 0);
