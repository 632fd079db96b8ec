//! Reconciliation: the card network's clearing file of a business date
//! matched against the host's off-us captures of that date, and the 0500
//! batch mismatches, written as `reconciliation-exception` resources.
//!
//! # The clearing file (CSV)
//!
//! One header line, then one line per cleared transaction:
//!
//! ```text
//! reference,amount_minor,currency,kind,business_date
//! 000000000012,10000,CNY,capture,2026-11-24
//! 000000000015,2500,CNY,refund,2026-11-24
//! ```
//!
//! `reference` is the RRN the host gave (DE 37), `amount_minor` a positive
//! amount in minor units, `kind` `capture` (a sale or completion) or
//! `refund`, `business_date` the network's date: the calendar date in the
//! platform time zone (the network closes its day at local midnight, not at
//! a merchant's cut-off). Lines are separated by LF or CRLF; at most
//! [`CLEARING_LINES_MAX`] lines.
//!
//! # The simulated network's file
//!
//! The built-in network simulator (`SimulatedNetwork`) answers
//! authorizations statelessly; what it saw is what the host exchanged with
//! it, which the host records: the off-us authorizations it approved, the
//! completions, voids, refunds and reversals the acquirer forwards. Its
//! clearing of date D is therefore every off-us sale or completion still in
//! force and every off-us refund of D ([`simulated_clearing`]). Matched
//! against a correct host it agrees; a real network's file (or an edited
//! one) is read with `--clearing`.
//!
//! # Exceptions
//!
//! Every mismatch of `domain::reconciliation::reconcile` (missing in
//! clearing, missing at the host, amount differs, duplicate) and every 0500
//! out of balance recorded in `host_exceptions` becomes a resource of kind
//! `reconciliation-exception`, status `open`, scope = the MID (empty when
//! unknown). Ids are idempotent — `clearing-D-REFERENCE-REASON` and
//! `batch-TID-BATCH` — so running reconciliation again writes only what is
//! new.

use std::collections::BTreeSet;

use domain::reconciliation::{self, Exception, Record as MatchRecord};
use domain::{AmountMinor, BusinessDate};
use serde_json::{Value, json};
use store::api::{ApiChange, ApiWrite, AuditEntry, ResourcePut, ResourceRow};
use store::{HostTable, Store, WriteOp};

use crate::records::TransactionRecord;
use crate::state::HostState;

/// The resource kind of an exception.
pub const EXCEPTION_KIND: &str = "reconciliation-exception";
/// Most lines a clearing file may hold.
pub const CLEARING_LINES_MAX: usize = 1_000_000;
/// The header line of a clearing file.
pub const CLEARING_HEADER: &str = "reference,amount_minor,currency,kind,business_date";
/// Longest reference accepted in a clearing file.
pub const REFERENCE_LEN_MAX: usize = 32;

/// One line of a clearing file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClearingLine {
    /// RRN.
    pub reference: String,
    /// Positive amount, minor units.
    pub amount: AmountMinor,
    /// `true` for a refund, `false` for a capture.
    pub refund: bool,
    /// The network's business date.
    pub date: BusinessDate,
}

/// Why a clearing file cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClearingError {
    /// The first line is not [`CLEARING_HEADER`].
    #[error("line 1: expected the header {CLEARING_HEADER}")]
    Header,
    /// A line breaks the layout.
    #[error("line {line}: {reason}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// More than [`CLEARING_LINES_MAX`] lines.
    #[error("more than {CLEARING_LINES_MAX} lines")]
    TooLong,
}

/// The network's date of a decision at `at_s`: the local calendar date.
fn network_date(at_s: i64) -> Option<BusinessDate> {
    domain::settlement::business_date(at_s, domain::sandbox::TIME_ZONE_OFFSET_S, 24 * 60)
}

/// The host's off-us captures (sales and completions in force) and refunds
/// decided on `date`, as clearing lines, ordered by reference.
#[must_use]
pub fn host_clearing(state: &HostState, date: BusinessDate) -> Vec<ClearingLine> {
    let mut lines: Vec<ClearingLine> = state
        .transactions
        .values()
        .filter(|t| t.route == "network" && t.code == "00" && !t.certification)
        .filter(|t| network_date(t.at_s) == Some(date))
        .filter_map(|t| clearing_line(t, date))
        .collect();
    lines.sort_by(|a, b| a.reference.cmp(&b.reference));
    lines
}

fn clearing_line(txn: &TransactionRecord, date: BusinessDate) -> Option<ClearingLine> {
    let refund = match (txn.kind.as_str(), txn.state.as_str()) {
        ("sale" | "completion", "approved") => false,
        ("refund", "approved") => true,
        _ => return None,
    };
    Some(ClearingLine {
        reference: txn.rrn.clone(),
        amount: AmountMinor(txn.amount),
        refund,
        date,
    })
}

/// The simulated network's clearing of `date` (see the module docs).
#[must_use]
pub fn simulated_clearing(state: &HostState, date: BusinessDate) -> Vec<ClearingLine> {
    host_clearing(state, date)
}

/// The CSV text of a clearing file.
#[must_use]
pub fn format_clearing(lines: &[ClearingLine]) -> String {
    let mut text = String::from(CLEARING_HEADER);
    text.push('\n');
    for line in lines {
        let kind = if line.refund { "refund" } else { "capture" };
        text.push_str(&format!(
            "{},{},CNY,{kind},{}\n",
            line.reference, line.amount.0, line.date
        ));
    }
    text
}

/// Reads a clearing file.
///
/// # Errors
/// [`ClearingError`] naming the first line that breaks the layout.
pub fn parse_clearing(text: &str) -> Result<Vec<ClearingLine>, ClearingError> {
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) != Some(CLEARING_HEADER) {
        return Err(ClearingError::Header);
    }
    let mut out = Vec::new();
    for (index, line) in lines.enumerate() {
        let line_number = index + 2;
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        if out.len() >= CLEARING_LINES_MAX {
            return Err(ClearingError::TooLong);
        }
        out.push(parse_line(line).map_err(|reason| ClearingError::Line {
            line: line_number,
            reason,
        })?);
    }
    Ok(out)
}

fn parse_line(line: &str) -> Result<ClearingLine, &'static str> {
    let fields: Vec<&str> = line.split(',').collect();
    let [reference, amount, currency, kind, date] = fields.as_slice() else {
        return Err("expected 5 comma-separated fields");
    };
    let reference_ok = !reference.is_empty()
        && reference.len() <= REFERENCE_LEN_MAX
        && reference.bytes().all(|b| b.is_ascii_alphanumeric());
    if !reference_ok {
        return Err("reference: 1 to 32 letters or digits");
    }
    let amount = amount
        .parse::<i64>()
        .ok()
        .filter(|a| *a > 0)
        .ok_or("amount_minor: a positive whole number")?;
    if *currency != "CNY" {
        return Err("currency: CNY");
    }
    let refund = match *kind {
        "capture" => false,
        "refund" => true,
        _ => return Err("kind: capture or refund"),
    };
    let date = BusinessDate::parse(date).ok_or("business_date: YYYY-MM-DD")?;
    Ok(ClearingLine {
        reference: (*reference).to_owned(),
        amount: AmountMinor(amount),
        refund,
        date,
    })
}

/// What one reconciliation run found.
#[derive(Debug, Clone, Default)]
pub struct ReconcileReport {
    /// Lines of the clearing file of the date.
    pub clearing_lines: usize,
    /// The host's off-us captures and refunds of the date.
    pub host_lines: usize,
    /// Every exception of the run (new and known).
    pub exceptions: Vec<ResourceRow>,
    /// Exceptions written by this run.
    pub created: usize,
}

/// Signed amount: refunds negative, so a capture never matches a refund.
fn match_record(line: &ClearingLine) -> MatchRecord {
    MatchRecord {
        reference: line.reference.clone(),
        amount: if line.refund {
            AmountMinor(-line.amount.0)
        } else {
            line.amount
        },
    }
}

/// Matches `clearing` (its lines of `date`) against the host's off-us
/// captures of `date`, adds the 0500 batch mismatches, and writes every
/// exception not yet stored (one change, audited).
///
/// # Errors
/// Database errors.
pub fn reconcile(
    store: &mut Store,
    date: BusinessDate,
    clearing: &[ClearingLine],
    now_ns: u64,
) -> store::Result<ReconcileReport> {
    let state = HostState::load(store)?;
    let host = host_clearing(&state, date);
    let network: Vec<&ClearingLine> = clearing.iter().filter(|l| l.date == date).collect();
    let host_records: Vec<MatchRecord> = host.iter().map(match_record).collect();
    let network_records: Vec<MatchRecord> = network.iter().map(|l| match_record(l)).collect();
    let mut rows = Vec::new();
    for exception in reconciliation::reconcile(&host_records, &network_records) {
        rows.push(clearing_exception(&state, date, &exception, now_ns));
    }
    for (key, body) in store.host_rows(HostTable::Exceptions)? {
        if let Some(row) = batch_exception(&key, &body, date, now_ns) {
            rows.push(row);
        }
    }
    let mut report = ReconcileReport {
        clearing_lines: network.len(),
        host_lines: host.len(),
        ..ReconcileReport::default()
    };
    let mut new = Vec::new();
    let mut seen = BTreeSet::new();
    for row in rows {
        if !seen.insert(row.id.clone()) {
            continue;
        }
        match store.resource(EXCEPTION_KIND, &row.id)? {
            Some(stored) => report.exceptions.push(stored),
            None => new.push(row),
        }
    }
    report.created = new.len();
    if !new.is_empty() {
        let ids: Vec<&str> = new.iter().map(|r| r.id.as_str()).collect();
        let audit = AuditEntry {
            time_ns: now_ns,
            actor_role: "system".to_owned(),
            actor_scope: "reconcile".to_owned(),
            action: "reconciliation.run".to_owned(),
            resource: format!("reconciliation/{date}"),
            details: json!({"date": date.to_string(), "created": ids}).to_string(),
        };
        let write = ApiWrite {
            change: ApiChange::PutResources(new.iter().cloned().map(ResourcePut::create).collect()),
            audit: Some(audit),
            idempotency: None,
            only_after_success: false,
        };
        store.write(vec![WriteOp::Api(Box::new(write))], now_ns)?;
        report.exceptions.extend(new);
    }
    report.exceptions.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(report)
}

fn money(amount: Option<AmountMinor>) -> Value {
    amount.map_or(
        Value::Null,
        |a| json!({"amount_minor": a.0.abs(), "currency": "CNY"}),
    )
}

fn clearing_exception(
    state: &HostState,
    date: BusinessDate,
    exception: &Exception,
    now_ns: u64,
) -> ResourceRow {
    let (reference, host, network) = match exception {
        Exception::MissingInClearing { reference, host } => (reference, Some(*host), None),
        Exception::MissingAtHost { reference, network } => (reference, None, Some(*network)),
        Exception::AmountDiffers {
            reference,
            host,
            network,
        } => (reference, Some(*host), Some(*network)),
        Exception::Duplicate { reference, .. } => (reference, None, None),
    };
    let mid = state
        .transactions
        .get(reference)
        .map(|t| t.mid.clone())
        .unwrap_or_default();
    let reason = exception.reason();
    let id = format!("clearing-{date}-{reference}-{reason}");
    let detail = match exception {
        Exception::Duplicate { side, .. } => {
            format!("the reference appears twice on the {side} side")
        }
        _ => String::new(),
    };
    let document = json!({
        "id": id, "kind": "clearing", "reason": reason, "date": date.to_string(),
        "reference": reference, "mid": mid, "host_amount": money(host),
        "network_amount": money(network), "detail": detail,
        "created_at": crate::api::rfc3339(now_ns),
    });
    resource_row(id, mid, &document, now_ns)
}

/// A 0500 out of balance (`tid/batch` → `terminal=..;host=..;mid=..;at=..`)
/// as an exception of `date`: of the date it was closed, or of any date
/// when the record does not say.
fn batch_exception(key: &str, body: &str, date: BusinessDate, now_ns: u64) -> Option<ResourceRow> {
    let field = |name: &str| {
        body.split(';')
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            .map(str::to_owned)
    };
    let closed_on = field("at")
        .and_then(|at| at.parse::<i64>().ok())
        .and_then(network_date);
    if closed_on.is_some_and(|d| d != date) {
        return None;
    }
    let (tid, batch) = key.split_once('/')?;
    let mid = field("mid").unwrap_or_default();
    let id = format!("batch-{tid}-{batch}");
    let document = json!({
        "id": id, "kind": "batch", "reason": "batch_out_of_balance",
        "date": closed_on.unwrap_or(date).to_string(), "reference": key, "mid": mid,
        "host_amount": Value::Null, "network_amount": Value::Null,
        "detail": format!(
            "terminal totals {} differ from host totals {} (debit count/amount/credit count/amount)",
            field("terminal").unwrap_or_default(),
            field("host").unwrap_or_default()
        ),
        "created_at": crate::api::rfc3339(now_ns),
    });
    Some(resource_row(id, mid, &document, now_ns))
}

fn resource_row(id: String, scope: String, document: &Value, now_ns: u64) -> ResourceRow {
    ResourceRow {
        kind: EXCEPTION_KIND.to_owned(),
        id,
        scope,
        status: "open".to_owned(),
        version: 1,
        document: document.to_string(),
        created_at_ns: now_ns,
        updated_at_ns: now_ns,
    }
}
