//! Two real hosts (each its own server, `Host` and store writer) on one
//! PostgreSQL database, and one terminal talking to both: every rule of
//! the host interface for retries holds across them (see `host::lease`).
//! PostgreSQL only: SQLite serves one process per file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod iso_support;

use std::collections::HashSet;

use iso_support::*;
use iso8583::de;
use store::HostTable;
use store::testing::TestDatabase;

const A: usize = 0;
const B: usize = 1;

/// Runs `test` against two servers started on one fresh PostgreSQL schema
/// (skipped only when `POSBRIDGE_TEST_PG_URL` is unset).
fn two_hosts<F, Fut>(name: &str, test: F)
where
    F: FnOnce([TestServer; 2]) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let Some(database) = TestDatabase::postgres(name) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let a = TestServer::start_with(TestServer::config(database.url())).await;
        let b = TestServer::start_with(TestServer::config(database.url())).await;
        test([a, b]).await;
    });
    drop(runtime);
    drop(database);
}

/// One terminal with a connection to each host, sharing one STAN and KSN
/// counter as a real terminal would.
struct Terminal {
    links: Vec<Client>,
    last: usize,
}

impl Terminal {
    async fn connect(servers: &[TestServer; 2], tid: &str) -> Terminal {
        Terminal {
            links: vec![servers[A].client(tid).await, servers[B].client(tid).await],
            last: A,
        }
    }

    /// The connection to host `host`, carrying on the terminal's counters.
    fn at(&mut self, host: usize) -> &mut Client {
        let (stan, ksn) = (
            self.links[self.last].stan,
            self.links[self.last].ksn_counter,
        );
        self.last = host;
        let link = &mut self.links[host];
        link.stan = stan;
        link.ksn_counter = ksn;
        link
    }
}

fn follow_up(
    c: &mut Client,
    processing: &str,
    pan: &str,
    amount: u64,
    rrn: &str,
) -> iso8583::MessageBuilder {
    let mut b = c.financial("0200", processing, pan, amount, MID1);
    b.set_text(de::RRN, rrn).unwrap();
    b
}

fn reversal_of(c: &mut Client, original: &iso8583::MessageBuilder) -> iso8583::MessageBuilder {
    let mut b = c.base("0400");
    for field in [3, 4, 22, 25, 42, 49] {
        if let Some(value) = original.get(field) {
            b.set(field, value).unwrap();
        }
    }
    let text = |field| std::str::from_utf8(original.get(field).unwrap()).unwrap();
    let data = format!(
        "{}{}{}{}",
        original.mti().as_str(),
        text(de::STAN),
        text(de::TRANSMISSION_DATE_TIME),
        "0".repeat(22)
    );
    b.set_text(de::ORIGINAL_DATA, &data).unwrap();
    b
}

/// The fields a duplicate must repeat (host-interface.md, section 4).
fn answered(response: &Response) -> [Option<String>; 3] {
    [
        response.text(de::RRN),
        response.text(de::AUTHORIZATION_CODE),
        response.text(de::RESPONSE_CODE),
    ]
}

async fn events(server: &TestServer, name: &str) -> u64 {
    server.running.host.metrics().events(name)
}

/// Stops both servers; the second's store verifies the ledger and returns
/// the transaction records.
async fn stop_and_read(
    servers: [TestServer; 2],
) -> (ledger::verify::Report, Vec<(String, String)>) {
    let [a, b] = servers;
    a.running.shutdown().await.unwrap();
    b.stop_and(|store| {
        (
            store.verify_ledger().unwrap(),
            store.host_rows(HostTable::Transactions).unwrap(),
        )
    })
    .await
}

#[test]
fn retries_keep_their_rules_across_two_hosts() {
    two_hosts("two_hosts_retries", |servers| async move {
        let mut t = Terminal::connect(&servers, "T0000001").await;
        let start = available(t.at(A), DEBIT, MID1).await;

        // A sale on A, its duplicate on B: B answers the stored response.
        let sale = t.at(A).sale(DEBIT, 4_000, MID1);
        let sold = t.at(A).call(&sale).await;
        assert_eq!(sold.code(), "00");
        let again = t.at(B).call(&sale).await;
        assert_eq!(answered(&again), answered(&sold));
        assert_eq!(available(t.at(B), DEBIT, MID1).await, start - 4_000);
        assert!(events(&servers[B], "lease_takeover").await >= 1);

        // Reversed on B once; the same reversal on A is a duplicate.
        let reversal = reversal_of(t.at(B), &sale);
        let reversed = t.at(B).call(&reversal).await;
        assert_eq!(
            (reversed.mti(), reversed.code()),
            ("0410".into(), "00".into())
        );
        let repeated = t.at(A).call(&reversal).await;
        assert_eq!(answered(&repeated), answered(&reversed));
        assert_eq!(available(t.at(A), DEBIT, MID1).await, start);
        assert_eq!(
            available(t.at(B), DEBIT, MID1).await,
            start,
            "reversed once"
        );

        // A reversal before its original, on either host: the original gets 94.
        let late = t.at(A).sale(DEBIT, 3_000, MID1);
        let early = reversal_of(t.at(B), &late);
        assert_eq!(t.at(B).call(&early).await.code(), "00");
        assert_eq!(t.at(A).call(&late).await.code(), "94");
        let late = t.at(B).sale(DEBIT, 2_000, MID1);
        let early = reversal_of(t.at(A), &late);
        assert_eq!(t.at(A).call(&early).await.code(), "00");
        assert_eq!(t.at(B).call(&late).await.code(), "94");
        assert_eq!(available(t.at(B), DEBIT, MID1).await, start);

        // A void or refund of something unknown, on B: 25.
        let void = follow_up(t.at(B), "020000", DEBIT, 1_000, "999999999999");
        assert_eq!(t.at(B).call(&void).await.code(), "25");
        let refund = follow_up(t.at(B), "200000", DEBIT, 1_000, "999999999998");
        assert_eq!(t.at(B).call(&refund).await.code(), "25");

        // A void on B of A's sale, a refund on A of B's sale.
        let sale = t.at(A).sale(DEBIT, 6_000, MID1);
        let sold_a = t.at(A).call(&sale).await;
        assert_eq!(sold_a.code(), "00");
        let void = follow_up(t.at(B), "020000", DEBIT, 6_000, &sold_a.rrn());
        assert_eq!(t.at(B).call(&void).await.code(), "00");
        let void_again = follow_up(t.at(A), "020000", DEBIT, 6_000, &sold_a.rrn());
        assert_eq!(t.at(A).call(&void_again).await.code(), "12");
        let sale = t.at(B).sale(DEBIT, 5_000, MID1);
        let sold_b = t.at(B).call(&sale).await;
        assert_eq!(sold_b.code(), "00");
        let refund = follow_up(t.at(A), "200000", DEBIT, 5_000, &sold_b.rrn());
        assert_eq!(t.at(A).call(&refund).await.code(), "00");
        let refund_again = follow_up(t.at(B), "200000", DEBIT, 1, &sold_b.rrn());
        assert_eq!(t.at(B).call(&refund_again).await.code(), "13");
        assert_eq!(available(t.at(A), DEBIT, MID1).await, start);

        let taken = events(&servers[A], "lease_takeover").await
            + events(&servers[B], "lease_takeover").await;
        assert!(taken >= 10, "every switch takes the lease over ({taken})");
        let exposed = servers[A].running.host.metrics().render();
        assert!(exposed.contains("posbridge_iso_events_total{event=\"lease_takeover\"}"));
        assert!(servers[A].running.host.healthy() && servers[B].running.host.healthy());

        let (report, transactions) = stop_and_read(servers).await;
        assert!(report.violations.is_empty(), "{:?}", report.violations);
        for response in [&sold, &sold_a, &sold_b] {
            let rrn = response.rrn();
            assert_eq!(
                transactions.iter().filter(|(key, _)| *key == rrn).count(),
                1,
                "sale {rrn} recorded once"
            );
        }
    });
}

#[test]
fn interleaved_traffic_keeps_the_ledger_and_every_approval() {
    two_hosts("two_hosts_interleaved", |servers| async move {
        let mut t = Terminal::connect(&servers, "T0000001").await;
        let mut approved = Vec::new();
        let mut rrns = HashSet::new();
        let mut stans = HashSet::new();
        for round in 0..24u64 {
            let host = (round % 2) as usize;
            let other = 1 - host;
            let pan = if round % 3 == 0 { COBRAND } else { DEBIT };
            let sale = t.at(host).sale(pan, 1_000 + round, MID1);
            let stan = std::str::from_utf8(sale.get(de::STAN).unwrap())
                .unwrap()
                .to_owned();
            assert!(
                stans.insert((t.links[host].tid.clone(), stan)),
                "STANs are unique"
            );
            let sold = t.at(host).call(&sale).await;
            assert_eq!(sold.code(), "00", "round {round}");
            assert!(rrns.insert(sold.rrn()), "RRN {} issued twice", sold.rrn());
            approved.push(sold.rrn());
            if round % 4 == 3 {
                let void = follow_up(t.at(other), "020000", pan, 1_000 + round, &sold.rrn());
                let voided = t.at(other).call(&void).await;
                assert_eq!(voided.code(), "00", "void in round {round}");
                assert!(
                    rrns.insert(voided.rrn()),
                    "RRN {} issued twice",
                    voided.rrn()
                );
                approved.push(voided.rrn());
            }
        }
        let (report, transactions) = stop_and_read(servers).await;
        assert!(report.violations.is_empty(), "{:?}", report.violations);
        assert!(report.transfers >= 24);
        let stored: HashSet<&str> = transactions.iter().map(|(key, _)| key.as_str()).collect();
        for rrn in &approved {
            assert!(
                stored.contains(rrn.as_str()),
                "approved {rrn} is in the database"
            );
        }
    });
}

/// Holds the writers' batch lock from a connection of its own until the
/// returned sender is dropped or sent to: every batch of every host waits.
fn hold_batch_lock(url: &str) -> std::sync::mpsc::Sender<()> {
    let (locked, is_locked) = std::sync::mpsc::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let url = url.to_owned();
    std::thread::spawn(move || {
        let mut store = store::Store::open(&url).unwrap();
        store
            .execute_sql(
                "BEGIN; SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || \
                 '.posbridge.ledger_writer', 0))",
            )
            .unwrap();
        locked.send(()).unwrap();
        let _ = released.recv();
        store.execute_sql("COMMIT").unwrap();
    });
    is_locked.recv().unwrap();
    release
}

#[test]
fn a_fenced_host_answers_96_changes_nothing_and_recovers() {
    two_hosts("two_hosts_fenced", |servers| async move {
        let mut t = Terminal::connect(&servers, "T0000001").await;
        let start = available(t.at(A), DEBIT, MID1).await;
        // B takes the lease over; A does not know yet.
        assert_eq!(available(t.at(B), DEBIT, MID1).await, start);
        let fenced_before = events(&servers[A], "lease_fenced").await;

        // A sale on A is decided under A's old epoch and waits for the
        // writer; its duplicates are answered from that decision, in
        // flight. Then the batch runs: the sale is refused unwritten by the
        // fence and decided again after the takeover (00); the duplicates,
        // resting on the refused decision, get 96.
        let lock = hold_batch_lock(&servers[A].url);
        let sale = t.at(A).sale(DEBIT, 7_000, MID1);
        let copies = 4;
        for _ in 0..copies {
            t.at(A).send(&sale).await;
        }
        // Only lets the host decide them all before the batch runs.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        drop(lock);
        let mut answers = Vec::new();
        for _ in 0..copies {
            answers.push(Response(t.at(A).recv().await.unwrap()));
        }
        let codes: Vec<String> = answers.iter().map(Response::code).collect();
        let approved: Vec<&Response> = answers.iter().filter(|r| r.code() == "00").collect();
        assert_eq!(approved.len(), 1, "{codes:?}");
        assert_eq!(
            codes.iter().filter(|code| *code == "96").count(),
            copies - 1,
            "{codes:?}"
        );
        assert!(events(&servers[A], "lease_fenced").await > fenced_before);
        assert!(servers[A].running.host.healthy(), "no fail-stop");

        // A duplicate now gets the approval; charged once, on either host.
        let again = t.at(B).call(&sale).await;
        assert_eq!(answered(&again), answered(approved[0]));
        assert_eq!(available(t.at(A), DEBIT, MID1).await, start - 7_000);
        assert_eq!(available(t.at(B), DEBIT, MID1).await, start - 7_000);
        let rrn = approved[0].rrn();
        let (report, transactions) = stop_and_read(servers).await;
        assert!(report.violations.is_empty(), "{:?}", report.violations);
        let sales = transactions
            .iter()
            .filter(|(_, body)| body.contains("amount=7000"))
            .count();
        assert_eq!(sales, 1, "one sale recorded");
        assert!(transactions.iter().any(|(key, _)| *key == rrn));
    });
}

#[test]
fn a_fenced_admin_change_writes_nothing() {
    two_hosts("two_hosts_admin", |servers| async move {
        let mut t = Terminal::connect(&servers, "T0000001").await;
        let start = available(t.at(A), DEBIT, MID1).await;
        assert_eq!(available(t.at(B), DEBIT, MID1).await, start);
        // A believes it holds the lease: its next change is fenced.
        let terminal = servers[A]
            .running
            .host
            .inspect(|state| state.terminals.get("T0000001").cloned())
            .await
            .unwrap();
        let mut suspended = terminal.clone();
        suspended.active = false;
        let refused = servers[A]
            .running
            .host
            .upsert_terminal(suspended.clone(), None)
            .await;
        assert!(refused.is_err(), "fenced: {refused:?}");
        // Nothing was written: the terminal is still served, on both hosts.
        assert_eq!(available(t.at(B), DEBIT, MID1).await, start);
        assert_eq!(available(t.at(A), DEBIT, MID1).await, start);
        // Taken back, the change applies.
        let applied = servers[A]
            .running
            .host
            .upsert_terminal(suspended, None)
            .await
            .unwrap();
        assert!(applied.applied());
        let b = t.at(B).financial("0100", "310000", DEBIT, 0, MID1);
        assert_eq!(t.at(B).call(&b).await.code(), "58");
        let (report, _) = stop_and_read(servers).await;
        assert!(report.violations.is_empty());
    });
}
