//! Reconciliation: the network's clearing records against the host's
//! captures. Every difference is an exception with its reason.

use std::collections::BTreeMap;

use crate::money::AmountMinor;

/// One captured transaction, as the host or the network records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Reference both sides share (the RRN).
    pub reference: String,
    /// Amount captured.
    pub amount: AmountMinor,
}

/// One difference between the two sides.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exception {
    /// The host captured it; the network did not clear it.
    MissingInClearing {
        /// Reference.
        reference: String,
        /// Host amount.
        host: AmountMinor,
    },
    /// The network cleared it; the host has no such capture.
    MissingAtHost {
        /// Reference.
        reference: String,
        /// Network amount.
        network: AmountMinor,
    },
    /// Both have it, with different amounts.
    AmountDiffers {
        /// Reference.
        reference: String,
        /// Host amount.
        host: AmountMinor,
        /// Network amount.
        network: AmountMinor,
    },
    /// A reference appears more than once on one side.
    Duplicate {
        /// Reference.
        reference: String,
        /// `host` or `network`.
        side: &'static str,
    },
}

impl Exception {
    /// Stable reason code for reports and the API.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            Exception::MissingInClearing { .. } => "missing_in_clearing",
            Exception::MissingAtHost { .. } => "missing_at_host",
            Exception::AmountDiffers { .. } => "amount_differs",
            Exception::Duplicate { .. } => "duplicate",
        }
    }
}

fn index<'a>(
    records: &'a [Record],
    side: &'static str,
    exceptions: &mut Vec<Exception>,
) -> BTreeMap<&'a str, AmountMinor> {
    let mut by_reference = BTreeMap::new();
    for record in records {
        if by_reference
            .insert(record.reference.as_str(), record.amount)
            .is_some()
        {
            exceptions.push(Exception::Duplicate {
                reference: record.reference.clone(),
                side,
            });
        }
    }
    by_reference
}

/// Matches the two sides by reference and returns every exception, sorted.
/// Empty when they agree.
#[must_use]
pub fn reconcile(host: &[Record], network: &[Record]) -> Vec<Exception> {
    let mut exceptions = Vec::new();
    let host_index = index(host, "host", &mut exceptions);
    let network_index = index(network, "network", &mut exceptions);
    for (reference, host_amount) in &host_index {
        match network_index.get(reference) {
            None => exceptions.push(Exception::MissingInClearing {
                reference: (*reference).to_owned(),
                host: *host_amount,
            }),
            Some(network_amount) if network_amount != host_amount => {
                exceptions.push(Exception::AmountDiffers {
                    reference: (*reference).to_owned(),
                    host: *host_amount,
                    network: *network_amount,
                });
            }
            Some(_) => {}
        }
    }
    for (reference, network_amount) in &network_index {
        if !host_index.contains_key(reference) {
            exceptions.push(Exception::MissingAtHost {
                reference: (*reference).to_owned(),
                network: *network_amount,
            });
        }
    }
    exceptions.sort();
    exceptions.dedup();
    exceptions
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record(reference: &str, amount: i64) -> Record {
        Record {
            reference: reference.to_owned(),
            amount: AmountMinor(amount),
        }
    }

    #[test]
    fn every_kind_of_difference() {
        let host = [
            record("A", 100),
            record("B", 200),
            record("C", 300),
            record("C", 300),
        ];
        let network = [record("A", 100), record("B", 250), record("D", 400)];
        let reasons: Vec<(&str, String)> = reconcile(&host, &network)
            .iter()
            .map(|e| (e.reason(), format!("{e:?}")))
            .collect();
        let names: Vec<&str> = reasons.iter().map(|(r, _)| *r).collect();
        assert_eq!(
            names,
            [
                "missing_in_clearing",
                "missing_at_host",
                "amount_differs",
                "duplicate"
            ]
        );
        assert!(reasons[0].1.contains("\"C\""));
        assert!(reasons[1].1.contains("\"D\""));
        assert!(reasons[2].1.contains("\"B\""));
    }

    proptest! {
        #[test]
        fn identical_sides_agree(amounts in proptest::collection::vec(0_i64..1_000_000, 0..50)) {
            let records: Vec<Record> = amounts
                .iter()
                .enumerate()
                .map(|(i, a)| record(&format!("{i:012}"), *a))
                .collect();
            prop_assert!(reconcile(&records, &records).is_empty());
            let mut shuffled = records.clone();
            shuffled.reverse();
            prop_assert!(reconcile(&records, &shuffled).is_empty());
        }
    }
}
