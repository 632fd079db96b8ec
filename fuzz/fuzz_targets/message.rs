//! Message decoding: never panics; whatever decodes re-encodes to the same
//! bytes, also through the owned builder.
#![no_main]

use iso8583::{CUP, ISO87, Message, MessageBuilder, salvage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buffer = [0u8; 4096];
    for dialect in [&ISO87, &CUP] {
        let salvaged = salvage(dialect, data);
        let Ok(message) = Message::decode(dialect, data) else {
            assert!(salvaged.error.is_some());
            continue;
        };
        assert!(salvaged.error.is_none());
        let len = message.encode(&mut buffer).expect("a decoded message fits");
        assert_eq!(&buffer[..len], data);
        let builder = MessageBuilder::from_message(&message).expect("decoded values are valid");
        let len = builder.encode(&mut buffer).expect("a decoded message fits");
        assert_eq!(&buffer[..len], data);
        let _ = message.mac_input();
        let _ = message.original_data();
        if let Some(icc) = message.icc_tlv() {
            let _ = icc.count();
        }
    }
});
