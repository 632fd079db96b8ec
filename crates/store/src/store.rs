//! The store: an engine plus the writer-side account cache.

use ledger::verify::{Report, Verifier};
use ledger::{
    Account, AccountId, BalanceSnapshot, CreateTransferResult, NewTransfer, Pending, Transfer,
    TransferId,
};

use crate::engine::Engine;
use crate::hash::IdMap;
use crate::host_rows::{HOST_BODY_LEN_MAX, HOST_KEY_LEN_MAX, HostRow, HostTable};
use crate::working::WorkingSet;
use crate::{Result, StoreError, WriteOp, WriteOutcome, pg, sqlite};

/// Which engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// SQLite, one file, WAL, `synchronous=FULL`.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A database opened by URL, with its migrations applied.
///
/// Writes go through [`Store::execute`] (or [`crate::Writer`]), which keeps
/// account balances cached in memory after the first write. On SQLite only
/// one `Store` may write a file. On PostgreSQL several may (several hosts,
/// an API process, `posbridge settle`): their batches take turns under a
/// lock, and a store that finds another process wrote since its last batch
/// reloads its cache first (see [`Store::execute`]).
pub struct Store {
    engine: Box<dyn Engine>,
    kind: EngineKind,
    cache: Option<IdMap<AccountId, Account>>,
    next_timestamp: u64,
    /// Per region of 2^64 ids (an id's upper half), the largest stored id
    /// in it (`None`: the region is empty), read on a region's first use
    /// and raised by every commit. No stored transfer of a region has a
    /// larger id (single writer), so idempotency lookups are needed only
    /// for ids up to it: ids that grow within their region (the host's
    /// retrieval-number ids below the seed's high funding ids) need none.
    transfer_id_max: Vec<(u64, Option<u128>)>,
    commits: u64,
    /// This store's token as the last writer (`ledger_writer`, where other
    /// processes may write too: PostgreSQL): the cache, `next_timestamp`
    /// and `transfer_id_max` hold only while the database still names it.
    writer_token: String,
    /// Batches are written without a commit of their own, until
    /// [`Store::commit_held`] (the group-commit writer, where the engine
    /// holds commits).
    holding: bool,
    /// Commits return before they are durable and a thread syncs them
    /// ([`Store::sync_behind`]).
    behind: Option<crate::sync_behind::SyncBehind>,
    /// The URL opened, for [`Store::open_beside`].
    url: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("kind", &self.kind)
            .field("commits", &self.commits)
            .finish()
    }
}

impl Store {
    /// Opens `url`: `sqlite:PATH`, a plain file path, or `postgres://…` /
    /// `postgresql://…` (a `?options=-c%20search_path%3Dname` query selects a
    /// schema). Creates the database file if needed and applies migrations.
    ///
    /// # Errors
    /// [`StoreError::Url`] for an unusable URL; database and migration errors.
    pub fn open(url: &str) -> Result<Self> {
        let (engine, kind): (Box<dyn Engine>, EngineKind) =
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                (Box::new(pg::Postgres::connect(url)?), EngineKind::Postgres)
            } else {
                let path = url
                    .strip_prefix("sqlite://")
                    .or_else(|| url.strip_prefix("sqlite:"))
                    .unwrap_or(url);
                if path.is_empty() || url.contains("://") && !url.starts_with("sqlite://") {
                    return Err(StoreError::Url(format!(
                        "{url}: expected sqlite:PATH, a path or postgres://"
                    )));
                }
                (Box::new(sqlite::Sqlite::open(path)?), EngineKind::Sqlite)
            };
        let mut store = Self {
            engine,
            kind,
            cache: None,
            next_timestamp: 0,
            transfer_id_max: Vec::new(),
            commits: 0,
            writer_token: writer_token(),
            holding: false,
            behind: None,
            url: url.to_owned(),
        };
        store.engine.migrate()?;
        Ok(store)
    }

    /// Another store on the same database (a connection of its own), for
    /// reads on another thread. (A store is always on a file or a server:
    /// SQLite in memory has no WAL, which [`Store::open`] requires.)
    ///
    /// # Errors
    /// As [`Store::open`].
    pub fn open_beside(&self) -> Result<Store> {
        Store::open(&self.url)
    }

    /// The engine.
    pub fn kind(&self) -> EngineKind {
        self.kind
    }

    /// Transactions committed by this store so far.
    pub fn commits(&self) -> u64 {
        self.commits
    }

    /// Executes one request in one transaction. See [`Store::execute`].
    ///
    /// # Errors
    /// Database errors; nothing is committed then.
    pub fn write(&mut self, ops: Vec<WriteOp>, now: u64) -> Result<Vec<WriteOutcome>> {
        let mut outcomes = self.execute(vec![ops], now)?;
        Ok(outcomes.pop().unwrap_or_default())
    }

    /// Executes several requests in ONE database transaction, in order, and
    /// commits once. Timestamps start at `now` (or just after the last batch's,
    /// if later) and advance by one per event. Ledger rejections are result
    /// codes in the outcomes and change nothing.
    ///
    /// # Errors
    /// Database errors: nothing of the batch is committed, and the cache is
    /// left as before.
    pub fn execute(
        &mut self,
        requests: Vec<Vec<WriteOp>>,
        now: u64,
    ) -> Result<Vec<Vec<WriteOutcome>>> {
        // Where other processes write too, the batch's transaction opens
        // here, under the batch lock, so everything below reads what the
        // last batch of any process left.
        let shared = self.engine.begin_batch()?;
        let mut claim = None;
        if let Some(start) = &shared
            && start.last_writer != self.writer_token
        {
            self.cache = None;
            claim = Some(self.writer_token.clone());
        }
        let result = self.execute_batch(requests, now, shared.map(|start| start.lease), claim);
        if result.is_err() {
            let _ = self.engine.abort_batch();
        }
        result
    }

    fn execute_batch(
        &mut self,
        requests: Vec<Vec<WriteOp>>,
        now: u64,
        mut lease: Option<(String, u64)>,
        writer_token: Option<String>,
    ) -> Result<Vec<Vec<WriteOutcome>>> {
        self.load_cache()?;
        let mut now = now.max(self.next_timestamp);
        let (transfers, pendings, due) = self.prefetch(&requests, now)?;
        let mut api =
            crate::api::ApiWorking::prefetch(self.engine.as_mut(), requests.iter().flatten())?;
        let mut runs = crate::settlement_runs::RunWorking::prefetch(
            self.engine.as_mut(),
            requests.iter().flatten(),
        )?;
        let cache = self.cache.as_ref().ok_or(StoreError::WriterStopped)?;
        let events = requests.iter().flatten().map(WriteOp::events).sum();
        let mut working = WorkingSet::new(cache, transfers, pendings, due, events);
        let mut history = Vec::new();
        let mut accepted = Accepted::default();
        let mut outcomes = Vec::with_capacity(requests.len());
        let mut lease_taken = false;
        for request in requests {
            if fence_refuses(self.engine.as_mut(), &mut lease, &request)? {
                // Decided under a lease that has moved on: nothing applied.
                let refused = request.iter().map(|op| match op {
                    WriteOp::Fence { .. } => WriteOutcome::Fence(false),
                    _ => WriteOutcome::Fenced,
                });
                outcomes.push(refused.collect());
                continue;
            }
            let mut request_outcomes = Vec::with_capacity(request.len());
            let mut request_rows = Deferred::default();
            for op in request {
                // Every event gets its own timestamp, also across requests.
                let events = op.events().max(1) as u64;
                if let WriteOp::HostRows(rows) = op {
                    request_rows.host.push((request_outcomes.len(), rows));
                    request_outcomes.push(WriteOutcome::HostRows(false));
                } else if let WriteOp::SettlementItems(items) = op {
                    request_rows.items.push((request_outcomes.len(), items));
                    request_outcomes.push(WriteOutcome::SettlementItems(false));
                } else {
                    let outcome = match op {
                        WriteOp::Api(write) => {
                            WriteOutcome::Api(api.apply(*write, &request_outcomes))
                        }
                        WriteOp::SettlementRun(write) => {
                            WriteOutcome::SettlementRun(runs.apply(*write, &request_outcomes))
                        }
                        WriteOp::Fence { .. } => WriteOutcome::Fence(true),
                        WriteOp::TakeLease { holder } => {
                            let current = match lease.take() {
                                Some(current) => current,
                                None => self.engine.lease()?,
                            };
                            let epoch = current.1.saturating_add(1);
                            lease = Some((holder, epoch));
                            lease_taken = true;
                            WriteOutcome::Lease { epoch }
                        }
                        op => apply_op(&mut working, op, now, &mut history),
                    };
                    request_outcomes.push(outcome);
                }
                now = now.saturating_add(events);
            }
            accept_rows(&mut request_outcomes, request_rows, &mut accepted);
            outcomes.push(request_outcomes);
        }
        let (mut staged, touched) = working.stage(history);
        staged.host_rows = accepted.host;
        staged.settlement_items = accepted.items;
        staged.api = api.into_staged();
        staged.settlement_runs = runs.into_staged();
        staged.lease = lease.filter(|_| lease_taken);
        staged.writer_token = writer_token;
        if self.holding {
            if let Err(error) = self.engine.write_held(&staged) {
                // The batches held before are undone with this one.
                self.forget_held_effects();
                return Err(error);
            }
        } else {
            self.engine.write(&staged)?;
            self.commits += 1;
            if let Some(behind) = &self.behind {
                behind.ask();
            }
        }
        self.next_timestamp = now;
        for transfer in &staged.transfers {
            let id = transfer.body.id.0;
            // A region not read yet is read from the database on first use.
            if let Some((_, max)) = self
                .transfer_id_max
                .iter_mut()
                .find(|(region, _)| *region == id_region(id))
            {
                *max = (*max).max(Some(id));
            }
        }
        let cache = self.cache.get_or_insert_with(IdMap::default);
        for account in touched {
            cache.insert(account.id, account);
        }
        Ok(outcomes)
    }

    fn load_cache(&mut self) -> Result<()> {
        if self.cache.is_some() {
            return Ok(());
        }
        self.engine.lock_writer()?;
        let mut cache = IdMap::default();
        for account in self.engine.accounts()? {
            cache.insert(account.id, account);
        }
        self.next_timestamp = self.engine.max_timestamp()?.saturating_add(1);
        self.transfer_id_max.clear();
        self.cache = Some(cache);
        Ok(())
    }

    /// Whether a transfer `id` may be stored: not when it is larger than
    /// every stored id of its region.
    fn may_exist(&mut self, id: TransferId) -> Result<bool> {
        let region = id_region(id.0);
        let known = self
            .transfer_id_max
            .iter()
            .find(|(r, _)| *r == region)
            .map(|(_, max)| *max);
        let max = match known {
            Some(max) => max,
            None => {
                let last = (u128::from(region) << 64) | u128::from(u64::MAX);
                let max = self
                    .engine
                    .max_transfer_id_upto(last)?
                    .filter(|max| id_region(*max) == region);
                self.transfer_id_max.push((region, max));
                max
            }
        };
        Ok(max.is_some_and(|max| id.0 <= max))
    }

    /// Reads the existing transfers and pending records a batch may need.
    fn prefetch(
        &mut self,
        requests: &[Vec<WriteOp>],
        now: u64,
    ) -> Result<(Vec<Transfer>, Vec<Pending>, Vec<Pending>)> {
        let mut ids = Vec::new();
        let mut pending_ids = Vec::new();
        let mut due_limit = 0usize;
        for op in requests.iter().flatten() {
            match op {
                WriteOp::CreateTransfers(batch) => collect_ids(batch, &mut ids, &mut pending_ids),
                WriteOp::ExpirePending { limit } => due_limit = due_limit.saturating_add(*limit),
                WriteOp::CreateAccounts(_)
                | WriteOp::HostRows(_)
                | WriteOp::SettlementItems(_)
                | WriteOp::SettlementRun(_)
                | WriteOp::Fence { .. }
                | WriteOp::TakeLease { .. }
                | WriteOp::Api(_) => {}
            }
        }
        let due = if due_limit == 0 {
            Vec::new()
        } else {
            self.engine.pendings_due(now, due_limit)?
        };
        let mut kept = Vec::with_capacity(ids.len());
        for id in ids {
            if self.may_exist(id)? {
                kept.push(id);
            }
        }
        let mut ids = kept;
        ids.extend(due.iter().map(|p| p.id));
        ids.sort_unstable();
        ids.dedup();
        let transfers = self.engine.transfers(&ids)?;
        pending_ids.sort_unstable();
        pending_ids.dedup();
        let pendings = if pending_ids.is_empty() {
            Vec::new()
        } else {
            self.engine.pendings(&pending_ids)?
        };
        Ok((transfers, pendings, due))
    }

    /// One account, read from the database.
    ///
    /// # Errors
    /// Database errors.
    pub fn account(&mut self, id: AccountId) -> Result<Option<Account>> {
        self.engine.account(id)
    }

    /// All accounts, read from the database.
    ///
    /// # Errors
    /// Database errors.
    pub fn accounts(&mut self) -> Result<Vec<Account>> {
        self.engine.accounts()
    }

    /// One transfer.
    ///
    /// # Errors
    /// Database errors.
    pub fn transfer(&mut self, id: TransferId) -> Result<Option<Transfer>> {
        Ok(self.engine.transfers(&[id])?.pop())
    }

    /// The state of a pending transfer.
    ///
    /// # Errors
    /// Database errors.
    pub fn pending(&mut self, id: TransferId) -> Result<Option<Pending>> {
        Ok(self.engine.pendings(&[id])?.pop())
    }

    /// Balance history of an account with the history flag, oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub fn history(&mut self, id: AccountId) -> Result<Vec<BalanceSnapshot>> {
        self.engine.history(id)
    }

    /// Checks every ledger invariant over the whole database (reads all of it).
    ///
    /// # Errors
    /// Database errors and undecodable rows.
    pub fn verify_ledger(&mut self) -> Result<Report> {
        self.engine.begin_snapshot()?;
        let read = self.read_for_verify();
        let ended = self.engine.end_snapshot();
        let verifier = read?;
        ended?;
        Ok(verifier.finish())
    }

    /// Reads the whole ledger into a verifier; call inside one snapshot.
    fn read_for_verify(&mut self) -> Result<Verifier> {
        let mut verifier = Verifier::default();
        self.engine
            .accounts()?
            .into_iter()
            .for_each(|a| verifier.account(a));
        self.engine
            .all_pendings()?
            .into_iter()
            .for_each(|p| verifier.pending(p));
        self.engine
            .for_each_transfer(&mut |t| verifier.transfer(&t))?;
        Ok(verifier)
    }

    /// Runs raw SQL. For operators' repairs and for tests that corrupt a
    /// database on purpose; the account cache is dropped.
    ///
    /// # Errors
    /// Database errors.
    #[doc(hidden)]
    pub fn execute_sql(&mut self, sql: &str) -> Result<()> {
        self.cache = None;
        self.engine.execute_sql(sql)
    }

    /// Every record of a terminal-host table, as (key, body), by key.
    ///
    /// # Errors
    /// Database errors.
    pub fn host_rows(&mut self, table: HostTable) -> Result<Vec<(String, String)>> {
        self.engine.host_rows(table)
    }

    /// For [`crate::Writer`]: commits return before they reach the disk;
    /// syncing the returned file makes every commit so far durable.
    pub(crate) fn defer_sync(&mut self) -> Result<Option<Box<dyn crate::engine::DurableSync>>> {
        self.engine.defer_sync()
    }

    /// From now on, commits return before they are durable, and a thread
    /// of the store's own syncs them after each: the sync of one commit
    /// overlaps the work on the next (a settlement run's chunks: about
    /// 9.5 MB of log each, whose commit took 10–13 ms with its sync). Until
    /// [`Store::end_sync_behind`], a crash of the machine may lose the last
    /// commits (never part of one, and never one without those before it);
    /// other connections see a commit before it is durable. Returns whether
    /// the engine can (SQLite on a file, PostgreSQL); if not, commits stay
    /// durable on return. The writer of a server must not use this: it has
    /// its own sync thread.
    ///
    /// # Errors
    /// Database errors; the thread could not be started.
    pub fn sync_behind(&mut self) -> Result<bool> {
        if self.behind.is_some() {
            return Ok(true);
        }
        let Some(sync) = self.engine.defer_sync_plain()? else {
            return Ok(false);
        };
        match crate::sync_behind::SyncBehind::start(sync) {
            Ok(behind) => {
                self.behind = Some(behind);
                Ok(true)
            }
            Err(error) => {
                self.engine.restore_sync()?;
                Err(error)
            }
        }
    }

    /// Ends [`Store::sync_behind`]: waits for the sync under way, and makes
    /// commits durable on return again. The next commit's sync makes every
    /// commit before it durable too.
    ///
    /// # Errors
    /// A sync that failed (the commits since the last good sync may not be
    /// on the disk); database errors.
    pub fn end_sync_behind(&mut self) -> Result<()> {
        let Some(behind) = self.behind.take() else {
            return Ok(());
        };
        let synced = behind.finish();
        self.engine.restore_sync()?;
        synced
    }

    /// For [`crate::Writer`]: from now on (`true`), while the engine allows
    /// it, each batch is written without a commit of its own, and
    /// [`Store::commit_held`] commits every batch written since in one
    /// transaction. `false` commits what is held first.
    ///
    /// # Errors
    /// As [`Store::commit_held`].
    pub(crate) fn hold_commits(&mut self, hold: bool) -> Result<bool> {
        if !hold {
            self.commit_held()?;
        }
        self.holding = hold && self.engine.holds_commits();
        Ok(self.holding)
    }

    /// Commits every batch written since the last commit (while holding).
    ///
    /// # Errors
    /// Database errors: none of those batches is committed then, and the
    /// cache is dropped (it held their effects), to be read again.
    pub(crate) fn commit_held(&mut self) -> Result<()> {
        if !self.holding {
            return Ok(());
        }
        match self.engine.commit_held() {
            Ok(committed) => {
                self.commits += u64::from(committed);
                Ok(())
            }
            Err(error) => {
                self.forget_held_effects();
                Err(error)
            }
        }
    }

    /// The held batches were rolled back: the cache and the known largest
    /// transfer ids held their effects, so they are read again.
    fn forget_held_effects(&mut self) {
        self.cache = None;
        self.transfer_id_max.clear();
    }

    /// For [`crate::Writer`]: commits are durable on return again.
    pub(crate) fn restore_sync(&mut self) -> Result<()> {
        self.engine.restore_sync()
    }

    pub(crate) fn engine_mut(&mut self) -> &mut dyn Engine {
        self.engine.as_mut()
    }
}

/// A token no other store has: the process, the time and a counter.
fn writer_token() -> String {
    static OPENED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let opened = OPENED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{nanos}-{opened}", std::process::id())
}

/// Whether `request` names a lease epoch that is not the lease's (read
/// from the engine on the first fence of a batch that began without it).
fn fence_refuses(
    engine: &mut dyn Engine,
    lease: &mut Option<(String, u64)>,
    request: &[WriteOp],
) -> Result<bool> {
    let Some(epoch) = request.iter().find_map(|op| match op {
        WriteOp::Fence { epoch } => Some(*epoch),
        _ => None,
    }) else {
        return Ok(false);
    };
    let current = match lease {
        Some(current) => current.1,
        None => lease.insert(engine.lease()?).1,
    };
    Ok(epoch != current)
}

fn collect_ids(
    batch: &[NewTransfer],
    ids: &mut Vec<TransferId>,
    pending_ids: &mut Vec<TransferId>,
) {
    for transfer in batch {
        ids.push(transfer.id);
        if transfer.pending_id.0 != 0 {
            ids.push(transfer.pending_id);
            pending_ids.push(transfer.pending_id);
        }
    }
}

fn apply_op(
    working: &mut WorkingSet<'_>,
    op: WriteOp,
    now: u64,
    history: &mut Vec<BalanceSnapshot>,
) -> WriteOutcome {
    match op {
        WriteOp::CreateAccounts(accounts) => {
            WriteOutcome::Accounts(ledger::create_accounts(working, &accounts, now))
        }
        WriteOp::CreateTransfers(transfers) => {
            let output = ledger::create_transfers(working, &transfers, now);
            history.extend(output.history);
            WriteOutcome::Transfers(output.results)
        }
        WriteOp::ExpirePending { limit } => {
            WriteOutcome::Expired(ledger::expire_pending(working, now, limit))
        }
        // Taken apart by `execute`: written only when the request's transfers were.
        WriteOp::HostRows(_) => WriteOutcome::HostRows(false),
        WriteOp::SettlementItems(_) => WriteOutcome::SettlementItems(false),
        WriteOp::SettlementRun(_) => WriteOutcome::SettlementRun(false),
        // Applied by `crate::api::ApiWorking` in `execute`.
        WriteOp::Api(_) => WriteOutcome::Api(crate::api::ApiOutcome::Exists),
        // Checked and applied by `execute`.
        WriteOp::Fence { .. } => WriteOutcome::Fence(true),
        WriteOp::TakeLease { .. } => WriteOutcome::Fenced,
    }
}

/// Rows of one request written only with its transfers, by position.
#[derive(Default)]
struct Deferred {
    host: Vec<(usize, Vec<HostRow>)>,
    items: Vec<(usize, Vec<crate::SettlementItem>)>,
}

/// Rows of a batch accepted for writing.
#[derive(Default)]
struct Accepted {
    host: Vec<HostRow>,
    items: Vec<crate::SettlementItem>,
}

/// Keeps a request's host records and settlement items when every transfer
/// of the request was created, every API write of it applied, and every row
/// is within its limits.
fn accept_rows(outcomes: &mut [WriteOutcome], rows: Deferred, accepted: &mut Accepted) {
    // An API write of the same request that was refused (a version
    // conflict, a resource that exists, an idempotency key taken) keeps the
    // rows out too: a resource and the host records it describes commit
    // together or not at all.
    let transfers_ok = outcomes.iter().all(|outcome| match outcome {
        WriteOutcome::Transfers(results) => results
            .iter()
            .all(|r| matches!(r, CreateTransferResult::Ok | CreateTransferResult::Exists)),
        WriteOutcome::Api(outcome) => matches!(outcome, crate::api::ApiOutcome::Applied { .. }),
        _ => true,
    });
    let within_limits = rows
        .host
        .iter()
        .flat_map(|(_, rows)| rows)
        .all(|row| row.key.len() <= HOST_KEY_LEN_MAX && row.body.len() <= HOST_BODY_LEN_MAX)
        && rows
            .items
            .iter()
            .flat_map(|(_, items)| items)
            .all(crate::SettlementItem::within_limits);
    if !(transfers_ok && within_limits) {
        return;
    }
    for (position, rows) in rows.host {
        if let Some(slot) = outcomes.get_mut(position) {
            *slot = WriteOutcome::HostRows(true);
        }
        accepted.host.extend(rows);
    }
    for (position, items) in rows.items {
        if let Some(slot) = outcomes.get_mut(position) {
            *slot = WriteOutcome::SettlementItems(true);
        }
        accepted.items.extend(items);
    }
}

/// The region of 2^64 transfer ids `id` falls in (its upper half).
fn id_region(id: u128) -> u64 {
    u64::try_from(id >> 64).unwrap_or(u64::MAX)
}
