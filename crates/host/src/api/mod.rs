//! The HTTP API (v1): the framework every endpoint uses, the resources
//! that do not depend on the terminal host (API keys, fee plans, co-brand
//! programs, the audit log), and merchants, their onboarding and their
//! terminals, which are written with the host's records through
//! `crate::admin` (see `merchants`).
//!
//! Settlement accounts, bindings and their approvals, and the read views
//! of the terminal host's transactions and the ledger: [`accounts`],
//! [`bindings`], `approvals`, `transactions`, `ledger_balance`.
//!
//! QR payments and orders (`qr`, captured through `crate::qr` on the
//! running host) and the sandbox issuer's test cards (`issuer_cards`).
//!
//! How an endpoint is written (see `fee_plans.rs`):
//!
//! 1. Declare it in [`openapi::endpoints`]: method, path, summary, roles,
//!    request and response schemas, and the axum handler. The router AND the
//!    OpenAPI document are built from that one table, so they cannot differ.
//! 2. Take a [`Caller`] (authentication: `Authorization: Bearer <key>`, 401
//!    otherwise) and call [`authorize`] with the endpoint's [`Action`] (403
//!    when the role may not). Reading another party's resource answers
//!    [`ApiError::NotFound`] (no existence leak).
//! 3. POST handlers take a [`PostRequest`] and call [`PostRequest::begin`]:
//!    it authorizes, replays the stored response of a repeated
//!    `Idempotency-Key` (422 when the body differs), and parses the JSON body
//!    into the endpoint's wire type (content type, syntax, unknown fields,
//!    types → problem documents). [`PendingWrite::commit`] then commits the
//!    change (a `store::api::ApiChange`), its audit event and the
//!    idempotency record in ONE store transaction (`store::WriteOp::Api`).
//!    Endpoints with their own `WriteOp`s use [`PendingWrite::commit_with`]:
//!    their ops, then the audit event and idempotency record, which the
//!    store writes only if every op before them fully succeeded.
//! 4. Every error is an [`ApiError`]: one enum, one `IntoResponse`, RFC 9457
//!    problem documents; internal errors are logged and answered with a
//!    generic 500.
//! 5. Lists take `limit` (≤ [`pagination::LIMIT_MAX`], default
//!    [`pagination::LIMIT_DEFAULT`]) and an opaque `cursor`, and answer CSV
//!    for `Accept: text/csv` ([`pagination::list_response`]).
//!
//! API keys are stored as SHA-256(pepper || key): keys are 256-bit random
//! values, so a slow password hash (argon2, milliseconds per request) buys
//! nothing against brute force; the server-side pepper means a leaked
//! database alone cannot confirm a guessed key.

mod api_keys;
mod audit;
mod auth;
mod db;
mod error;
mod extract;
mod fee_plans;
mod health;
mod merchants;
mod onboarding;
pub mod openapi;
pub mod pagination;
mod payouts;
mod programs;
mod reconciliation;
mod reports;
mod seed;
mod seed_merchants;
mod settlement_runs;
mod terminals;
mod wire;

pub mod accounts;
mod adjustments;
mod approvals;
pub mod bindings;
mod ledger_balance;
mod seed_accounts;
mod transactions;

mod issuer_cards;
mod qr;

use std::sync::Arc;

pub use auth::{Action, Caller, Role, authorize, hash_key};
pub use db::{Clock, ManualClock, SystemClock};
pub use error::{ApiError, FieldError};
pub use extract::{Answer, Committed, PendingWrite, PostRequest};
pub use issuer_cards::{ISSUED_CARD_ACCOUNT_BASE, ISSUED_FUNDING_TRANSFER_BASE};
pub use seed::{seed_sandbox, seed_sandbox_keys};
pub use wire::rfc3339;

pub(crate) use fee_plans::plan_from_document;

/// Request bodies larger than this are refused with 413.
pub const REQUEST_BODY_BYTES_MAX: usize = 64 * 1024;
/// Read connections kept open at most.
pub const READ_CONNECTIONS_MAX: usize = 8;

/// What the API needs to start.
#[derive(Clone)]
pub struct ApiConfig {
    /// URL of the database (`sqlite:PATH` or `postgres://…`), for read
    /// connections.
    pub database_url: String,
    /// Server-side secret mixed into API key hashes.
    pub key_pepper: Vec<u8>,
    /// Started with `--sandbox`.
    pub sandbox: bool,
}

impl std::fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConfig")
            .field("database_url", &self.database_url)
            .field("key_pepper", &"<redacted>")
            .field("sandbox", &self.sandbox)
            .finish()
    }
}

/// What handlers share: read connections, the writer, the clock, config.
#[derive(Clone)]
pub struct ApiState {
    inner: Arc<Inner>,
    /// The terminal host of this process, when one runs: merchant and
    /// terminal changes are applied to it (see `crate::admin`).
    host: Option<Arc<crate::service::Host>>,
}

struct Inner {
    config: ApiConfig,
    reads: db::ReadPool,
    writer: store::WriterHandle,
    clock: Arc<dyn Clock>,
    /// Serializes merchant and terminal changes (read, check, write).
    admin: tokio::sync::Mutex<()>,
}

impl ApiState {
    /// The state over a running writer of the same database.
    pub fn new(config: ApiConfig, writer: store::WriterHandle, clock: Arc<dyn Clock>) -> Self {
        let reads = db::ReadPool::new(config.database_url.clone(), READ_CONNECTIONS_MAX);
        Self {
            inner: Arc::new(Inner {
                config,
                reads,
                writer,
                clock,
                admin: tokio::sync::Mutex::new(()),
            }),
            host: None,
        }
    }

    /// The same state with the terminal host of this process: merchant and
    /// terminal changes are then written with the host's records and
    /// applied to the running host.
    #[must_use]
    pub fn with_host(self, host: Arc<crate::service::Host>) -> Self {
        Self {
            host: Some(host),
            ..self
        }
    }

    /// The terminal host of this process, if one runs.
    pub fn host(&self) -> Option<&Arc<crate::service::Host>> {
        self.host.as_ref()
    }

    /// Held while a merchant or terminal change reads, checks and writes,
    /// so that its resource version cannot change underneath it.
    pub(crate) async fn admin_lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.inner.admin.lock().await
    }

    /// Now, ns since the Unix epoch, from the injected clock.
    pub fn now_ns(&self) -> u64 {
        self.inner.clock.now_ns()
    }

    /// The configuration.
    pub fn config(&self) -> &ApiConfig {
        &self.inner.config
    }

    /// `sqlite` or `postgres`.
    pub fn storage(&self) -> &'static str {
        let url = &self.inner.config.database_url;
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// Runs `read` on a pooled read connection (on a blocking thread).
    ///
    /// # Errors
    /// [`ApiError::Internal`] for storage failures.
    pub async fn read<T, F>(&self, read: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut store::Store) -> store::Result<T> + Send + 'static,
    {
        self.inner.reads.read(read).await
    }

    /// The writer of the database (settlement runs submit their chunks).
    pub fn writer_handle(&self) -> store::WriterHandle {
        self.inner.writer.clone()
    }

    /// Submits one request to the writer and waits for its commit.
    ///
    /// # Errors
    /// [`ApiError::Internal`] for storage failures.
    pub async fn write(
        &self,
        ops: Vec<store::WriteOp>,
    ) -> Result<Vec<store::WriteOutcome>, ApiError> {
        let ticket = self
            .inner
            .writer
            .submit_async(ops)
            .await
            .map_err(ApiError::internal)?;
        ticket.recv().await.map_err(ApiError::internal)
    }
}

/// The API's router; merge it into the HTTP server.
pub fn router(state: ApiState) -> axum::Router {
    openapi::build_router().with_state(state)
}
