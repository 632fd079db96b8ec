//! Certification progress from the host's own records of the merchant's
//! registered terminals: the transactions the host processed in
//! certification mode (`TransactionRecord::certification`, set while the
//! merchant is in the `certification` stage), their answers and KSN usage,
//! and the terminals' closed batches. Nothing is entered by hand.
//!
//! The host's records do not keep DE 22 or whether DE 52 was present, so
//! the read is: chip data = the answer carries the ARPC the host computed
//! after verifying the card's ARQC (chip or contactless read of a chip
//! card); PIN = the request used a DUKPT KSN, which a terminal without MAC
//! sends only with a PIN block (on a MAC terminal every request has a KSN, so there a
//! chip read counts as chip with PIN and the contactless case needs a
//! terminal without MAC). A reversal counts when the host matched it to a
//! certification transaction of the merchant (an approved one it undid, or
//! one the terminal gave up waiting for); the transaction it undid no
//! longer counts for its own case. A batch counts when it holds certification
//! transactions, was closed by a 0500 and has no reconciliation exception
//! (its totals balanced).
//!
//! With a running host the records are read from its in-memory state under
//! its lock: one pass over the host's transactions (it keeps no index by
//! merchant), only when a merchant in or past certification is read or
//! advanced. Without a host in the process they are loaded from the
//! database.

use std::collections::{BTreeSet, HashSet};

use domain::onboarding::{CaseProgress, TrafficKind, TrafficObservation, certification_progress};

use crate::records::TransactionRecord;
use crate::state::HostState;

use super::super::ApiError;
use super::super::ApiState;
use super::super::merchants::link;

/// The plan and its progress for merchant `mid`.
///
/// # Errors
/// 500 for storage failures.
pub(crate) async fn progress(state: &ApiState, mid: &str) -> Result<Vec<CaseProgress>, ApiError> {
    let tids: BTreeSet<String> = link::scoped(state, "terminal", mid, None)
        .await?
        .into_iter()
        .map(|row| row.id)
        .collect();
    let mid = mid.to_owned();
    let observations = link::with_host_state(state, move |host, exceptions| {
        observe(host, &mid, &tids, exceptions)
    })
    .await?;
    Ok(certification_progress(&observations))
}

/// `tid/stan/de7` (the answer key) of a request key `tid/mti/stan/de7`.
fn answer_key(request_key: &str) -> Option<String> {
    let mut parts = request_key.split('/');
    let (tid, _mti, stan, de7) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    Some(format!("{tid}/{stan}/{de7}"))
}

fn observe(
    host: &HostState,
    mid: &str,
    tids: &BTreeSet<String>,
    exceptions: &[String],
) -> Vec<TrafficObservation> {
    let mut transactions: Vec<&TransactionRecord> = host
        .transactions
        .values()
        .filter(|t| t.certification && t.mid == mid && tids.contains(&t.tid))
        .collect();
    transactions.sort_by(|a, b| a.rrn.cmp(&b.rrn));
    let sale_keys: HashSet<String> = transactions
        .iter()
        .filter(|t| t.kind == "sale")
        .filter_map(|t| answer_key(&t.request_key))
        .collect();
    let with_ksn: HashSet<&String> = host
        .ksn_usage
        .values()
        .filter(|key| sale_keys.contains(*key))
        .collect();
    let mut observations = Vec::new();
    for t in &transactions {
        let kind = match (t.kind.as_str(), t.state.as_str()) {
            (_, "reversed") => continue,
            ("sale", _) => TrafficKind::Sale,
            ("void", _) => TrafficKind::Void,
            ("refund", _) => TrafficKind::Refund,
            _ => continue,
        };
        let key = answer_key(&t.request_key).unwrap_or_default();
        let chip_data = host
            .answers
            .get(&key)
            .is_some_and(|answer| !answer.icc_hex.is_empty());
        observations.push(TrafficObservation {
            kind,
            approved: t.code == "00",
            chip_data,
            pin: with_ksn.contains(&key),
            reference: format!("rrn {}", t.rrn),
        });
    }
    let certification_rrns: HashSet<&String> = transactions.iter().map(|t| &t.rrn).collect();
    let mut reversed: Vec<&String> = host
        .reversals
        .values()
        .filter(|rrn| certification_rrns.contains(rrn))
        .collect();
    reversed.sort();
    for rrn in reversed {
        observations.push(TrafficObservation {
            kind: TrafficKind::Reversed,
            approved: true,
            chip_data: false,
            pin: false,
            reference: format!("reversal of rrn {rrn}"),
        });
    }
    let mut batches: Vec<(&String, u32)> = host
        .batches
        .values()
        .filter(|b| b.closed && tids.contains(&b.tid))
        .map(|b| (&b.tid, b.number))
        .collect();
    batches.sort();
    for (tid, number) in batches {
        let holds_certification = transactions
            .iter()
            .any(|t| &t.tid == tid && t.batch == number);
        if !holds_certification {
            continue;
        }
        let key = format!("{tid}/{number:06}");
        observations.push(TrafficObservation {
            kind: TrafficKind::BatchSettlement,
            approved: !exceptions.contains(&key),
            chip_data: false,
            pin: false,
            reference: format!("batch {key}"),
        });
    }
    observations
}

#[cfg(test)]
mod tests {
    #[test]
    fn answer_keys_drop_the_mti() {
        assert_eq!(
            super::answer_key("T0000001/0200/000007/1124101010").as_deref(),
            Some("T0000001/000007/1124101010")
        );
        assert_eq!(super::answer_key("T0000001/0200"), None);
    }
}
