//! The terminal's persistent state: STAN, DUKPT counter, batch number and
//! totals, and the store-and-forward reversal queue.
//!
//! The state file never holds a clear PAN, track data, PIN or key: queued
//! reversals carry only what DE 90 and the totals need.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// Largest STAN; the next one wraps to 1.
pub const STAN_MAX: u32 = 999_999;
/// Largest batch number; the next one wraps to 1.
pub const BATCH_MAX: u32 = 999_999;
/// Largest DUKPT transaction counter (21 bits).
pub const KSN_COUNTER_MAX: u32 = 0x1F_FFFF;
/// Most one-bits a valid DUKPT counter may have (ANSI X9.24-1).
pub const KSN_COUNTER_ONE_BITS_MAX: u32 = 10;
/// Most reversals waiting in the store-and-forward queue.
pub const REVERSAL_QUEUE_MAX: usize = 64;

/// Why the state cannot move on.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Every DUKPT counter of this key has been used: the terminal needs a
    /// new initial key.
    #[error("DUKPT counter exhausted; load a new initial key")]
    KeyExhausted,
    /// The store-and-forward queue is full: the terminal must reach the host
    /// before it takes another transaction.
    #[error("reversal queue full ({REVERSAL_QUEUE_MAX}); connect to the host first")]
    QueueFull,
    /// The initial KSN is not 20 hex characters with a zero counter.
    #[error("initial KSN must be 20 hex characters with a zero counter")]
    BadKsn,
    /// Reading or writing the state file failed.
    #[error("state file {path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The state file is not valid.
    #[error("state file {path} is not valid: {source}")]
    Format {
        /// File.
        path: String,
        /// Cause.
        source: serde_json::Error,
    },
}

/// A reversal waiting to be sent (0400 first, then 0420 repeats).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedReversal {
    /// MTI of the original.
    pub original_mti: String,
    /// DE 3 of the original.
    pub processing_code: String,
    /// STAN of the original.
    pub original_stan: String,
    /// DE 7 of the original.
    pub original_transmission: String,
    /// Amount of the original, minor units.
    pub amount_minor: i64,
    /// Times sent so far.
    pub attempts: u32,
}

impl QueuedReversal {
    /// DE 90: original MTI + STAN + DE 7 + 22 zeros.
    #[must_use]
    pub fn original_data(&self) -> String {
        format!(
            "{}{}{}{}",
            self.original_mti,
            self.original_stan,
            self.original_transmission,
            "0".repeat(22)
        )
    }

    /// The MTI of the next send: 0400 first, 0420 for every repeat.
    #[must_use]
    pub fn mti(&self) -> &'static str {
        if self.attempts == 0 { "0400" } else { "0420" }
    }
}

/// The terminal's own totals of the open batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Refunds.
    pub credit_count: u64,
    /// Refund total, minor units.
    pub credit_amount_minor: i64,
    /// Sales and completions.
    pub debit_count: u64,
    /// Sale and completion total, minor units.
    pub debit_amount_minor: i64,
}

/// A transaction of the open batch the terminal may void.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchEntry {
    /// RRN the host assigned.
    pub rrn: String,
    /// Authorization code.
    pub auth_code: String,
    /// Kind: `sale`, `completion`, `refund`, `preauth`.
    pub kind: String,
    /// Amount, minor units.
    pub amount_minor: i64,
    /// Masked PAN, for receipts.
    pub masked_pan: String,
    /// Whether it was voided.
    pub voided: bool,
}

/// Everything a terminal remembers between transactions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalState {
    /// TID.
    pub tid: String,
    /// MID.
    pub mid: String,
    /// Initial KSN (20 hex characters, counter zero).
    pub initial_ksn: String,
    /// Last DUKPT counter used (0 before the first).
    pub ksn_counter: u32,
    /// Last STAN used (0 before the first).
    pub stan: u32,
    /// Open batch number.
    pub batch: u32,
    /// Totals of the open batch.
    pub totals: Totals,
    /// Transactions of the open batch.
    pub entries: Vec<BatchEntry>,
    /// Reversals waiting to be sent.
    pub reversals: Vec<QueuedReversal>,
    /// Whether requests and responses carry a MAC (the terminal's profile).
    #[serde(default)]
    pub mac_required: bool,
    /// Merchant name printed on receipts.
    #[serde(default)]
    pub merchant_name: String,
    /// Host address (`host:port`) the terminal connects to.
    #[serde(default)]
    pub host: Option<String>,
}

impl TerminalState {
    /// A fresh terminal with its initial KSN, batch 1.
    ///
    /// # Errors
    /// [`StateError::BadKsn`] unless the KSN is 20 hex characters whose
    /// 21-bit counter is zero.
    pub fn new(tid: &str, mid: &str, initial_ksn: &str) -> Result<TerminalState, StateError> {
        let hex = initial_ksn.len() == 20 && initial_ksn.bytes().all(|b| b.is_ascii_hexdigit());
        // The 21-bit counter spans the last six hex digits (24 bits).
        let counter = hex
            .then(|| u32::from_str_radix(&initial_ksn[14..], 16).ok())
            .flatten();
        if counter.map(|c| c & KSN_COUNTER_MAX) != Some(0) {
            return Err(StateError::BadKsn);
        }
        Ok(TerminalState {
            tid: tid.to_owned(),
            mid: mid.to_owned(),
            initial_ksn: initial_ksn.to_ascii_uppercase(),
            ksn_counter: 0,
            stan: 0,
            batch: 1,
            totals: Totals::default(),
            entries: Vec::new(),
            reversals: Vec::new(),
            mac_required: false,
            merchant_name: String::new(),
            host: None,
        })
    }

    /// Takes the next STAN (1 to [`STAN_MAX`], then around again).
    pub fn next_stan(&mut self) -> String {
        self.stan = if self.stan >= STAN_MAX {
            1
        } else {
            self.stan + 1
        };
        format!("{:06}", self.stan)
    }

    /// Takes the next DUKPT KSN: the next counter with at most ten one-bits.
    ///
    /// # Errors
    /// [`StateError::KeyExhausted`] past the last valid counter.
    pub fn next_ksn(&mut self) -> Result<String, StateError> {
        let mut counter = self.ksn_counter;
        loop {
            counter = counter.checked_add(1).ok_or(StateError::KeyExhausted)?;
            if counter > KSN_COUNTER_MAX {
                return Err(StateError::KeyExhausted);
            }
            if counter.count_ones() <= KSN_COUNTER_ONE_BITS_MAX {
                break;
            }
        }
        self.ksn_counter = counter;
        Ok(ksn_with_counter(&self.initial_ksn, counter))
    }

    /// The open batch number as DE 60 carries it.
    #[must_use]
    pub fn batch_field(&self) -> String {
        format!("{:06}", self.batch)
    }

    /// Queues a reversal for the next connection.
    ///
    /// # Errors
    /// [`StateError::QueueFull`].
    pub fn queue_reversal(&mut self, reversal: QueuedReversal) -> Result<(), StateError> {
        if self.reversals.len() >= REVERSAL_QUEUE_MAX {
            return Err(StateError::QueueFull);
        }
        self.reversals.push(reversal);
        Ok(())
    }

    /// Closes the batch after a 0510 and opens the next one.
    pub fn close_batch(&mut self) {
        self.batch = if self.batch >= BATCH_MAX {
            1
        } else {
            self.batch + 1
        };
        self.totals = Totals::default();
        self.entries.clear();
    }

    /// Loads the state file.
    ///
    /// # Errors
    /// [`StateError::Io`] or [`StateError::Format`].
    pub fn load(path: &Path) -> Result<TerminalState, StateError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| StateError::Io {
            path: shown.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| StateError::Format {
            path: shown,
            source,
        })
    }

    /// Saves the state file atomically (write a sibling, then rename).
    ///
    /// # Errors
    /// [`StateError::Io`].
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let io = |source| StateError::Io {
            path: path.display().to_string(),
            source,
        };
        // Serializing plain strings and integers cannot fail.
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        let temporary = path.with_extension("tmp");
        std::fs::write(&temporary, text).map_err(io)?;
        std::fs::rename(&temporary, path).map_err(io)
    }
}

/// The KSN with `counter` in its low 21 bits.
fn ksn_with_counter(initial_ksn: &str, counter: u32) -> String {
    let head = &initial_ksn[..14];
    let tail = u32::from_str_radix(&initial_ksn[14..], 16).unwrap_or(0) & !KSN_COUNTER_MAX;
    format!("{head}{:06X}", tail | counter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terminal() -> TerminalState {
        TerminalState::new("T0000001", "100000000000001", "FFFF9876543210E00000").unwrap()
    }

    #[test]
    fn ksn_counter_skips_counters_with_too_many_one_bits() {
        let mut state = terminal();
        assert_eq!(state.next_ksn().unwrap(), "FFFF9876543210E00001");
        assert_eq!(state.next_ksn().unwrap(), "FFFF9876543210E00002");
        state.ksn_counter = 0x0003FE; // nine one-bits; 0x3FF has ten and is valid
        assert_eq!(state.next_ksn().unwrap(), "FFFF9876543210E003FF");
        state.ksn_counter = 0x0007FE; // 0x7FF has eleven one-bits: skipped
        assert_eq!(state.next_ksn().unwrap(), "FFFF9876543210E00800");
        // KSNs of the published DUKPT vectors: EFF800, then F00000 (the 21st bit).
        state.ksn_counter = 0x0F_F7FF; // the next counter, 0x0FF800, has nine one-bits
        assert_eq!(state.next_ksn().unwrap(), "FFFF9876543210EFF800");
        state.ksn_counter = 0x0F_FFFF;
        assert_eq!(state.next_ksn().unwrap(), "FFFF9876543210F00000");
        state.ksn_counter = 0x1F_F800; // ten one-bits: every later counter has more
        assert!(matches!(state.next_ksn(), Err(StateError::KeyExhausted)));
    }

    #[test]
    fn stan_and_batch_wrap() {
        let mut state = terminal();
        assert_eq!(state.next_stan(), "000001");
        state.stan = STAN_MAX;
        assert_eq!(state.next_stan(), "000001");
        state.batch = BATCH_MAX;
        state.close_batch();
        assert_eq!(state.batch_field(), "000001");
    }

    #[test]
    fn rejects_bad_initial_ksns() {
        for ksn in [
            "FFFF9876543210E00001",
            "FFFF9876543210F00000",
            "FFFF9876543210E0000",
            "FFFF9876543210E0000G",
        ] {
            assert!(TerminalState::new("T", "M", ksn).is_err(), "{ksn}");
        }
    }

    #[test]
    fn queue_is_bounded_and_state_round_trips() {
        let mut state = terminal();
        let reversal = QueuedReversal {
            original_mti: "0200".into(),
            processing_code: "000000".into(),
            original_stan: "000007".into(),
            original_transmission: "1124153045".into(),
            amount_minor: 3_800,
            attempts: 0,
        };
        for _ in 0..REVERSAL_QUEUE_MAX {
            state.queue_reversal(reversal.clone()).unwrap();
        }
        assert!(matches!(
            state.queue_reversal(reversal),
            Err(StateError::QueueFull)
        ));
        let dir = std::env::temp_dir().join(format!("posbridge-terminal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("T0000001.json");
        state.save(&path).unwrap();
        assert_eq!(TerminalState::load(&path).unwrap(), state);
        std::fs::write(&path, "{").unwrap();
        assert!(matches!(
            TerminalState::load(&path),
            Err(StateError::Format { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
