//! BER-TLV decoding of DE 55 content, nested objects included.
#![no_main]

use iso8583::tlv::{self, Tlv, TlvIter};
use libfuzzer_sys::fuzz_target;

fn walk(tlv: &Tlv<'_>, depth: usize) {
    if depth > 8 {
        return;
    }
    for child in tlv.children().flatten() {
        walk(&child, depth + 1);
    }
}

fuzz_target!(|data: &[u8]| {
    let valid = tlv::validate(data).is_ok();
    let mut failed = false;
    for object in TlvIter::new(data) {
        match object {
            Ok(object) => walk(&object, 0),
            Err(_) => failed = true,
        }
    }
    if valid {
        assert!(!failed);
    }
});
