//! The HTTP API's storage: API keys, idempotency records, fee plans,
//! co-brand programs and the hash-chained audit log (migration 3).
//!
//! Writes are [`ApiWrite`]s inside [`crate::WriteOp::Api`]: a change, the
//! audit event that records it and the idempotency record of the request
//! that asked for it, committed together or not at all. The writer assigns
//! each audit event its `seq` and hash, so the chain has one head.
//! Reads are methods on [`Store`] used by the host's read connections.

use std::collections::HashSet;

mod chain;
mod engines;
mod resources;

use crate::engine::Engine;
use crate::{Result, Store, StoreError};

pub use chain::{canonical_bytes, chain_hash};
pub(crate) use engines::{write_pg, write_sqlite};
pub use resources::{ResourcePut, ResourceQuery, ResourceRow};

/// A SHA-256 value.
pub type Hash = [u8; 32];

/// An API key as stored: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRow {
    /// Public id of the key (shown in lists and audit events).
    pub id: String,
    /// SHA-256 of the server pepper and the key.
    pub key_hash: Hash,
    /// `operator`, `bank`, `brand`, `merchant` or `owner`.
    pub role: String,
    /// MID, owner party, bank or brand partner; empty for operators.
    pub scope: String,
    /// Free text naming the holder.
    pub label: String,
    /// Creation time, ns since the Unix epoch.
    pub created_at_ns: u64,
}

/// A stored JSON document with its key columns (fee plans, programs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRow {
    /// The resource's code (primary key).
    pub code: String,
    /// Owning bank (programs; empty for fee plans).
    pub bank: String,
    /// Brand partner (programs; empty for fee plans).
    pub brand_partner: String,
    /// The API's JSON representation.
    pub document: String,
    /// Creation time, ns since the Unix epoch.
    pub created_at_ns: u64,
}

/// The stored first response to an idempotent request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// The API key that made the request.
    pub key_id: String,
    /// The client's `Idempotency-Key`.
    pub idempotency_key: String,
    /// Keyed SHA-256 of the request (the server's pepper, method, path, body).
    pub fingerprint: Hash,
    /// HTTP status of the first response.
    pub status: u16,
    /// Body of the first response.
    pub body: String,
    /// Creation time, ns since the Unix epoch.
    pub created_at_ns: u64,
}

/// An audit event before the writer chains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When the change was asked for, ns since the Unix epoch.
    pub time_ns: u64,
    /// Role of the actor.
    pub actor_role: String,
    /// Scope of the actor (empty for operators and the system).
    pub actor_scope: String,
    /// What was done, e.g. `fee_plan.create`.
    pub action: String,
    /// What it was done to, e.g. `fee-plans/STANDARD`.
    pub resource: String,
    /// Details as canonical JSON (sorted keys, no spaces).
    pub details: String,
}

/// An audit event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// The event.
    pub entry: AuditEntry,
    /// Hash of the event before (zeros for the first).
    pub previous_hash: Hash,
    /// `SHA-256(previous_hash || canonical bytes)`.
    pub hash: Hash,
}

/// The change an [`ApiWrite`] makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiChange {
    /// No change of its own (an audit event or idempotency record for
    /// changes made by other operations of the same request).
    None,
    /// A new API key; refused when its id or hash exists.
    CreateApiKey(ApiKeyRow),
    /// A new fee plan; refused when its code exists.
    CreateFeePlan(DocumentRow),
    /// A new co-brand program; refused when its code exists.
    CreateProgram(DocumentRow),
    /// Creates or replaces versioned resources, all or none (see
    /// [`ResourcePut`]): `Exists` when a created one exists, `Conflict`
    /// when a replaced one is not at the version named.
    PutResources(Vec<ResourcePut>),
}

/// One API change with its audit event and idempotency record: all three
/// are written, or none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiWrite {
    /// The change.
    pub change: ApiChange,
    /// The audit event recording it.
    pub audit: Option<AuditEntry>,
    /// The response to replay for a repeat of the request.
    pub idempotency: Option<IdempotencyRecord>,
    /// Write nothing ([`ApiOutcome::Skipped`]) unless every earlier
    /// operation of the same request fully succeeded (see
    /// [`fully_applied`]): lets an endpoint append its audit event and
    /// idempotency record after its own operations in one request.
    pub only_after_success: bool,
}

/// Whether an operation's outcome changed what it was asked to change: every
/// account and transfer `Ok`, an API write applied. A new `WriteOutcome`
/// variant must be added here.
#[must_use]
pub fn fully_applied(outcome: &crate::WriteOutcome) -> bool {
    use crate::WriteOutcome;
    match outcome {
        WriteOutcome::Accounts(results) => results
            .iter()
            .all(|r| *r == ledger::CreateAccountResult::Ok),
        WriteOutcome::Transfers(results) => results
            .iter()
            .all(|r| *r == ledger::CreateTransferResult::Ok),
        WriteOutcome::Expired(_) => true,
        // Host records are accepted at the end of their request; an API
        // write in the same request sees them as not yet written.
        WriteOutcome::HostRows(written)
        | WriteOutcome::SettlementItems(written)
        | WriteOutcome::SettlementRun(written)
        | WriteOutcome::Fence(written) => *written,
        WriteOutcome::Lease { .. } => true,
        WriteOutcome::Fenced => false,
        WriteOutcome::Api(outcome) => matches!(outcome, ApiOutcome::Applied { .. }),
    }
}

/// The outcome of an [`ApiWrite`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiOutcome {
    /// Written; the audit event's seq when there was one.
    Applied {
        /// The seq given to the audit event.
        audit_seq: Option<u64>,
    },
    /// The resource exists already; nothing written.
    Exists,
    /// A resource to replace is not at the version the request read (a
    /// concurrent change came first) or is gone; nothing written.
    Conflict,
    /// The idempotency key was used already (a concurrent repeat); nothing
    /// written: read the stored record.
    IdempotencyTaken,
    /// An earlier operation of the request did not fully succeed and the
    /// write asked for `only_after_success`; nothing written.
    Skipped,
}

/// Where a chain verification stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    /// The seq at which the chain breaks.
    pub seq: u64,
    /// What is wrong there.
    pub reason: String,
}

/// The result of verifying the audit chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// Events read.
    pub events: u64,
    /// The last sound hash (zeros when empty): publish it to detect truncation.
    pub head: Hash,
    /// The first broken link, if any.
    pub broken: Option<BrokenLink>,
}

/// Filters of an audit listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only events with seq greater than this (the cursor).
    pub after_seq: u64,
    /// At most this many events.
    pub limit: u64,
    /// Only this action.
    pub action: Option<String>,
    /// Only this resource.
    pub resource: Option<String>,
    /// Only this actor role.
    pub actor_role: Option<String>,
}

/// A column value of the API tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Text(String),
    Int(i64),
    Bytes(Vec<u8>),
}

impl Value {
    pub(crate) fn text(self) -> Result<String> {
        match self {
            Value::Text(text) => Ok(text),
            other => Err(StoreError::Corrupt(format!("expected text, got {other:?}"))),
        }
    }
    pub(crate) fn int(self) -> Result<i64> {
        match self {
            Value::Int(value) => Ok(value),
            other => Err(StoreError::Corrupt(format!(
                "expected integer, got {other:?}"
            ))),
        }
    }
    fn hash(self) -> Result<Hash> {
        match self {
            Value::Bytes(bytes) => bytes
                .try_into()
                .map_err(|_| StoreError::Corrupt("hash of wrong length".into())),
            other => Err(StoreError::Corrupt(format!(
                "expected bytes, got {other:?}"
            ))),
        }
    }
    pub(crate) fn unsigned(self) -> Result<u64> {
        crate::codec::to_u64(self.int()?)
    }
}

/// What an engine offers the API tables: one query primitive. SQL uses
/// `?N` placeholders; the PostgreSQL engine rewrites them to `$N`.
pub(crate) trait ApiSql {
    /// Runs a statement and returns its rows.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>>;
}

fn int(value: u64) -> Value {
    Value::Int(crate::codec::to_i64(value))
}

/// Rows an API batch writes.
#[derive(Debug, Default)]
pub(crate) struct ApiStaged {
    keys: Vec<ApiKeyRow>,
    fee_plans: Vec<DocumentRow>,
    programs: Vec<DocumentRow>,
    idempotency: Vec<IdempotencyRecord>,
    audit: Vec<AuditEvent>,
    resources: Vec<(ResourceRow, bool)>,
}

/// A value that must be unique in the API tables.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Unique {
    KeyId(String),
    KeyHash(Hash),
    FeePlan(String),
    Program(String),
    Idempotency { key_id: String, key: String },
}

impl Unique {
    fn of_change(change: &ApiChange) -> Vec<Unique> {
        match change {
            ApiChange::None | ApiChange::PutResources(_) => Vec::new(),
            ApiChange::CreateApiKey(key) => {
                vec![Unique::KeyId(key.id.clone()), Unique::KeyHash(key.key_hash)]
            }
            ApiChange::CreateFeePlan(plan) => vec![Unique::FeePlan(plan.code.clone())],
            ApiChange::CreateProgram(program) => vec![Unique::Program(program.code.clone())],
        }
    }

    fn of_record(record: &IdempotencyRecord) -> Unique {
        Unique::Idempotency {
            key_id: record.key_id.clone(),
            key: record.idempotency_key.clone(),
        }
    }

    /// Whether the value is stored already.
    fn stored(&self, engine: &mut dyn Engine) -> Result<bool> {
        let text = |t: &String| Value::Text(t.clone());
        let (sql, params) = match self {
            Unique::KeyId(id) => ("SELECT 1 FROM api_keys WHERE id = ?1", vec![text(id)]),
            Unique::KeyHash(hash) => (
                "SELECT 1 FROM api_keys WHERE key_hash = ?1",
                vec![Value::Bytes(hash.to_vec())],
            ),
            Unique::FeePlan(code) => (
                "SELECT 1 FROM api_fee_plans WHERE code = ?1",
                vec![text(code)],
            ),
            Unique::Program(code) => (
                "SELECT 1 FROM api_programs WHERE code = ?1",
                vec![text(code)],
            ),
            Unique::Idempotency { key_id, key } => (
                "SELECT 1 FROM api_idempotency WHERE key_id = ?1 AND idempotency_key = ?2",
                vec![text(key_id), text(key)],
            ),
        };
        Ok(!engine.query(sql, &params)?.is_empty())
    }
}

/// The API part of one batch: the chain head and what exists.
#[derive(Debug, Default)]
pub(crate) struct ApiWorking {
    head: Option<(u64, Hash)>,
    taken: HashSet<Unique>,
    resources: resources::ResourceWorking,
    staged: ApiStaged,
}

impl ApiWorking {
    /// Reads the chain head and which of the batch's keys exist.
    pub fn prefetch<'a>(
        engine: &mut dyn Engine,
        ops: impl Iterator<Item = &'a crate::WriteOp>,
    ) -> Result<Self> {
        let mut working = Self::default();
        let mut any = false;
        for op in ops {
            let crate::WriteOp::Api(write) = op else {
                continue;
            };
            any = true;
            let mut uniques = Unique::of_change(&write.change);
            uniques.extend(write.idempotency.as_ref().map(Unique::of_record));
            for unique in uniques {
                if unique.stored(engine)? {
                    working.taken.insert(unique);
                }
            }
            if let ApiChange::PutResources(puts) = &write.change {
                working.resources.prefetch(engine, puts)?;
            }
        }
        if any {
            working.head = read_head(engine)?;
        }
        Ok(working)
    }

    /// Applies one write to the working set; `earlier` are the outcomes of
    /// the request's operations before it.
    pub fn apply(&mut self, write: ApiWrite, earlier: &[crate::WriteOutcome]) -> ApiOutcome {
        if write.only_after_success && !earlier.iter().all(fully_applied) {
            return ApiOutcome::Skipped;
        }
        if let Some(record) = &write.idempotency {
            if self.taken.contains(&Unique::of_record(record)) {
                return ApiOutcome::IdempotencyTaken;
            }
        }
        let uniques = Unique::of_change(&write.change);
        if uniques.iter().any(|unique| self.taken.contains(unique)) {
            return ApiOutcome::Exists;
        }
        let change = match write.change {
            ApiChange::PutResources(puts) => match self.resources.apply(puts) {
                Ok(()) => ApiChange::None,
                Err(resources::Refusal::Exists) => return ApiOutcome::Exists,
                Err(resources::Refusal::Conflict) => return ApiOutcome::Conflict,
            },
            other => other,
        };
        self.taken.extend(uniques);
        if let Some(record) = write.idempotency {
            self.taken.insert(Unique::of_record(&record));
            self.staged.idempotency.push(record);
        }
        match change {
            ApiChange::None | ApiChange::PutResources(_) => {}
            ApiChange::CreateApiKey(key) => self.staged.keys.push(key),
            ApiChange::CreateFeePlan(plan) => self.staged.fee_plans.push(plan),
            ApiChange::CreateProgram(program) => self.staged.programs.push(program),
        }
        let audit_seq = write.audit.map(|entry| self.chain(entry));
        ApiOutcome::Applied { audit_seq }
    }

    fn chain(&mut self, entry: AuditEntry) -> u64 {
        let (last_seq, previous_hash) = self.head.unwrap_or((0, [0; 32]));
        let seq = last_seq + 1;
        let hash = chain_hash(&previous_hash, seq, &entry);
        self.head = Some((seq, hash));
        self.staged.audit.push(AuditEvent {
            seq,
            entry,
            previous_hash,
            hash,
        });
        seq
    }

    /// The rows to write.
    pub fn into_staged(self) -> ApiStaged {
        ApiStaged {
            resources: self.resources.into_staged(),
            ..self.staged
        }
    }
}

fn read_head(engine: &mut dyn Engine) -> Result<Option<(u64, Hash)>> {
    let mut rows = engine.query(
        "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1",
        &[],
    )?;
    let Some(row) = rows.pop() else {
        return Ok(None);
    };
    let mut row = row.into_iter();
    let seq = next(&mut row)?.unsigned()?;
    let hash = next(&mut row)?.hash()?;
    Ok(Some((seq, hash)))
}

fn next(row: &mut impl Iterator<Item = Value>) -> Result<Value> {
    row.next()
        .ok_or_else(|| StoreError::Corrupt("missing column".into()))
}

/// Writes the staged rows with `execute` (inside the batch's transaction).
pub(crate) fn write_staged(
    staged: &ApiStaged,
    execute: &mut dyn FnMut(&str, &[Value]) -> Result<()>,
) -> Result<()> {
    for key in &staged.keys {
        execute(
            "INSERT INTO api_keys (id, key_hash, role, scope, label, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &[
                Value::Text(key.id.clone()),
                Value::Bytes(key.key_hash.to_vec()),
                Value::Text(key.role.clone()),
                Value::Text(key.scope.clone()),
                Value::Text(key.label.clone()),
                int(key.created_at_ns),
            ],
        )?;
    }
    for plan in &staged.fee_plans {
        execute(
            "INSERT INTO api_fee_plans (code, document, created_at) VALUES (?1, ?2, ?3)",
            &[
                Value::Text(plan.code.clone()),
                Value::Text(plan.document.clone()),
                int(plan.created_at_ns),
            ],
        )?;
    }
    for program in &staged.programs {
        execute(
            "INSERT INTO api_programs (code, bank, brand_partner, document, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            &[
                Value::Text(program.code.clone()),
                Value::Text(program.bank.clone()),
                Value::Text(program.brand_partner.clone()),
                Value::Text(program.document.clone()),
                int(program.created_at_ns),
            ],
        )?;
    }
    resources::write_staged(&staged.resources, execute)?;
    for record in &staged.idempotency {
        execute(
            "INSERT INTO api_idempotency (key_id, idempotency_key, fingerprint, status, body, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &[
                Value::Text(record.key_id.clone()),
                Value::Text(record.idempotency_key.clone()),
                Value::Bytes(record.fingerprint.to_vec()),
                Value::Int(i64::from(record.status)),
                Value::Text(record.body.clone()),
                int(record.created_at_ns),
            ],
        )?;
    }
    for event in &staged.audit {
        let e = &event.entry;
        execute(
            "INSERT INTO audit_events (seq, time_ns, actor_role, actor_scope, action, resource, details, \
             previous_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            &[
                int(event.seq),
                int(e.time_ns),
                Value::Text(e.actor_role.clone()),
                Value::Text(e.actor_scope.clone()),
                Value::Text(e.action.clone()),
                Value::Text(e.resource.clone()),
                Value::Text(e.details.clone()),
                Value::Bytes(event.previous_hash.to_vec()),
                Value::Bytes(event.hash.to_vec()),
            ],
        )?;
    }
    Ok(())
}

const KEY_COLUMNS: &str = "id, key_hash, role, scope, label, created_at";
const AUDIT_COLUMNS: &str =
    "seq, time_ns, actor_role, actor_scope, action, resource, details, previous_hash, hash";

fn key_from(row: Vec<Value>) -> Result<ApiKeyRow> {
    let mut row = row.into_iter();
    Ok(ApiKeyRow {
        id: next(&mut row)?.text()?,
        key_hash: next(&mut row)?.hash()?,
        role: next(&mut row)?.text()?,
        scope: next(&mut row)?.text()?,
        label: next(&mut row)?.text()?,
        created_at_ns: next(&mut row)?.unsigned()?,
    })
}

fn document_from(row: Vec<Value>) -> Result<DocumentRow> {
    let mut row = row.into_iter();
    Ok(DocumentRow {
        code: next(&mut row)?.text()?,
        bank: next(&mut row)?.text()?,
        brand_partner: next(&mut row)?.text()?,
        document: next(&mut row)?.text()?,
        created_at_ns: next(&mut row)?.unsigned()?,
    })
}

fn event_from(row: Vec<Value>) -> Result<AuditEvent> {
    let mut row = row.into_iter();
    let seq = next(&mut row)?.unsigned()?;
    let entry = AuditEntry {
        time_ns: next(&mut row)?.unsigned()?,
        actor_role: next(&mut row)?.text()?,
        actor_scope: next(&mut row)?.text()?,
        action: next(&mut row)?.text()?,
        resource: next(&mut row)?.text()?,
        details: next(&mut row)?.text()?,
    };
    Ok(AuditEvent {
        seq,
        entry,
        previous_hash: next(&mut row)?.hash()?,
        hash: next(&mut row)?.hash()?,
    })
}

/// Audit events read per query while verifying.
const VERIFY_PAGE_EVENTS: i64 = 1_000;

impl Store {
    fn api_query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>> {
        self.engine_mut().query(sql, params)
    }

    /// The API key with this hash.
    ///
    /// # Errors
    /// Database errors.
    pub fn api_key_by_hash(&mut self, key_hash: &Hash) -> Result<Option<ApiKeyRow>> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = ?1");
        let rows = self.api_query(&sql, &[Value::Bytes(key_hash.to_vec())])?;
        rows.into_iter().next().map(key_from).transpose()
    }

    /// The stored response of an idempotent request.
    ///
    /// # Errors
    /// Database errors.
    pub fn idempotency_record(
        &mut self,
        key_id: &str,
        idempotency_key: &str,
    ) -> Result<Option<IdempotencyRecord>> {
        let rows = self.api_query(
            "SELECT fingerprint, status, body, created_at FROM api_idempotency \
             WHERE key_id = ?1 AND idempotency_key = ?2",
            &[
                Value::Text(key_id.to_owned()),
                Value::Text(idempotency_key.to_owned()),
            ],
        )?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let mut row = row.into_iter();
        Ok(Some(IdempotencyRecord {
            key_id: key_id.to_owned(),
            idempotency_key: idempotency_key.to_owned(),
            fingerprint: next(&mut row)?.hash()?,
            status: crate::codec::narrow(next(&mut row)?.int()?, "status")?,
            body: next(&mut row)?.text()?,
            created_at_ns: next(&mut row)?.unsigned()?,
        }))
    }

    /// One fee plan.
    ///
    /// # Errors
    /// Database errors.
    pub fn fee_plan(&mut self, code: &str) -> Result<Option<DocumentRow>> {
        let rows = self.api_query(
            "SELECT code, '', '', document, created_at FROM api_fee_plans WHERE code = ?1",
            &[Value::Text(code.to_owned())],
        )?;
        rows.into_iter().next().map(document_from).transpose()
    }

    /// Fee plans with codes after `after`, in code order, at most `limit`.
    ///
    /// # Errors
    /// Database errors.
    pub fn fee_plans(&mut self, after: &str, limit: u64) -> Result<Vec<DocumentRow>> {
        let rows = self.api_query(
            "SELECT code, '', '', document, created_at FROM api_fee_plans WHERE code > ?1 \
             ORDER BY code LIMIT ?2",
            &[Value::Text(after.to_owned()), int(limit)],
        )?;
        rows.into_iter().map(document_from).collect()
    }

    /// One co-brand program.
    ///
    /// # Errors
    /// Database errors.
    pub fn program(&mut self, code: &str) -> Result<Option<DocumentRow>> {
        let rows = self.api_query(
            "SELECT code, bank, brand_partner, document, created_at FROM api_programs WHERE code = ?1",
            &[Value::Text(code.to_owned())],
        )?;
        rows.into_iter().next().map(document_from).transpose()
    }

    /// Audit events matching `filter`, in seq order.
    ///
    /// # Errors
    /// Database errors.
    pub fn audit_events(&mut self, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        let mut sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_events WHERE seq > ?1");
        let mut params = vec![int(filter.after_seq)];
        for (column, value) in [
            ("action", &filter.action),
            ("resource", &filter.resource),
            ("actor_role", &filter.actor_role),
        ] {
            if let Some(value) = value {
                params.push(Value::Text(value.clone()));
                sql.push_str(&format!(" AND {column} = ?{}", params.len()));
            }
        }
        params.push(int(filter.limit));
        sql.push_str(&format!(" ORDER BY seq LIMIT ?{}", params.len()));
        let rows = self.api_query(&sql, &params)?;
        rows.into_iter().map(event_from).collect()
    }

    /// The seq of the audit event with this hash, if any.
    ///
    /// # Errors
    /// Database errors.
    pub fn audit_seq_of_hash(&mut self, hash: &Hash) -> Result<Option<u64>> {
        let rows = self.api_query(
            "SELECT seq FROM audit_events WHERE hash = ?1",
            &[Value::Bytes(hash.to_vec())],
        )?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        Ok(Some(next(&mut row.into_iter())?.unsigned()?))
    }

    /// Walks the whole audit chain in one snapshot and reports the first
    /// broken link: a missing or reordered seq, a `previous_hash` that is not
    /// the hash before, or a hash that does not match the event's content.
    ///
    /// # Errors
    /// Database errors and undecodable rows.
    pub fn verify_audit(&mut self) -> Result<AuditReport> {
        self.engine_mut().begin_snapshot()?;
        let report = self.walk_audit();
        let ended = self.engine_mut().end_snapshot();
        let report = report?;
        ended?;
        Ok(report)
    }

    fn walk_audit(&mut self) -> Result<AuditReport> {
        let mut report = AuditReport {
            events: 0,
            head: [0; 32],
            broken: None,
        };
        let mut after: i64 = 0;
        loop {
            let sql = format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE seq > ?1 ORDER BY seq LIMIT ?2"
            );
            let rows =
                self.api_query(&sql, &[Value::Int(after), Value::Int(VERIFY_PAGE_EVENTS)])?;
            if rows.is_empty() {
                return Ok(report);
            }
            for row in rows {
                let event = event_from(row)?;
                after = crate::codec::to_i64(event.seq);
                if let Some(reason) = check_link(&report, &event) {
                    report.broken = Some(BrokenLink {
                        seq: report.events + 1,
                        reason,
                    });
                    return Ok(report);
                }
                report.events += 1;
                report.head = event.hash;
            }
        }
    }
}

fn check_link(report: &AuditReport, event: &AuditEvent) -> Option<String> {
    let expected = report.events + 1;
    if event.seq != expected {
        return Some(format!(
            "expected event {expected}, found event {}: events were removed or reordered",
            event.seq
        ));
    }
    if event.previous_hash != report.head {
        return Some(format!(
            "event {} does not link to the hash of event {}: events were removed, inserted or reordered",
            event.seq, report.events
        ));
    }
    if chain_hash(&event.previous_hash, event.seq, &event.entry) != event.hash {
        return Some(format!(
            "event {} does not match its hash: it was edited",
            event.seq
        ));
    }
    None
}
