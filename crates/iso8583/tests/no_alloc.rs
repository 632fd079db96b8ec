//! Decoding does not touch the heap: a counting global allocator proves it.

use std::alloc::System;

use iso8583::{ISO87, Message, samples};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn decode_allocates_nothing() {
    let mut buffer = vec![0u8; 4096];
    let mut frames = Vec::new();
    for builder in [
        samples::sale_request(&ISO87).expect("sample"),
        samples::sale_response(&ISO87).expect("sample"),
        samples::settlement_request(&ISO87).expect("sample"),
        samples::reversal_request(&ISO87).expect("sample"),
    ] {
        let len = builder.encode(&mut buffer).expect("fits");
        frames.push(buffer[..len].to_vec());
    }
    let region = Region::new(GLOBAL);
    let mut checksum = 0u64;
    for bytes in &frames {
        let message = Message::decode(&ISO87, bytes).expect("valid");
        checksum += u64::from(message.stan().unwrap_or(0));
        checksum += message.amount_minor().unwrap_or(0);
        checksum += message.icc_tlv().map_or(0, |tlv| tlv.count() as u64);
        checksum += message.mac_input().map_or(0, |m| m.len() as u64);
        checksum += message.encode(&mut buffer).map_or(0, |n| n as u64);
    }
    let _ = Message::decode(&ISO87, b"0200garbage");
    let stats = region.change();
    assert!(checksum > 0);
    assert_eq!(stats.allocations, 0, "{stats:?}");
    assert_eq!(stats.reallocations, 0, "{stats:?}");
}
