//! Benchmarks of the host's hot paths: a TDES DUKPT transaction key and a
//! format 0 PIN block translation.
#![allow(clippy::unwrap_used)]

use cardsec::{Ksn, Pan, TdesKey, dukpt, pin};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn bench_dukpt(c: &mut Criterion) {
    let bdk = TdesKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap();
    // Counter EFF800 has 9 one-bits: close to the worst case of 10.
    let ksn = Ksn::from_hex("FFFF9876543210EFF800").unwrap();
    c.bench_function("dukpt_transaction_key_9_bits", |b| {
        b.iter(|| dukpt::transaction_key(black_box(&bdk), black_box(&ksn)).unwrap())
    });
    let ipek = dukpt::ipek(&bdk, &ksn).unwrap();
    c.bench_function("dukpt_transaction_key_from_cached_ipek_9_bits", |b| {
        b.iter(|| dukpt::transaction_key_from_ipek(black_box(&ipek), black_box(&ksn)).unwrap())
    });
    // A device's counters in order, through the per-terminal key cache.
    let counters: Vec<Ksn> = (1u32..=4096)
        .filter(|c| c.count_ones() <= 10)
        .map(|c| ksn.with_counter(c).unwrap())
        .collect();
    let mut cache = dukpt::TransactionKeyCache::new(&bdk, &ksn).unwrap();
    let mut next = 0usize;
    c.bench_function("dukpt_transaction_key_cached_sequential", |b| {
        b.iter(|| {
            next = (next + 1) % counters.len();
            cache.transaction_key(black_box(&counters[next])).unwrap()
        })
    });
    let ksn10 = Ksn::from_hex("FFFF9876543210E003FF").unwrap();
    c.bench_function("dukpt_transaction_key_10_bits", |b| {
        b.iter(|| dukpt::transaction_key(black_box(&bdk), black_box(&ksn10)).unwrap())
    });
}

fn bench_translate(c: &mut Criterion) {
    let bdk = TdesKey::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap();
    let ksn = Ksn::from_hex("FFFF9876543210E00001").unwrap();
    let pan = Pan::new("4012345678909").unwrap();
    let zone_key = TdesKey::from_hex("0123456789ABCDEF0123456789ABCDEF").unwrap();
    let encrypted = [0x1B, 0x9C, 0x18, 0x45, 0xEB, 0x99, 0x3A, 0x7A];
    let pin_key = dukpt::pin_key(&bdk, &ksn).unwrap();
    c.bench_function("pin_translate_iso0", |b| {
        b.iter(|| pin::translate_iso0(black_box(&encrypted), &pan, &pin_key, &zone_key).unwrap())
    });
    c.bench_function("pin_translate_iso0_with_dukpt_derivation", |b| {
        b.iter(|| {
            let pin_key = dukpt::pin_key(black_box(&bdk), black_box(&ksn)).unwrap();
            pin::translate_iso0(black_box(&encrypted), &pan, &pin_key, &zone_key).unwrap()
        })
    });
}

criterion_group!(benches, bench_dukpt, bench_translate);
criterion_main!(benches);
