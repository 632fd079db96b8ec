//! Counters of the host, rendered as Prometheus text by `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency histogram, in microseconds.
pub const LATENCY_BUCKETS_US: [u64; 10] = [
    500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 1_000_000, 5_000_000,
];

/// The host's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    responses: Mutex<BTreeMap<(String, String), u64>>,
    events: Mutex<BTreeMap<&'static str, u64>>,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS_US.len()],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
    connections_open: AtomicI64,
}

impl Metrics {
    /// Counts a response to a request of `mti` with DE 39 `code`.
    pub fn response(&self, mti: &str, code: &str) {
        if let Ok(mut map) = self.responses.lock() {
            *map.entry((mti.to_owned(), code.to_owned())).or_default() += 1;
        }
    }

    /// Counts an event (closed connection reasons, store failures…).
    pub fn event(&self, name: &'static str) {
        if let Ok(mut map) = self.events.lock() {
            *map.entry(name).or_default() += 1;
        }
    }

    /// Records the latency of one request.
    pub fn latency(&self, elapsed: Duration) {
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        for (bound, bucket) in LATENCY_BUCKETS_US.iter().zip(&self.latency_buckets) {
            if us <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us.fetch_add(us, Ordering::Relaxed);
    }

    /// A connection opened (+1) or closed (-1).
    pub fn connections(&self, delta: i64) {
        self.connections_open.fetch_add(delta, Ordering::Relaxed);
    }

    /// Connections open now.
    pub fn connections_open(&self) -> i64 {
        self.connections_open.load(Ordering::Relaxed)
    }

    /// Responses counted for `mti` and `code`.
    pub fn responses(&self, mti: &str, code: &str) -> u64 {
        self.responses
            .lock()
            .ok()
            .and_then(|map| map.get(&(mti.to_owned(), code.to_owned())).copied())
            .unwrap_or(0)
    }

    /// Events counted under `name`.
    pub fn events(&self, name: &str) -> u64 {
        self.events
            .lock()
            .ok()
            .and_then(|map| map.get(name).copied())
            .unwrap_or(0)
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# TYPE posbridge_iso_responses_total counter\n");
        if let Ok(map) = self.responses.lock() {
            for ((mti, code), count) in map.iter() {
                let _ = writeln!(
                    out,
                    "posbridge_iso_responses_total{{mti=\"{mti}\",code=\"{code}\"}} {count}"
                );
            }
        }
        out.push_str("# TYPE posbridge_iso_events_total counter\n");
        if let Ok(map) = self.events.lock() {
            for (name, count) in map.iter() {
                let _ = writeln!(
                    out,
                    "posbridge_iso_events_total{{event=\"{name}\"}} {count}"
                );
            }
        }
        out.push_str("# TYPE posbridge_iso_latency_seconds histogram\n");
        for (bound, bucket) in LATENCY_BUCKETS_US.iter().zip(&self.latency_buckets) {
            let le = format!("{}.{:06}", bound / 1_000_000, bound % 1_000_000);
            let _ = writeln!(
                out,
                "posbridge_iso_latency_seconds_bucket{{le=\"{le}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let sum = self.latency_sum_us.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "posbridge_iso_latency_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "posbridge_iso_latency_seconds_sum {}.{:06}",
            sum / 1_000_000,
            sum % 1_000_000
        );
        let _ = writeln!(out, "posbridge_iso_latency_seconds_count {count}");
        out.push_str("# TYPE posbridge_iso_connections_open gauge\n");
        let _ = writeln!(
            out,
            "posbridge_iso_connections_open {}",
            self.connections_open()
        );
        out
    }
}
