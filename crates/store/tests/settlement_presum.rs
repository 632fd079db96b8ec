//! Presummed aggregation equals the scan of the items: every seq range a
//! pass may cover, with ranges straddling its bounds, a tail not presummed,
//! late items of a date already settled, merged ranges and a crash in the
//! middle of a step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use store::{SettlementItem, Store, WriteOp};

const KINDS: [&str; 4] = ["capture", "refund", "void", "chargeback"];

/// A deterministic spread of items over dates, cycles, merchants,
/// terminals and kinds.
fn item(n: u64) -> SettlementItem {
    let mix = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
    let kind = KINDS[(mix % 4) as usize];
    let amount = 100 + (mix % 9_000) as i64;
    let signed = if kind == "capture" { amount } else { -amount };
    SettlementItem {
        item_id: format!("{n:012}/{kind}"),
        mid: format!("1000000000{:05}", mix % 13),
        tid: format!("T{:07}", (mix >> 4) % 3),
        rrn: format!("{n:012}"),
        business_date: ["2026-11-23", "2026-11-24"][((mix >> 8) % 2) as usize].into(),
        cycle: ["T0", "T1"][((mix >> 9) % 2) as usize].into(),
        channel: "credit".into(),
        kind: kind.into(),
        amount_minor: signed,
        fee_minor: signed * 6 / 1000,
        discount_minor: (mix % 3) as i64,
        fee_share_minor: (mix % 5) as i64,
        points: (mix % 7) as i64 - 3,
        program: String::new(),
        created_at_ns: n,
    }
}

fn write(store: &mut Store, items: std::ops::Range<u64>) {
    let batch: Vec<_> = items.map(item).collect();
    store
        .write(vec![WriteOp::SettlementItems(batch)], 1)
        .unwrap();
}

/// Every (date, cycle) and every pair of bounds from `bounds`: the
/// presummed sums equal the reference scan.
fn assert_equal_everywhere(store: &mut Store, bounds: &[i64]) {
    let mut checked = 0;
    for date in ["2026-11-23", "2026-11-24", "2026-11-25"] {
        for cycle in ["T0", "T1"] {
            for (i, from) in bounds.iter().enumerate() {
                for to in &bounds[i..] {
                    let reference = store
                        .settlement_aggregate(date, cycle, (*from, *to))
                        .unwrap();
                    let presummed = store
                        .settlement_aggregate_presummed(date, cycle, (*from, *to))
                        .unwrap();
                    assert_eq!(presummed, reference, "{date} {cycle} ({from}, {to}]");
                    checked += usize::from(!reference.is_empty());
                }
            }
        }
    }
    assert!(checked > 0, "no range had items");
}

fn presum_equals_scan(url: &str) {
    let mut store = Store::open(url).unwrap();
    // Nothing yet: nothing to presum.
    let report = store.presum_settlement_items(1).unwrap();
    assert_eq!((report.ranges, report.presummed_to), (0, 0));
    write(&mut store, 0..300);
    let report = store.presum_settlement_items(2).unwrap();
    assert_eq!((report.ranges, report.items), (1, 300));
    assert_eq!(report.presummed_to, 300);
    // Again: nothing new, nothing written.
    assert_eq!(store.presum_settlement_items(3).unwrap().ranges, 0);
    // A tail not presummed yet.
    write(&mut store, 300..420);
    let bounds = [0, 1, 150, 299, 300, 301, 350, 420];
    assert_equal_everywhere(&mut store, &bounds);
    // Presummed in steps of growing and shrinking size: ranges merge.
    for end in [450, 460, 470, 520, 700, 705] {
        let start = store.settlement_items_watermark().unwrap() as u64;
        write(&mut store, start..end);
        store.presum_settlement_items(4).unwrap();
    }
    let ranges = store.settlement_presum_ranges().unwrap();
    assert!(ranges.len() < 7, "{ranges:?}");
    assert_eq!(ranges.first().unwrap().from_seq, 0);
    assert!(ranges.windows(2).all(|w| w[0].to_seq == w[1].from_seq));
    assert_eq!(ranges.iter().map(|r| r.items).sum::<i64>(), 705);
    // Late items of a date a pass already covered, after the presum.
    let late: Vec<_> = (705..730)
        .map(|n| {
            let mut it = item(n);
            it.business_date = "2026-11-23".into();
            it
        })
        .collect();
    store
        .write(vec![WriteOp::SettlementItems(late)], 5)
        .unwrap();
    let mut bounds: Vec<i64> = ranges.iter().flat_map(|r| [r.from_seq, r.to_seq]).collect();
    bounds.extend([1, 333, 451, 600, 704, 705, 706, 730]);
    bounds.sort_unstable();
    bounds.dedup();
    assert_equal_everywhere(&mut store, &bounds);
    // The whole day from the partials alone equals the scan.
    store.presum_settlement_items(6).unwrap();
    assert_equal_everywhere(&mut store, &[0, 730]);
}

/// A step that dies before its commit leaves no range and no partial;
/// the next step writes it whole.
fn crash_mid_presum_leaves_nothing(url: &str) {
    let mut store = Store::open(url).unwrap();
    write(&mut store, 0..200);
    store.presum_settlement_items(1).unwrap();
    write(&mut store, 200..260);
    let before = store.settlement_presum_ranges().unwrap();
    let mut dying = Store::open(url).unwrap();
    assert!(dying.presum_step_left_open(2).unwrap());
    drop(dying);
    assert_eq!(store.settlement_presum_ranges().unwrap(), before);
    assert_eq!(store.settlement_presummed_to().unwrap(), 200);
    assert_equal_everywhere(&mut store, &[0, 100, 200, 230, 260]);
    let report = store.presum_settlement_items(3).unwrap();
    assert_eq!((report.items, report.presummed_to), (60, 260));
    assert_equal_everywhere(&mut store, &[0, 100, 200, 230, 260]);
    let ranges = store.settlement_presum_ranges().unwrap();
    assert_eq!(ranges.iter().map(|r| r.items).sum::<i64>(), 260);
}

/// A database upgraded with items: presums start at the watermark of the
/// upgrade (the empty range migration 10 seeds) and passes read the items
/// before it themselves.
fn presums_start_after_the_history(url: &str) {
    let mut store = Store::open(url).unwrap();
    write(&mut store, 0..150);
    store
        .execute_sql(
            "INSERT INTO settlement_presum_ranges (to_seq, from_seq, items, created_at) \
             VALUES (150, -1, 0, 0)",
        )
        .unwrap();
    write(&mut store, 150..400);
    let report = store.presum_settlement_items(1).unwrap();
    assert_eq!((report.items, report.presummed_to), (250, 400));
    let ranges = store.settlement_presum_ranges().unwrap();
    assert_eq!(ranges[1].from_seq, 150);
    write(&mut store, 400..420);
    assert_equal_everywhere(&mut store, &[0, 1, 149, 150, 151, 300, 400, 410, 420]);
}

store::on_both_engines!(
    presum_equals_scan,
    crash_mid_presum_leaves_nothing,
    presums_start_after_the_history
);
