//! Criterion benches: decode and encode of a realistic 0200 chip sale
//! (285 bytes, DE 55 of 125 bytes) and its 0210 response.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use iso8583::{ISO87, Message, MessageBuilder, samples};

fn bench_message(c: &mut Criterion, name: &str, builder: &MessageBuilder) {
    let mut buffer = vec![0u8; 4096];
    let len = builder.encode(&mut buffer).expect("sample fits");
    let bytes = buffer[..len].to_vec();
    c.bench_function(&format!("{name} decode"), |b| {
        b.iter(|| Message::decode(&ISO87, black_box(&bytes)).map(|m| m.stan()))
    });
    c.bench_function(&format!("{name} encode"), |b| {
        b.iter(|| black_box(builder).encode(&mut buffer))
    });
    c.bench_function(&format!("{name} decode, copy to builder, encode"), |b| {
        b.iter(|| {
            let message = Message::decode(&ISO87, black_box(&bytes)).expect("valid");
            let builder = MessageBuilder::from_message(&message).expect("valid");
            builder.encode(&mut buffer)
        })
    });
}

fn benches(c: &mut Criterion) {
    let sale = samples::sale_request(&ISO87).expect("sample");
    let response = samples::sale_response(&ISO87).expect("sample");
    bench_message(c, "0200 chip sale", &sale);
    bench_message(c, "0210 response", &response);
}

criterion_group!(codec, benches);
criterion_main!(codec);
