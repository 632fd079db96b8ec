//! The host service: one frame in, one response out. Decodes, checks the
//! MAC, PIN and ARQC (keys never leave `cardsec`), asks the network for
//! off-us cards, then decides under the state lock and answers only after
//! the store has durably committed the decision.
//!
//! # Group commit
//!
//! The state lock is held only to decide: under it the host decides, submits
//! the decision's `WriteOp`s to the store writer, applies the decision's
//! records to the in-memory [`HostState`] (so the next request sees the new
//! balance, PIN tries, batch totals, answers, reversals and KSN usage) and
//! takes the next commit sequence number; then it releases the lock and waits
//! for the commit outside it. Many requests therefore wait in the writer's
//! queue at once and share one durable commit. Submission happens under the
//! lock, so submission order is decision order, and the single writer commits
//! in submission order: a request that depended on another's effect commits
//! after it (in the same batch or a later one).
//!
//! Durability before answer: every submitted decision has a sequence number;
//! one task per commit waits for its ticket, reports the outcome to the
//! request, then waits for its predecessor and advances the durable
//! watermark, so the watermark is contiguous (every commit up to it is
//! durable). A decision that writes is answered once its own commit is
//! durable. A decision that writes nothing (a duplicate answered from
//! memory, a plain decline that may rest on effects not yet durable) waits
//! until the watermark covers every decision submitted before it. A
//! duplicate of a request whose commit is still pending thus gets the
//! original's answer only after the original is durable, and `96` if the
//! original's commit fails.
//!
//! Failure is fail-stop: when a commit fails (a database error, the writer
//! stopped, or a ledger rejection of a decision whose effects are already
//! in memory) the in-memory state has run ahead of the database. Every
//! request of the failed commit is answered `96`; the host marks itself
//! unhealthy ([`Host::healthy`]), logs it, freezes the watermark (every
//! later request that writes nothing is answered `96`) and answers `96` to
//! every further request before deciding. Requests already queued behind the
//! failed commit are answered by their own commit's outcome, so every answer
//! that reports a change agrees with the database. A restart reloads the
//! state from the database. (Reloading the state in place was not chosen:
//! requests decided on the lost effects may already be queued.)
//!
//! A commit refused by the host lease's fence (another host on the same
//! PostgreSQL database took the lease) is not a failure: nothing of it was
//! written, and the host takes the lease back, reloads and decides the
//! request once more (see `lease`).

mod security;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin as BoxPin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cardsec::dukpt::{KeyVariant, TransactionKeyCache};
use cardsec::mac::{Padding, retail_mac};
use cardsec::{Ksn, TdesKey, luhn_valid};
use domain::issuing::{CryptogramCheck, PinCheck};
use domain::network::{NetworkAnswer, simulated_answer};
use domain::routing::{BinTable, Route};
use domain::{AmountMinor, BusinessDate, ResponseCode, YearMonth};
use iso8583::{Disposition, ISO87, Message, MessageBuilder, de, salvage};
use store::{WriteOp, WriterHandle};
use tokio::sync::{mpsc, oneshot, watch};

use crate::authorize::{CardFacts, Decision, decide, plain};
use crate::follow::{Commit, Progress, Submitted, follow_commits};
use crate::metrics::Metrics;
use crate::records::{Record, TerminalRecord};
use crate::request::Request;
use crate::seed::HostKeys;
use crate::state::{HostState, answer_key};

use self::security::{CheckedCard, unhex};
use crate::wire::RequestKind;

/// Default time the host waits for the card network.
pub const NETWORK_TIMEOUT_DEFAULT: Duration = Duration::from_secs(5);

/// A future answer of the card network.
pub type NetworkFuture = BoxPin<Box<dyn Future<Output = NetworkAnswer> + Send>>;

/// The link to the card network for off-us cards.
pub trait NetworkConnector: Send + Sync {
    /// Asks the network to authorize `amount` (the masked PAN identifies the
    /// card in logs only).
    fn authorize(&self, amount: AmountMinor, masked_pan: &str) -> NetworkFuture;
}

/// The built-in network simulator (`domain::network::simulated_answer`): a
/// `NoAnswer` never resolves, so the host's timeout applies.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimulatedNetwork;

impl NetworkConnector for SimulatedNetwork {
    fn authorize(&self, amount: AmountMinor, _masked_pan: &str) -> NetworkFuture {
        let answer = simulated_answer(amount);
        Box::pin(async move {
            match answer {
                NetworkAnswer::NoAnswer => std::future::pending().await,
                answer => answer,
            }
        })
    }
}

/// What the connection does with a frame.
#[derive(Debug)]
pub enum FrameOutcome {
    /// Send this response (the message, without the length header).
    Respond(Vec<u8>),
    /// Close the connection.
    Close(&'static str),
}

/// How the host service is set up.
pub struct HostConfig {
    /// Keys.
    pub keys: HostKeys,
    /// BIN routing table.
    pub bins: BinTable,
    /// The card network.
    pub network: Arc<dyn NetworkConnector>,
    /// How long to wait for the network before answering `91`.
    pub network_timeout: Duration,
    /// The co-brand program's rules (DE 63 benefits), if any.
    pub program: Option<domain::benefits::ProgramRules>,
    /// Reads fee plans created after start (see `plans`).
    pub fee_plans: Option<crate::plans::FeePlanReader>,
}

/// The host service shared by every connection.
pub struct Host {
    /// A plain mutex: no critical section awaits (the writer's queue place
    /// is reserved before the lock is taken).
    state: std::sync::Mutex<HostState>,
    /// Commits submitted (sequence numbers from 1); changed under the state
    /// lock only.
    submitted: std::sync::atomic::AtomicU64,
    /// The durable watermark and the failure flag.
    progress: Arc<watch::Sender<Progress>>,
    /// Submitted commits, in sequence order, to the task that follows them
    /// (started with the first commit, inside the runtime).
    follower: std::sync::OnceLock<mpsc::UnboundedSender<Submitted>>,
    writer: WriterHandle,
    config: HostConfig,
    key_caches: std::sync::Mutex<HashMap<String, TransactionKeyCache>>,
    metrics: Arc<Metrics>,
    /// RRNs of responses that change nothing (0810, 30, 58, 63): `9` and 11
    /// digits counted from the start time, apart from the recorded RRNs
    /// (counted from 1).
    unrecorded_rrn: std::sync::atomic::AtomicU64,
    /// The lease of a host sharing its database (see `lease`).
    lease: crate::lease::Lease,
}

/// First digit of the RRNs of responses that are not recorded.
const UNRECORDED_RRN_BASE: u64 = 900_000_000_000;
/// Range of the counter after the first digit.
const UNRECORDED_RRN_SPAN: u64 = 100_000_000_000;

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host").finish_non_exhaustive()
    }
}

fn now_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

/// The current month in the platform's time zone.
fn this_month() -> Option<YearMonth> {
    let local = now_s() + domain::sandbox::TIME_ZONE_OFFSET_S;
    BusinessDate::from_days_since_epoch(local.div_euclid(86_400))?.year_month()
}

impl Host {
    /// A host over a loaded state and the store's writer.
    pub fn new(
        state: HostState,
        writer: WriterHandle,
        config: HostConfig,
        metrics: Arc<Metrics>,
    ) -> Host {
        Host {
            state: std::sync::Mutex::new(state),
            follower: std::sync::OnceLock::new(),
            submitted: std::sync::atomic::AtomicU64::new(0),
            progress: Arc::new(watch::Sender::new(Progress::default())),
            writer,
            config,
            key_caches: std::sync::Mutex::new(HashMap::new()),
            // Milliseconds since the epoch: a restart continues past the
            // numbers used before it (at most one per millisecond).
            unrecorded_rrn: std::sync::atomic::AtomicU64::new(
                u64::try_from(now_s()).unwrap_or(0).saturating_mul(1_000),
            ),
            metrics,
            lease: crate::lease::Lease::unused(),
        }
    }

    /// Serves under the host lease of `database_url` when other hosts may
    /// share it (PostgreSQL; see `lease`).
    #[must_use]
    pub fn with_lease(mut self, database_url: &str) -> Host {
        self.lease = crate::lease::Lease::for_database(database_url);
        self
    }

    pub(crate) fn lease(&self) -> &crate::lease::Lease {
        &self.lease
    }

    pub(crate) fn writer(&self) -> &WriterHandle {
        &self.writer
    }

    /// Commits submitted so far.
    pub(crate) fn submitted_count(&self) -> u64 {
        self.submitted.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// What the admin changes of `crate::admin` work with: the writer, the BDK (for the key set id) and the co-brand program.
    pub(crate) fn admin_parts(&self) -> crate::admin::AdminParts<'_> {
        crate::admin::AdminParts {
            writer: &self.writer,
            bdk: &self.config.keys.bdk,
            program: self.config.program.as_ref().map(|p| p.code.as_str()),
        }
    }

    /// Whether every commit so far succeeded; an unhealthy host answers `96`
    /// to every request that would decide (fail-stop until a restart).
    pub fn healthy(&self) -> bool {
        !self.progress.borrow().failed
    }

    /// Waits until every commit numbered up to `seq` is durable; `false`
    /// when a commit failed first, or one after `reloaded` (the state's
    /// last reload) was fenced.
    async fn durable(&self, seq: u64, reloaded: u64) -> bool {
        let mut receiver = self.progress.subscribe();
        match receiver.wait_for(|p| p.failed || p.durable >= seq).await {
            Ok(progress) => {
                !progress.failed && progress.durable >= seq && progress.fenced <= reloaded
            }
            Err(_) => false,
        }
    }

    /// Handles one frame body.
    pub async fn handle_frame(&self, body: &[u8]) -> FrameOutcome {
        self.handle_decoded(body, Message::decode(&ISO87, body).ok())
            .await
    }

    /// Handles one frame body already decoded by the caller (`None`: it
    /// does not decode), so that it is decoded once.
    pub async fn handle_decoded(&self, body: &[u8], message: Option<Message<'_>>) -> FrameOutcome {
        let Some(message) = message else {
            return self.malformed(body);
        };
        let request = match Request::parse(&message) {
            Ok(Some(request)) => request,
            Ok(None) => return self.unserved(&message).await,
            Err(_) => return self.respond(&message, &plain(ResponseCode::FormatError), None),
        };
        // Even the terminal's own record must be current (see `lease`).
        if !self.hold_lease().await {
            return self.respond(&message, &plain(ResponseCode::SystemMalfunction), None);
        }
        let terminal = self.state().terminals.get(&request.tid).cloned();
        let Some(terminal) = terminal.filter(|t| t.active) else {
            return self.respond(&message, &plain(ResponseCode::NotPermittedToTerminal), None);
        };
        let ksn = request.ksn.as_deref().and_then(|k| Ksn::from_hex(k).ok());
        if request.ksn.is_some() && ksn.is_none() {
            return self.respond(&message, &plain(ResponseCode::FormatError), None);
        }
        if (terminal.mac_required || request.has_mac)
            && !self.mac_verifies(&message, &terminal, ksn.as_ref())
        {
            return self.respond(&message, &plain(ResponseCode::SecurityViolation), None);
        }
        let response_key = if terminal.mac_required {
            ksn.as_ref()
        } else {
            None
        };
        let mac_key =
            response_key.and_then(|k| self.working_key(&terminal, k, KeyVariant::MacResponse));
        if matches!(
            request.kind,
            RequestKind::SignOn | RequestKind::SignOff | RequestKind::Echo
        ) {
            return self.respond(&message, &plain(ResponseCode::Approved), mac_key.as_ref());
        }
        let facts = self.card_facts(&request, &terminal, ksn.as_ref()).await;
        let decision = self.commit(&request, facts.as_ref()).await;
        self.respond(&message, &decision, mac_key.as_ref())
    }

    /// A request of a kind the host does not serve: `12`, unless its MAC
    /// fails (`63`) or its terminal is unknown (`58`).
    async fn unserved(&self, message: &Message<'_>) -> FrameOutcome {
        let tid = message.terminal_id().unwrap_or_default();
        let terminal = self.state().terminals.get(tid).cloned();
        let Some(terminal) = terminal.filter(|t| t.active) else {
            return self.respond(message, &plain(ResponseCode::NotPermittedToTerminal), None);
        };
        let ksn = message.text(de::KSN).and_then(|k| Ksn::from_hex(k).ok());
        let code = if (terminal.mac_required || message.has(de::MAC))
            && !self.mac_verifies(message, &terminal, ksn.as_ref())
        {
            ResponseCode::SecurityViolation
        } else {
            ResponseCode::InvalidTransaction
        };
        self.respond(message, &plain(code), None)
    }

    fn malformed(&self, body: &[u8]) -> FrameOutcome {
        let salvaged = salvage(&ISO87, body);
        let (Disposition::FormatError, Some(mti), Some(stan), Some(tid)) = (
            salvaged.disposition(),
            salvaged.mti,
            salvaged.stan,
            salvaged.terminal_id,
        ) else {
            return FrameOutcome::Close("unreadable message");
        };
        if !mti.is_request() {
            return FrameOutcome::Close("not a request");
        }
        let mut builder = MessageBuilder::new(&ISO87, mti.response());
        let tid = String::from_utf8_lossy(&tid).into_owned();
        let built = builder
            .set_number(de::STAN, u64::from(stan))
            .and_then(|b| b.set_text(de::TERMINAL_ID, &tid))
            .and_then(|b| b.set_text(de::RESPONSE_CODE, ResponseCode::FormatError.as_str()));
        if built.is_err() {
            return FrameOutcome::Close("unanswerable message");
        }
        self.metrics
            .response(mti.as_str(), ResponseCode::FormatError.as_str());
        encode(&builder)
    }

    async fn card_facts(
        &self,
        request: &Request,
        terminal: &TerminalRecord,
        ksn: Option<&Ksn>,
    ) -> Option<CardFacts> {
        let pan = request.pan.as_ref()?;
        let token = self.config.keys.vault.token(pan).to_string();
        let route = luhn_valid(pan.expose_digits())
            .then(|| self.config.bins.route(pan.expose_digits()).cloned())
            .flatten();
        let mut facts = CardFacts {
            route,
            token,
            masked: pan.masked(),
            pin: PinCheck::NotPresent,
            cryptogram: CryptogramCheck::NotPresent,
            network: None,
        };
        let arpc = match &facts.route {
            Some(Route::OnUs { .. }) => {
                // Only what the checks read, not the whole record.
                let card = self
                    .state()
                    .cards
                    .get(&facts.token)
                    .map(|card| CheckedCard {
                        pvv: card.pvv.clone(),
                        chip: card.chip,
                    });
                match card {
                    Some(card) => {
                        self.issuer_checks(request, terminal, ksn, pan, &card, &mut facts)
                    }
                    None => None,
                }
            }
            Some(Route::Network { .. }) => {
                self.ask_network(request, &mut facts).await;
                None
            }
            None => None,
        };
        let _ = arpc;
        Some(facts)
    }

    async fn ask_network(&self, request: &Request, facts: &mut CardFacts) {
        if !matches!(
            request.kind,
            RequestKind::Sale | RequestKind::PreAuthorization
        ) {
            return;
        }
        let key = answer_key(&request.tid, request.stan, request.transmission);
        if self.state().answers.contains_key(&key) {
            return;
        }
        let call = self.config.network.authorize(request.amount, &facts.masked);
        facts.network = Some(
            match tokio::time::timeout(self.config.network_timeout, call).await {
                Ok(NetworkAnswer::Answer(code)) => code,
                Ok(NetworkAnswer::NoAnswer) | Err(_) => ResponseCode::IssuerInoperative,
            },
        );
    }

    /// Decides under the state lock, submits the decision's writes and
    /// applies its effects there, then waits for the durable commit outside
    /// the lock; `96` when the store fails (fail-stop, see the module docs).
    async fn commit(&self, request: &Request, facts: Option<&CardFacts>) -> Decision {
        let Some(today) = this_month() else {
            return plain(ResponseCode::SystemMalfunction);
        };
        if !self.healthy() {
            self.metrics.event("unhealthy_refused");
            return plain(ResponseCode::SystemMalfunction);
        }
        if let Some(reader) = &self.config.fee_plans {
            let missing = reader.missing(&self.state(), &request.mid);
            if let Some(code) = missing {
                // Read with no lock held (see `plans`); decided afresh below.
                reader.load(&self.state, code).await;
            }
        }
        let time = crate::authorize::DecisionTime {
            today,
            now_s: now_s(),
        };
        // A request decided under a lease another host has taken since is
        // refused unwritten by the writer; it is decided once more after
        // the takeover and reload (see `lease`), and answered `96` when
        // that is fenced too.
        for attempt in 0..2 {
            if !self.hold_lease().await {
                return plain(ResponseCode::SystemMalfunction);
            }
            // Decided again on the reloaded state: the terminal too.
            if attempt > 0
                && !self
                    .state()
                    .terminals
                    .get(&request.tid)
                    .is_some_and(|t| t.active)
            {
                return plain(ResponseCode::NotPermittedToTerminal);
            }
            // The queue place first: under the lock nothing waits.
            let Ok(slot) = self.writer.reserve().await else {
                self.metrics.event("store_failed");
                return plain(ResponseCode::SystemMalfunction);
            };
            return match self.decide_and_submit(slot, request, facts, time) {
                Decided::Unwritten(decision, seen, reloaded) => {
                    // Nothing to write, but the decision may rest on effects not
                    // yet durable (a duplicate's pending answer): wait for them.
                    if self.durable(seen, reloaded).await {
                        decision
                    } else {
                        plain(ResponseCode::SystemMalfunction)
                    }
                }
                Decided::Submitted(decision, own) => match own.await {
                    Ok(Commit::Durable) => decision,
                    Ok(Commit::Fenced) => continue,
                    _ => plain(ResponseCode::SystemMalfunction),
                },
                Decided::Failed => plain(ResponseCode::SystemMalfunction),
            };
        }
        plain(ResponseCode::SystemMalfunction)
    }

    /// Under the state lock: decides, submits the decision's writes into
    /// the reserved slot and applies its records.
    fn decide_and_submit(
        &self,
        slot: store::Slot<'_>,
        request: &Request,
        facts: Option<&CardFacts>,
        time: crate::authorize::DecisionTime,
    ) -> Decided {
        let mut state = self.state();
        let mut decision = decide(&state, request, facts, time, self.config.program.as_ref());
        if decision.records.is_empty() {
            let seen = self.submitted.load(std::sync::atomic::Ordering::Relaxed);
            return Decided::Unwritten(decision, seen, self.lease.reloaded_at());
        }
        if decision.answer.code == ResponseCode::Approved.as_str() {
            self.add_issuer_authentication(request, facts, &mut decision);
        }
        let mut ops = Vec::with_capacity(3);
        ops.extend(self.lease.fence());
        if !decision.transfers.is_empty() {
            ops.push(WriteOp::CreateTransfers(std::mem::take(
                &mut decision.transfers,
            )));
        }
        if !decision.items.is_empty() {
            ops.push(WriteOp::SettlementItems(std::mem::take(
                &mut decision.items,
            )));
        }
        ops.push(WriteOp::HostRows(
            decision.records.iter().map(|r| r.row()).collect(),
        ));
        // Submitted under the lock: submission order is decision order.
        let Ok(ticket) = slot.submit(ops) else {
            // Nothing queued and nothing applied: the state still agrees
            // with the database.
            self.metrics.event("store_failed");
            return Decided::Failed;
        };
        let seq = self
            .submitted
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        for record in std::mem::take(&mut decision.records) {
            state.apply(record);
        }
        Decided::Submitted(decision, self.follow(seq, ticket))
    }

    /// Under the state lock, `build` turns the state into writes and the
    /// records they leave (`None`: nothing to do); they are submitted and
    /// applied there, in order with the decisions, like a decision's. The
    /// answer: whether their commit is durable (`None`: nothing submitted).
    pub(crate) async fn submit_locked(
        &self,
        build: impl FnOnce(&HostState) -> Option<(Vec<WriteOp>, Vec<Record>)>,
    ) -> Option<bool> {
        if !self.healthy() {
            return Some(false);
        }
        let Ok(slot) = self.writer.reserve().await else {
            return Some(false);
        };
        let own = {
            let mut state = self.state();
            let (built, records) = build(&state)?;
            let mut ops: Vec<WriteOp> = self.lease.fence().into_iter().collect();
            ops.extend(built);
            ops.push(WriteOp::HostRows(records.iter().map(Record::row).collect()));
            let Ok(ticket) = slot.submit(ops) else {
                return Some(false);
            };
            let seq = self
                .submitted
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                + 1;
            for record in records {
                state.apply(record);
            }
            self.follow(seq, ticket)
        };
        Some(own.await == Ok(Commit::Durable))
    }

    /// The state, under its lock. A panic while it was held cannot leave a
    /// half-applied record (records are applied whole), so a poisoned lock
    /// is taken over.
    pub(crate) fn state(&self) -> std::sync::MutexGuard<'_, HostState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Hands commit `seq` to the follower task (called under the state
    /// lock, so the follower sees commits in sequence order); the receiver
    /// gets the commit's own outcome (`true`: durable).
    fn follow(&self, seq: u64, ticket: store::Ticket) -> oneshot::Receiver<Commit> {
        let (own, outcome) = oneshot::channel();
        let follower = self.follower.get_or_init(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            tokio::spawn(follow_commits(
                receiver,
                Arc::clone(&self.progress),
                Arc::clone(&self.metrics),
                self.lease.epoch_cell(),
            ));
            sender
        });
        // A send fails only when the follower ended, which it does only
        // when every sender is gone: the receiver then reports `false`.
        let epoch = self.lease.epoch();
        let _ = follower.send(Submitted {
            seq,
            ticket,
            own,
            epoch,
        });
        outcome
    }

    fn respond(
        &self,
        request: &Message<'_>,
        decision: &Decision,
        mac_key: Option<&TdesKey>,
    ) -> FrameOutcome {
        const ECHO: [usize; 15] = [3, 4, 7, 11, 12, 13, 22, 25, 41, 42, 49, 60, 62, 70, 90];
        let built = MessageBuilder::response_to(request, &ECHO).and_then(|mut builder| {
            fill(&mut builder, decision)?;
            if decision.answer.rrn.is_empty() {
                let counter = self
                    .unrecorded_rrn
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let rrn = UNRECORDED_RRN_BASE + counter % UNRECORDED_RRN_SPAN;
                builder.set_text(de::RRN, &format!("{rrn:012}"))?;
            }
            if let Some(key) = mac_key {
                builder.set(de::MAC, &[0; 8])?;
                let mut buffer = [0u8; iso8583::MESSAGE_LEN_MAX];
                let input = builder.mac_input(&mut buffer)?;
                if let Ok(mac) = retail_mac(key, input, Padding::Method1) {
                    builder.set(de::MAC, &mac)?;
                }
            }
            Ok(builder)
        });
        self.metrics
            .response(request.mti().as_str(), &decision.answer.code);
        match built {
            Ok(builder) => encode(&builder),
            Err(_) => FrameOutcome::Close("response could not be built"),
        }
    }
}

/// What the locked part of a commit did.
enum Decided {
    /// A decision that writes nothing, the commits submitted before it and
    /// those submitted at the state's last reload.
    Unwritten(Decision, u64, u64),
    /// A decision submitted; the receiver tells whether its commit is durable.
    Submitted(Decision, oneshot::Receiver<Commit>),
    /// The writer refused the submission.
    Failed,
}

fn fill(builder: &mut MessageBuilder, decision: &Decision) -> Result<(), iso8583::Error> {
    let answer = &decision.answer;
    if !answer.rrn.is_empty() {
        builder.set_text(de::RRN, &answer.rrn)?;
    }
    if !answer.auth_code.is_empty() {
        builder.set_text(de::AUTHORIZATION_CODE, &answer.auth_code)?;
    }
    builder.set_text(de::RESPONSE_CODE, &answer.code)?;
    if !answer.benefits.is_empty() {
        builder.set_text(de::BENEFITS, &answer.benefits)?;
    }
    if !answer.additional_amounts.is_empty() {
        builder.set_text(de::ADDITIONAL_AMOUNTS, &answer.additional_amounts)?;
    }
    if let Some(icc) = unhex(&answer.icc_hex).filter(|b| !b.is_empty()) {
        builder.set(de::ICC_DATA, &icc)?;
    }
    if let Some(totals) = decision.host_totals {
        builder.set_number(de::CREDITS_NUMBER, totals.credit_count)?;
        builder.set_number(de::DEBITS_NUMBER, totals.debit_count)?;
        builder.set_number(
            de::CREDITS_AMOUNT,
            u64::try_from(totals.credit_amount.0).unwrap_or(0),
        )?;
        builder.set_number(
            de::DEBITS_AMOUNT,
            u64::try_from(totals.debit_amount.0).unwrap_or(0),
        )?;
    }
    Ok(())
}

/// Encodes on the stack, then keeps only the message's own bytes (one
/// allocation of its size, not a zeroed buffer of the largest message).
fn encode(builder: &MessageBuilder) -> FrameOutcome {
    let mut buffer = [0u8; iso8583::MESSAGE_LEN_MAX];
    match builder.encode(&mut buffer) {
        Ok(len) => FrameOutcome::Respond(buffer.get(..len).unwrap_or_default().to_vec()),
        Err(_) => FrameOutcome::Close("response could not be encoded"),
    }
}
