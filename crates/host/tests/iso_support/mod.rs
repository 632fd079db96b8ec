//! Test support: a real server on port 0 over a throwaway database, and a
//! terminal-side client that builds requests with real cryptography.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use cardsec::dukpt::{self, Ksn};
use cardsec::emv::{self, CardData, CryptogramVersion, TransactionData};
use cardsec::{Pan, Pin, TdesKey, pin};
use domain::sandbox;
use host::server::{Running, ServeConfig, start};
use iso8583::tlv::{Tag, TlvWriter};
use iso8583::{ISO87, Message, MessageBuilder, Mti, de, decode_frame};
use store::testing::TestDatabase;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const DEBIT: &str = "6217000000000014";
pub const DEBIT_LOW: &str = "6217000000000022";
pub const DEBIT_LOST: &str = "6217000000000030";
pub const DEBIT_EXPIRED: &str = "6217000000000048";
pub const COBRAND_CHIP: &str = "6225880000000019";
pub const COBRAND: &str = "6225880000000027";
pub const VISA: &str = "4761739001010010";
pub const MASTERCARD: &str = "5413330089099130";
pub const MID1: &str = "100000000000001";
pub const MID2: &str = "100000000000002";
pub const MID3: &str = "100000000000003";

/// Which engine a test runs on.
#[derive(Clone, Copy, Debug)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A running server.
pub struct TestServer {
    pub running: Running,
    pub url: String,
}

/// Runs `test` against a fresh sandbox server on `engine` (skipped when the
/// PostgreSQL variant has no database). The synchronous database clients
/// are created and dropped outside the runtime.
pub fn run<F, Fut>(engine: Engine, name: &str, test: F)
where
    F: FnOnce(TestServer) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    run_with(engine, name, |_| {}, test);
}

/// As [`run`], with the server's configuration adjusted by `configure`.
pub fn run_with<F, Fut>(
    engine: Engine,
    name: &str,
    configure: impl FnOnce(&mut ServeConfig),
    test: F,
) where
    F: FnOnce(TestServer) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let database = match engine {
        Engine::Sqlite => TestDatabase::sqlite(name),
        Engine::Postgres => match TestDatabase::postgres(name) {
            Some(database) => database,
            None => return,
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut config = TestServer::config(database.url());
    configure(&mut config);
    runtime.block_on(async {
        let server = TestServer::start_with(config).await;
        test(server).await;
    });
    drop(runtime);
    drop(database);
}

impl TestServer {
    pub fn config(url: &str) -> ServeConfig {
        ServeConfig {
            database_url: url.to_owned(),
            sandbox: true,
            iso_listen: "127.0.0.1:0".into(),
            http_listen: "127.0.0.1:0".into(),
            network_timeout: Duration::from_millis(200),
            ..ServeConfig::default()
        }
    }

    pub async fn start_with(config: ServeConfig) -> TestServer {
        let url = config.database_url.clone();
        let running = start(config).await.expect("server starts");
        TestServer { running, url }
    }

    pub async fn client(&self, tid: &str) -> Client {
        Client::connect(self.running.iso_addr, tid).await
    }

    /// Stops the server and inspects its store (on a blocking thread).
    pub async fn stop_and<T: Send + 'static>(
        self,
        inspect: impl FnOnce(&mut store::Store) -> T + Send + 'static,
    ) -> T {
        self.running.shutdown_and(inspect).await.unwrap()
    }
}

/// Initial KSN of a sandbox terminal.
pub fn initial_ksn(tid: &str) -> Ksn {
    let terminal = sandbox::terminals()
        .into_iter()
        .find(|t| t.tid == tid)
        .unwrap();
    Ksn::from_hex(terminal.initial_ksn).unwrap()
}

pub fn bdk() -> TdesKey {
    TdesKey::from_hex(sandbox::BDK_HEX).unwrap()
}

/// A terminal's connection.
pub struct Client {
    pub stream: TcpStream,
    pub tid: String,
    pub stan: u32,
    pub ksn_counter: u32,
    buffer: Vec<u8>,
}

pub const DE7: u64 = 1124101010;

impl Client {
    pub async fn connect(addr: std::net::SocketAddr, tid: &str) -> Client {
        Client {
            stream: TcpStream::connect(addr).await.unwrap(),
            tid: tid.to_owned(),
            stan: 0,
            ksn_counter: 0,
            buffer: Vec::new(),
        }
    }

    pub fn next_stan(&mut self) -> u32 {
        self.stan += 1;
        self.stan
    }

    /// The next valid KSN (counters with at most 10 one-bits).
    pub fn next_ksn(&mut self) -> Ksn {
        loop {
            self.ksn_counter += 1;
            if self.ksn_counter.count_ones() <= 10 {
                return initial_ksn(&self.tid)
                    .with_counter(self.ksn_counter)
                    .unwrap();
            }
        }
    }

    pub fn base(&mut self, mti: &str) -> MessageBuilder {
        let stan = self.next_stan();
        let mut b = MessageBuilder::new(&ISO87, Mti::parse(mti).unwrap());
        b.set_number(de::TRANSMISSION_DATE_TIME, DE7).unwrap();
        b.set_number(de::STAN, u64::from(stan)).unwrap();
        b.set_text(de::TERMINAL_ID, &self.tid.clone()).unwrap();
        b
    }

    pub fn network(&mut self, code: u64) -> MessageBuilder {
        let mut b = self.base("0800");
        b.set_number(de::NETWORK_MANAGEMENT_CODE, code).unwrap();
        b
    }

    /// A financial request with DE 2 + 14, swiped, no PIN.
    pub fn financial(
        &mut self,
        mti: &str,
        processing: &str,
        pan: &str,
        amount: u64,
        mid: &str,
    ) -> MessageBuilder {
        let expiry = sandbox::cards()
            .into_iter()
            .find(|c| c.pan == pan)
            .map_or("3012", |c| c.expiry);
        let mut b = self.base(mti);
        b.set_text(de::PROCESSING_CODE, processing).unwrap();
        b.set_number(de::AMOUNT, amount).unwrap();
        b.set_text(de::LOCAL_TIME, "101010").unwrap();
        b.set_text(de::LOCAL_DATE, "1124").unwrap();
        b.set_text(de::PAN, pan).unwrap();
        b.set_text(de::EXPIRATION_DATE, expiry).unwrap();
        b.set_text(de::POS_ENTRY_MODE, "021").unwrap();
        b.set_text(
            de::POS_CONDITION_CODE,
            if mti == "0100" { "06" } else { "00" },
        )
        .unwrap();
        b.set_text(de::MERCHANT_ID, mid).unwrap();
        b.set_number(de::CURRENCY_CODE, 156).unwrap();
        b.set_text(de::BATCH_NUMBER, "000001").unwrap();
        b
    }

    pub fn sale(&mut self, pan: &str, amount: u64, mid: &str) -> MessageBuilder {
        self.financial("0200", "000000", pan, amount, mid)
    }

    /// Adds a DUKPT-encrypted format 0 PIN block and its KSN.
    pub fn with_pin(&mut self, b: &mut MessageBuilder, pan: &str, pin_digits: &str) {
        let ksn = self.next_ksn();
        let clear = pin::encode_iso0(&Pin::new(pin_digits).unwrap(), &Pan::new(pan).unwrap());
        let block = pin::encrypt_tdes(&dukpt::pin_key(&bdk(), &ksn).unwrap(), &clear).unwrap();
        b.set(de::PIN_BLOCK, &block).unwrap();
        b.set_text(de::KSN, &ksn.to_string()).unwrap();
    }

    /// Sets DE 64 under the DUKPT MAC request key of the KSN in DE 62 (a
    /// new KSN when the request has none).
    pub fn with_mac(&mut self, b: &mut MessageBuilder) {
        let ksn = match b.get(de::KSN) {
            Some(text) => Ksn::from_hex(std::str::from_utf8(text).unwrap()).unwrap(),
            None => {
                let ksn = self.next_ksn();
                b.set_text(de::KSN, &ksn.to_string()).unwrap();
                ksn
            }
        };
        b.set(de::MAC, &[0; 8]).unwrap();
        let mut buffer = [0u8; 4096];
        let input = b.mac_input(&mut buffer).unwrap().to_vec();
        let mac = dukpt::request_mac(&bdk(), &ksn, &input).unwrap();
        b.set(de::MAC, &mac).unwrap();
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    pub async fn send(&mut self, b: &MessageBuilder) {
        let mut wire = [0u8; 4200];
        let n = b.encode_framed(&mut wire).unwrap();
        self.send_raw(&wire[..n]).await;
    }

    /// The next response, or `None` when the host closed the connection.
    pub async fn recv(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(frame) = decode_frame(&self.buffer).unwrap() {
                let body = frame.body.to_vec();
                let consumed = frame.consumed;
                self.buffer.drain(..consumed);
                return Some(body);
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut chunk))
                .await
                .expect("host answers within 10 s")
                .ok()?;
            if n == 0 {
                return None;
            }
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }

    pub async fn call(&mut self, b: &MessageBuilder) -> Response {
        self.send(b).await;
        Response(self.recv().await.expect("a response"))
    }
}

/// An owned response.
#[derive(Clone, Debug)]
pub struct Response(pub Vec<u8>);

impl Response {
    pub fn message(&self) -> Message<'_> {
        Message::decode(&ISO87, &self.0).expect("a valid response")
    }
    pub fn code(&self) -> String {
        self.message().response_code().unwrap_or("").to_owned()
    }
    pub fn rrn(&self) -> String {
        self.message().rrn().unwrap_or("").to_owned()
    }
    pub fn auth_code(&self) -> String {
        self.message().authorization_code().unwrap_or("").to_owned()
    }
    pub fn text(&self, field: usize) -> Option<String> {
        self.message().text(field).map(str::to_owned)
    }
    pub fn mti(&self) -> String {
        self.message().mti().as_str().to_owned()
    }
}

/// DE 55 of a CVN 18 chip request for `pan`, with a correct ARQC (or a
/// wrong one when `corrupt`).
pub fn icc_data(pan: &str, amount: u64, corrupt: bool) -> Vec<u8> {
    let imk = TdesKey::from_hex(sandbox::PROGRAM_IMK_AC_HEX).unwrap();
    let pan = Pan::new(pan).unwrap();
    let amount_bcd = bcd6(amount);
    let data = TransactionData {
        amount: amount_bcd,
        amount_other: [0; 6],
        terminal_country: [0x01, 0x56],
        tvr: [0; 5],
        currency: [0x01, 0x56],
        date: [0x26, 0x11, 0x24],
        transaction_type: 0,
        unpredictable_number: [0x52, 0xBF, 0x45, 0x85],
        aip: [0x18, 0x00],
        atc: [0x00, 0x1C],
        iad: vec![0x06, 0x01, 0x12, 0x03, 0xA0, 0xB8, 0x00],
    };
    let card = CardData {
        pan: &pan,
        psn: 0,
        atc: data.atc,
    };
    let input = data.cryptogram_input(CryptogramVersion::Cvn18).unwrap();
    let mut arqc = emv::arqc(&imk, CryptogramVersion::Cvn18, &card, &input).unwrap();
    if corrupt {
        arqc[0] ^= 1;
    }
    let mut buffer = [0u8; 255];
    let mut w = TlvWriter::new(&mut buffer);
    let tag = |t: u32| Tag::from_u32(t).unwrap();
    w.put(tag(0x9F26), &arqc).unwrap();
    w.put(tag(0x9F27), &[0x80]).unwrap();
    w.put(tag(0x9F10), &data.iad).unwrap();
    w.put(tag(0x9F37), &data.unpredictable_number).unwrap();
    w.put(tag(0x9F36), &data.atc).unwrap();
    w.put(tag(0x95), &data.tvr).unwrap();
    w.put(tag(0x9A), &data.date).unwrap();
    w.put(tag(0x9C), &[data.transaction_type]).unwrap();
    w.put(tag(0x9F02), &data.amount).unwrap();
    w.put(tag(0x5F2A), &data.currency).unwrap();
    w.put(tag(0x82), &data.aip).unwrap();
    w.put(tag(0x9F1A), &data.terminal_country).unwrap();
    w.put(tag(0x9F03), &data.amount_other).unwrap();
    w.as_bytes().to_vec()
}

fn bcd6(value: u64) -> [u8; 6] {
    let digits = format!("{value:012}");
    let mut out = [0u8; 6];
    for (i, pair) in digits.as_bytes().chunks(2).enumerate() {
        out[i] = ((pair[0] - b'0') << 4) | (pair[1] - b'0');
    }
    out
}

/// The expected ARPC (method 2, CSU 0) for a chip request's DE 55.
pub fn expected_arpc(pan: &str, icc: &[u8]) -> [u8; 4] {
    let imk = TdesKey::from_hex(sandbox::PROGRAM_IMK_AC_HEX).unwrap();
    let pan = Pan::new(pan).unwrap();
    let mut arqc = [0u8; 8];
    for tlv in iso8583::tlv::TlvIter::new(icc) {
        let tlv = tlv.unwrap();
        if tlv.tag.as_bytes() == [0x9F, 0x26] {
            arqc.copy_from_slice(tlv.value);
        }
    }
    let card = CardData {
        pan: &pan,
        psn: 0,
        atc: [0x00, 0x1C],
    };
    emv::arpc_cvn18(&imk, &card, &arqc, [0; 4]).unwrap()
}

/// Balance inquiry on an on-us card: the available amount from DE 54.
pub async fn available(client: &mut Client, pan: &str, mid: &str) -> i64 {
    let b = client.financial("0100", "310000", pan, 0, mid);
    let response = client.call(&b).await;
    assert_eq!(response.code(), "00", "balance inquiry");
    let de54 = response.text(de::ADDITIONAL_AMOUNTS).unwrap();
    de54[8..].parse().unwrap()
}

/// Sets up the engine-parameterised tests.
#[macro_export]
macro_rules! both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                $crate::iso_support::run($crate::iso_support::Engine::Sqlite, stringify!($name), super::$name);
            })*
        }
        mod postgres {
            $(#[test]
            fn $name() {
                $crate::iso_support::run($crate::iso_support::Engine::Postgres, stringify!($name), super::$name);
            })*
        }
    };
}
