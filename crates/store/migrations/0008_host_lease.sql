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

-- The writer (a store's token, unique per opened store) that committed
-- the last ledger batch. Read by every batch under the batch lock: a writer
-- that finds another token than its own knows another process wrote since
-- its last batch, reloads what it caches (account balances, the largest
-- transfer id, the last timestamp) before it applies anything, and writes
-- its own token in that batch. While one writer works alone, nothing here
-- is written.
CREATE TABLE ledger_writer (
    id BIGINT PRIMARY KEY,
    token TEXT NOT NULL
);
INSERT INTO ledger_writer (id, token) VALUES (1, '');
