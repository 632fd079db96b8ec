//! Expiry of pre-authorization holds: a due hold is expired in the ledger
//! and in the host's state together; its completion is then refused with
//! `12`, the card has the amount back, and a hold not yet due is untouched.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod iso_support;

use std::time::{SystemTime, UNIX_EPOCH};

use iso_support::*;
use iso8583::de;
use ledger::{PendingStatus, TransferId};
use store::HostTable;

both_engines!(a_due_hold_expires_and_its_completion_is_refused);

fn now_ns() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    )
    .unwrap()
}

/// Runs `work` on a second connection to the server's database.
async fn on_store<T: Send + 'static>(
    url: &str,
    work: impl FnOnce(&mut store::Store) -> T + Send + 'static,
) -> T {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || work(&mut store::Store::open(&url).unwrap()))
        .await
        .unwrap()
}

/// The pending transfer of the pre-authorization `rrn`, from its record.
async fn hold_of(url: &str, rrn: String) -> u128 {
    on_store(url, move |store| {
        let rows = store.host_rows(HostTable::Transactions).unwrap();
        let (_, body) = rows.iter().find(|(key, _)| *key == rrn).unwrap();
        let field = body
            .split(';')
            .find_map(|pair| pair.strip_prefix("pending_transfer="))
            .unwrap();
        field.parse().unwrap()
    })
    .await
}

fn completion(c: &mut Client, amount: u64, held: &Response) -> iso8583::MessageBuilder {
    let mut b = c.financial("0220", "000000", DEBIT, amount, MID1);
    b.set_text(de::RRN, &held.rrn()).unwrap();
    b.set_text(de::AUTHORIZATION_CODE, &held.auth_code())
        .unwrap();
    b
}

async fn a_due_hold_expires_and_its_completion_is_refused(server: TestServer) {
    let mut c = server.client("T0000001").await;
    let start = available(&mut c, DEBIT, MID1).await;
    let first = c.financial("0100", "000000", DEBIT, 9_000, MID1);
    let due = c.call(&first).await;
    let second = c.financial("0100", "000000", DEBIT, 4_000, MID1);
    let kept = c.call(&second).await;
    assert_eq!((due.code(), kept.code()), ("00".into(), "00".into()));
    assert_eq!(available(&mut c, DEBIT, MID1).await, start - 13_000);
    let host = &server.running.host;
    // A hold lasts days: nothing is due now.
    assert_eq!(host.expire_holds(&server.url, now_ns()).await.unwrap(), 0);
    // The first hold's timeout passes (moved into the past in the ledger).
    let id = hold_of(&server.url, due.rrn()).await;
    let hex = format!("{id:032X}");
    let sql = if server.url.starts_with("postgres") {
        format!("UPDATE ledger_pending SET expires_at = 1 WHERE id = decode('{hex}', 'hex')")
    } else {
        format!("UPDATE ledger_pending SET expires_at = 1 WHERE id = X'{hex}'")
    };
    on_store(&server.url, move |store| store.execute_sql(&sql).unwrap()).await;
    assert_eq!(host.expire_holds(&server.url, now_ns()).await.unwrap(), 1);
    assert_eq!(
        host.expire_holds(&server.url, now_ns()).await.unwrap(),
        0,
        "once"
    );
    assert!(host.healthy());
    assert_eq!(available(&mut c, DEBIT, MID1).await, start - 4_000);
    let late = completion(&mut c, 9_000, &due);
    assert_eq!(c.call(&late).await.code(), "12", "completion after expiry");
    let in_time = completion(&mut c, 4_000, &kept);
    assert_eq!(c.call(&in_time).await.code(), "00");
    assert_eq!(available(&mut c, DEBIT, MID1).await, start - 4_000);
    let (report, pending) = server
        .stop_and(move |s| {
            (
                s.verify_ledger().unwrap(),
                s.pending(TransferId(id)).unwrap().unwrap(),
            )
        })
        .await;
    assert!(report.violations.is_empty(), "{report:?}");
    assert_eq!(pending.status, PendingStatus::Expired);
}
