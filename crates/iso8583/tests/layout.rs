//! A decoded message's layout, carried without its bytes and attached to an
//! owned copy of them, reads exactly as the message decoded from them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use iso8583::{ISO87, MESSAGE_LEN_MAX, Message, samples};

#[test]
fn a_layout_attached_to_a_copy_reads_as_the_decoded_message() {
    let mut buffer = vec![0u8; MESSAGE_LEN_MAX];
    let len = samples::sale_request(&ISO87)
        .unwrap()
        .encode(&mut buffer)
        .unwrap();
    let decoded = Message::decode(&ISO87, &buffer[..len]).unwrap();
    let layout = decoded.layout();
    let copy = buffer[..len].to_vec();
    let attached = layout.attach(&copy).unwrap();
    assert_eq!(attached.mti(), decoded.mti());
    let fields: Vec<usize> = decoded.fields().collect();
    assert!(fields.len() > 5, "{fields:?}");
    assert_eq!(attached.fields().collect::<Vec<_>>(), fields);
    for field in fields {
        assert_eq!(attached.field(field), decoded.field(field), "DE {field}");
    }
    // Other bytes than the decoded ones are refused when their length differs.
    assert!(layout.attach(&copy[..len - 1]).is_none());
    let mut longer = copy.clone();
    longer.push(b'0');
    assert!(layout.attach(&longer).is_none());
}
