//! A scripted host for tests: a TCP server on 127.0.0.1 (port 0) that
//! answers each request with the next reply of its script (approve,
//! decline, stay silent, a bad MAC) and keeps every request it received, so
//! that tests can decode exactly what the terminal sent.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};

use cardsec::emv::{self, CardData};
use cardsec::{Ksn, Pan, TdesKey, dukpt};
use iso8583::tlv::{Tag, TlvIter};
use iso8583::{ISO87, MESSAGE_LEN_MAX, Message, MessageBuilder, de, decode_frame};

/// Fields a response copies from its request.
const ECHOED: [usize; 17] = [
    3, 4, 7, 11, 12, 13, 25, 41, 42, 49, 60, 62, 70, 74, 76, 86, 88,
];

/// One answer of the script.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Answer with these fields.
    Answer(Answer),
    /// Read the request and never answer it.
    Silent,
}

/// A response: DE 39, optional DE 37 / 38, extra fields, and whether to
/// spoil its MAC.
#[derive(Clone, Debug, Default)]
pub struct Answer {
    /// DE 39.
    pub code: String,
    /// DE 37.
    pub rrn: Option<String>,
    /// DE 38.
    pub auth_code: Option<String>,
    /// More fields (number, characters or bytes).
    pub extra: Vec<(usize, Vec<u8>)>,
    /// Flip a bit of the DE 64 the host computes.
    pub corrupt_mac: bool,
    /// Send first a stray answer for another STAN (RRN `STRAY0000000`).
    pub stray_first: bool,
    /// Answer a chip request with tag 91 (ARPC method 2 ‖ CSU) computed
    /// with this issuer master key, as the host does for on-us cards.
    pub arpc_imk: Option<TdesKey>,
}

impl Reply {
    /// `00` with no RRN (network management, reversal, settlement).
    #[must_use]
    pub fn ok() -> Reply {
        Reply::code("00")
    }

    /// Any response code.
    #[must_use]
    pub fn code(code: &str) -> Reply {
        Reply::Answer(Answer {
            code: code.to_owned(),
            ..Answer::default()
        })
    }

    /// `00` with an RRN and authorization code.
    #[must_use]
    pub fn approve(rrn: &str, auth_code: &str) -> Reply {
        Reply::Answer(Answer {
            code: "00".into(),
            rrn: Some(rrn.to_owned()),
            auth_code: Some(auth_code.to_owned()),
            ..Answer::default()
        })
    }

    /// A decline with an RRN.
    #[must_use]
    pub fn decline(code: &str, rrn: &str) -> Reply {
        Reply::Answer(Answer {
            code: code.to_owned(),
            rrn: Some(rrn.to_owned()),
            ..Answer::default()
        })
    }

    /// Adds a field to an answer.
    #[must_use]
    pub fn with(mut self, field: usize, value: &str) -> Reply {
        if let Reply::Answer(answer) = &mut self {
            answer.extra.push((field, value.as_bytes().to_vec()));
        }
        self
    }

    /// Sends a stray answer for another STAN before this one.
    #[must_use]
    pub fn after_stray(mut self) -> Reply {
        if let Reply::Answer(answer) = &mut self {
            answer.stray_first = true;
        }
        self
    }

    /// Adds tag 91 to the answer, computed with `imk` (PSN 00).
    #[must_use]
    pub fn with_arpc(mut self, imk: TdesKey) -> Reply {
        if let Reply::Answer(answer) = &mut self {
            answer.arpc_imk = Some(imk);
        }
        self
    }

    /// Spoils the MAC of an answer.
    #[must_use]
    pub fn with_bad_mac(mut self) -> Reply {
        if let Reply::Answer(answer) = &mut self {
            answer.corrupt_mac = true;
        }
        self
    }
}

#[derive(Debug, Default)]
struct Shared {
    script: VecDeque<Reply>,
    received: Vec<Vec<u8>>,
}

/// The scripted host. Its threads live as long as the test process.
#[derive(Debug, Clone)]
pub struct ScriptedHost {
    address: SocketAddr,
    shared: Arc<Mutex<Shared>>,
}

impl ScriptedHost {
    /// Starts listening on 127.0.0.1, port 0. With `bdk`, responses to
    /// requests that carry DE 62 + DE 64 get a response MAC.
    ///
    /// # Errors
    /// When the port cannot be bound.
    pub fn start(script: Vec<Reply>, bdk: Option<TdesKey>) -> std::io::Result<ScriptedHost> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Mutex::new(Shared {
            script: script.into(),
            received: Vec::new(),
        }));
        let accepting = Arc::clone(&shared);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let serving = Arc::clone(&accepting);
                let bdk = bdk.clone();
                std::thread::spawn(move || serve(stream, &serving, bdk.as_ref()));
            }
        });
        Ok(ScriptedHost { address, shared })
    }

    /// `127.0.0.1:port`.
    #[must_use]
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Appends replies to the script.
    pub fn push(&self, replies: Vec<Reply>) {
        let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        shared.script.extend(replies);
    }

    /// Every request received so far (message bodies, without the length
    /// header).
    #[must_use]
    pub fn received(&self) -> Vec<Vec<u8>> {
        let shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        shared.received.clone()
    }
}

fn serve(mut stream: TcpStream, shared: &Mutex<Shared>, bdk: Option<&TdesKey>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        while let Ok(Some(frame)) = decode_frame(&buffer) {
            let body = frame.body.to_vec();
            let consumed = frame.consumed;
            buffer.drain(..consumed);
            let reply = {
                let mut shared = shared.lock().unwrap_or_else(PoisonError::into_inner);
                shared.received.push(body.clone());
                shared.script.pop_front().unwrap_or(Reply::Silent)
            };
            let Reply::Answer(answer) = reply else {
                continue;
            };
            if answer.stray_first {
                let stray = Answer {
                    rrn: Some("STRAY0000000".into()),
                    stray_first: false,
                    ..answer.clone()
                };
                let framed = respond(&body, &stray, bdk).and_then(|framed| restan(&framed));
                if framed.is_some_and(|framed| stream.write_all(&framed).is_err()) {
                    return;
                }
            }
            if let Some(framed) = respond(&body, &answer, bdk) {
                if stream.write_all(&framed).is_err() {
                    return;
                }
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
        }
    }
}

fn respond(body: &[u8], answer: &Answer, bdk: Option<&TdesKey>) -> Option<Vec<u8>> {
    let request = Message::decode(&ISO87, body).ok()?;
    let mut response = MessageBuilder::response_to(&request, &ECHOED).ok()?;
    if let Some(rrn) = &answer.rrn {
        response.set_text(de::RRN, rrn).ok()?;
    }
    if let Some(auth_code) = &answer.auth_code {
        response.set_text(de::AUTHORIZATION_CODE, auth_code).ok()?;
    }
    response.set_text(de::RESPONSE_CODE, &answer.code).ok()?;
    for (field, value) in &answer.extra {
        response.set(*field, value).ok()?;
    }
    if let Some(imk) = &answer.arpc_imk {
        response.set(de::ICC_DATA, &arpc_tag(&request, imk)?).ok()?;
    }
    if let (Some(bdk), Some(ksn), true) = (bdk, request.ksn(), request.has(de::MAC)) {
        let ksn = Ksn::from_hex(ksn).ok()?;
        let mut scratch = [0u8; MESSAGE_LEN_MAX];
        let input = response.mac_input(&mut scratch).ok()?;
        let mut mac = dukpt::response_mac(bdk, &ksn, input).ok()?;
        if answer.corrupt_mac {
            mac[0] ^= 1;
        }
        response.set(de::MAC, &mac).ok()?;
    }
    let mut wire = vec![0u8; MESSAGE_LEN_MAX + 2];
    let len = response.encode_framed(&mut wire).ok()?;
    wire.truncate(len);
    Some(wire)
}

/// The same framed response with DE 11 = 999999.
fn restan(framed: &[u8]) -> Option<Vec<u8>> {
    let message = Message::decode(&ISO87, framed.get(2..)?).ok()?;
    let mut builder = MessageBuilder::from_message(&message).ok()?;
    builder.set_text(de::STAN, "999999").ok()?;
    let mut wire = vec![0u8; MESSAGE_LEN_MAX + 2];
    let len = builder.encode_framed(&mut wire).ok()?;
    wire.truncate(len);
    Some(wire)
}

/// Tag 91 for the chip request: ARPC (CVN 18, method 2) ‖ CSU.
fn arpc_tag(request: &Message<'_>, imk: &TdesKey) -> Option<Vec<u8>> {
    let icc = request.icc_data()?;
    let value = |number: u32| {
        let tag = Tag::from_u32(number)?;
        TlvIter::new(icc)
            .map_while(Result::ok)
            .find(|tlv| tlv.tag == tag)
            .map(|tlv| tlv.value)
    };
    let arqc: [u8; 8] = value(0x9F26)?.try_into().ok()?;
    let atc: [u8; 2] = value(0x9F36)?.try_into().ok()?;
    let track = request.track2()?.as_text()?;
    let pan = Pan::new(track.split(['=', 'D']).next()?).ok()?;
    let card = CardData {
        pan: &pan,
        psn: 0,
        atc,
    };
    let csu = [0x00, 0x80, 0x00, 0x00];
    let arpc = emv::arpc_cvn18(imk, &card, &arqc, csu).ok()?;
    let mut tag_91 = vec![0x91, 0x08];
    tag_91.extend_from_slice(&arpc);
    tag_91.extend_from_slice(&csu);
    Some(tag_91)
}
