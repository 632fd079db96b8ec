//! ISO 8583 message codec for the posbridge host interface.
//!
//! A pure codec: no I/O, no panics on any input, nothing allocated past the
//! 4096-byte frame limit. Dialects are data (tables of field definitions):
//! [`ISO87`] (ASCII, spec section 2) and [`CUP`] (TPDU + header, BCD).
//!
//! - [`decode_frame`] finds one length-prefixed frame in a stream buffer
//!   (`Ok(None)` = need more bytes).
//! - [`Message::decode`] validates a message and borrows every value from
//!   the input; it does not allocate. [`salvage`] tells whether a malformed
//!   message still yields MTI, DE 11 and DE 41 (answer `30`) or not (close).
//! - [`MessageBuilder`] builds a message and encodes it into a caller's
//!   buffer; [`MessageBuilder::mac_input`] and [`Message::mac_input`] give
//!   the bytes a DE 64 MAC covers.
//! - [`tlv`] reads and writes EMV BER-TLV for DE 55.
//!
//! ```
//! use iso8583::{ISO87, Message, MessageBuilder, Mti, decode_frame};
//!
//! let mut echo = MessageBuilder::new(&ISO87, Mti::parse("0800").expect("digits"));
//! echo.set_number(7, 1124201530)?.set_number(11, 42)?;
//! echo.set_text(41, "TERM0001")?.set_number(70, 301)?;
//! let mut wire = [0u8; 128];
//! let len = echo.encode_framed(&mut wire)?;
//!
//! let frame = decode_frame(&wire[..len])?.expect("complete frame");
//! let request = Message::decode(&ISO87, frame.body)?;
//! assert_eq!(request.mti().as_str(), "0800");
//! assert_eq!(request.terminal_id(), Some("TERM0001"));
//! assert_eq!(request.network_management_code(), Some(301));
//! # Ok::<(), iso8583::Error>(())
//! ```
#![deny(missing_docs)]

mod accessors;
pub mod dialect;
mod encode;
mod error;
mod field;
mod frame;
mod message;
mod mti;
pub mod samples;
pub mod tlv;

pub use accessors::{OriginalData, de};
pub use dialect::{CUP, Content, Dialect, DigitEncoding, FieldDef, ISO87, LengthKind};
pub use encode::{HEADER_LEN_MAX, MessageBuilder};
pub use error::{Error, Part};
pub use field::FieldValue;
pub use frame::{FRAME_HEADER_LEN, Frame, decode_frame, frame_header, unframe};
pub use message::{Disposition, Layout, MESSAGE_LEN_MAX, Message, Salvage, salvage};
pub use mti::Mti;
