//! A byte stream split into frames, each frame decoded as a message.
#![no_main]

use iso8583::{CUP, ISO87, Message, decode_frame, salvage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some(frame)) = decode_frame(rest) {
        assert!(frame.consumed >= 2 && frame.consumed <= rest.len());
        for dialect in [&ISO87, &CUP] {
            if Message::decode(dialect, frame.body).is_err() {
                let _ = salvage(dialect, frame.body);
            }
        }
        rest = &rest[frame.consumed..];
    }
});
