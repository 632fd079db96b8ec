//! One load terminal on its connection: sales one at a time (closed loop)
//! or on its own schedule (open loop), the settlement of a full batch and
//! the reversal of a sale that got no answer, both outside the measurement.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cardsec::dukpt::TransactionKeyCache;
use cardsec::mac::{self, Padding};
use hdrhistogram::Histogram;
use iso8583::{FRAME_HEADER_LEN, ISO87, MESSAGE_LEN_MAX, Message, MessageBuilder, Mti, de};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::prepare::{Step, derive, next_counter, put_digits};
use super::{Context, TerminalLoad, histogram};
use crate::BATCH_ENTRIES_MAX;
use crate::clock::DateTime;

/// What one load terminal measured.
pub(crate) struct Tally {
    pub approved: u64,
    pub latency: Histogram<u64>,
    pub late: Histogram<u64>,
    pub errors: BTreeMap<String, u64>,
    pub settlements: u64,
    pub reversals: u64,
    pub derived_inline: u64,
}

impl Tally {
    pub(crate) fn new() -> Tally {
        Tally {
            approved: 0,
            latency: histogram(),
            late: histogram(),
            errors: BTreeMap::new(),
            settlements: 0,
            reversals: 0,
            derived_inline: 0,
        }
    }

    fn error(&mut self, kind: &str) {
        *self.errors.entry(kind.to_owned()).or_default() += 1;
    }
}

/// The connection and its read buffer.
pub(crate) struct Conn {
    stream: Option<TcpStream>,
    buffer: Vec<u8>,
    filled: usize,
}

/// How a request ended.
enum Answer {
    /// A matching, valid answer with this DE 39.
    Code([u8; 2]),
    /// No valid answer in time.
    Timeout,
}

impl Conn {
    pub(crate) async fn open(address: &str) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream: Some(stream),
            buffer: vec![0u8; 4 * (MESSAGE_LEN_MAX + FRAME_HEADER_LEN)],
            filled: 0,
        })
    }

    /// Sends `wire` and waits for the answer of MTI `expected` to `stan`;
    /// answers to earlier (timed-out) requests are skipped.
    async fn exchange(
        &mut self,
        wire: &[u8],
        expected: Mti,
        stan: u32,
        response_mac: Option<&cardsec::TdesKey>,
        timeout: Duration,
    ) -> std::io::Result<Answer> {
        let stream = self
            .stream
            .as_mut()
            .ok_or(std::io::ErrorKind::NotConnected)?;
        stream.write_all(wire).await?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            while let Ok(Some(frame)) =
                iso8583::decode_frame(self.buffer.get(..self.filled).unwrap_or_default())
            {
                let consumed = frame.consumed;
                let verdict = check(frame.body, expected, stan, response_mac);
                self.buffer.copy_within(consumed..self.filled, 0);
                self.filled -= consumed;
                if let Some(answer) = verdict {
                    return Ok(answer);
                }
            }
            let free = self.buffer.get_mut(self.filled..).unwrap_or_default();
            if free.is_empty() {
                return Err(std::io::ErrorKind::InvalidData.into());
            }
            let read = tokio::time::timeout_at(deadline, stream.read(free)).await;
            match read {
                Err(_) => return Ok(Answer::Timeout),
                Ok(Ok(0)) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                Ok(Ok(n)) => self.filled += n,
                Ok(Err(error)) => return Err(error),
            }
        }
    }

    async fn reconnect(&mut self, address: &str) {
        self.stream = None;
        self.filled = 0;
        tokio::time::sleep(Duration::from_millis(10)).await;
        if let Ok(fresh) = Conn::open(address).await {
            self.stream = fresh.stream;
        }
    }
}

/// `None`: not the answer awaited (skip it); else its verdict. A wrong or
/// missing response MAC counts as no answer, as on a real terminal.
fn check(
    body: &[u8],
    expected: Mti,
    stan: u32,
    response_mac: Option<&cardsec::TdesKey>,
) -> Option<Answer> {
    let message = Message::decode(&ISO87, body).ok()?;
    if message.mti() != expected || message.stan() != Some(stan) {
        return None;
    }
    let code = message.response_code()?.as_bytes();
    let code = [*code.first()?, *code.get(1)?];
    if let Some(key) = response_mac {
        let verified = match (message.mac_input(), message.mac()) {
            (Some(input), Some(mac)) => {
                mac::verify_retail_mac(key, input, Padding::Method1, mac).unwrap_or(false)
            }
            _ => false,
        };
        if !verified {
            return Some(Answer::Timeout);
        }
    }
    Some(Answer::Code(code))
}

/// The date and time fields, formatted once per second.
struct Times {
    second: i64,
    transmission: [u8; 10],
    local_time: [u8; 6],
    local_date: [u8; 4],
}

impl Times {
    fn new() -> Times {
        Times {
            second: i64::MIN,
            transmission: [b'0'; 10],
            local_time: [b'0'; 6],
            local_date: [b'0'; 4],
        }
    }

    fn refresh(&mut self, offset_s: i64) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
        if now == self.second {
            return;
        }
        self.second = now;
        let utc = DateTime::from_unix(now, 0).mmddhhmmss();
        let local = DateTime::from_unix(now, offset_s);
        copy(&mut self.transmission, utc.as_bytes());
        copy(&mut self.local_time, local.hhmmss().as_bytes());
        copy(&mut self.local_date, local.mmdd().as_bytes());
    }

    fn transmission_text(&self) -> &str {
        std::str::from_utf8(&self.transmission).unwrap_or("0101000000")
    }
}

fn copy(out: &mut [u8], from: &[u8]) {
    for (o, f) in out.iter_mut().zip(from) {
        *o = *f;
    }
}

/// The terminal's running state in one run (each run starts afresh from
/// the same prepared steps).
struct Run {
    stan: u32,
    batch: u32,
    entries: usize,
    debit_amount: u64,
    cursor: usize,
    counter: u32,
    keys: Option<TransactionKeyCache>,
    /// A sale without answer: (STAN, DE 7, attempts so far).
    reversal: Option<(u32, [u8; 10], u32)>,
}

impl Run {
    fn next_stan(&mut self) -> u32 {
        self.stan = if self.stan >= 999_999 {
            1
        } else {
            self.stan + 1
        };
        self.stan
    }
}

/// Takes the next step: a prepared one, or one derived now.
fn take_step<'a>(
    terminal: &'a TerminalLoad,
    context: &Context,
    run: &mut Run,
    tally: &mut Tally,
    owned: &'a mut Option<Step>,
) -> Result<&'a Step, crate::Error> {
    if let Some(step) = terminal.steps.get(run.cursor) {
        run.cursor += 1;
        run.counter = step.counter;
        return Ok(&step.step);
    }
    run.counter = next_counter(run.counter)?;
    let keys = run.keys.get_or_insert_with(|| {
        TransactionKeyCache::from_ipek(terminal.ipek.clone(), &terminal.initial)
    });
    tally.derived_inline += 1;
    let step = derive(
        keys,
        &terminal.initial,
        run.counter,
        &context.clear_block,
        terminal.mac_required,
    )?;
    Ok(owned.insert(step))
}

/// Where one terminal's window starts and ends.
pub(crate) struct Schedule {
    pub started: Instant,
    pub deadline: Instant,
    /// Open loop: this terminal's interval and first offset.
    pub interval: Option<(Duration, Duration)>,
}

/// Drives one terminal until the deadline.
pub(crate) async fn drive(
    terminal: Arc<TerminalLoad>,
    context: Arc<Context>,
    mut conn: Conn,
    schedule: Schedule,
) -> Tally {
    let mut tally = Tally::new();
    let mut run = Run {
        stan: 0,
        batch: terminal.batch,
        entries: 0,
        debit_amount: 0,
        cursor: 0,
        counter: 0,
        keys: None,
        reversal: None,
    };
    let mut wire = terminal.template.wire.clone();
    let offsets = terminal.template.offsets;
    let mut times = Times::new();
    let mut next = schedule
        .interval
        .map(|(_, offset)| schedule.started + offset);
    let Some(sale) = Mti::parse("0210") else {
        return tally;
    };
    loop {
        if run.reversal.is_some() || run.entries >= BATCH_ENTRIES_MAX {
            if Instant::now() >= schedule.deadline {
                break;
            }
            housekeeping(
                &terminal, &context, &mut run, &mut conn, &mut tally, &mut times,
            )
            .await;
        }
        let scheduled = match next {
            Some(at) => {
                if at > Instant::now() {
                    tokio::time::sleep_until(at.into()).await;
                }
                at
            }
            None => Instant::now(),
        };
        if scheduled >= schedule.deadline {
            break;
        }
        if let (Some(at), Some((interval, _))) = (next.as_mut(), schedule.interval) {
            *at += interval;
        }
        let mut owned = None;
        let step = match take_step(&terminal, &context, &mut run, &mut tally, &mut owned) {
            Ok(step) => step,
            Err(_) => {
                tally.error("key_exhausted");
                break;
            }
        };
        let stan = run.next_stan();
        times.refresh(context.utc_offset_s);
        patch(&mut wire, &offsets, stan, run.batch, step, &times);
        let sent = Instant::now();
        if next.is_some() {
            tally
                .late
                .saturating_record(micros(sent - scheduled).max(1));
        }
        let response_mac = step.mac.as_ref().map(|(_, response)| response);
        let answer = conn
            .exchange(&wire, sale, stan, response_mac, context.response_timeout)
            .await;
        match answer {
            Ok(Answer::Code(code)) if &code == b"00" => {
                tally.approved += 1;
                context.approved.fetch_add(1, Ordering::Relaxed);
                tally
                    .latency
                    .saturating_record(micros(scheduled.elapsed()).max(1));
                run.entries += 1;
                run.debit_amount += context.amount_minor;
            }
            Ok(Answer::Code(code)) => tally.error(&String::from_utf8_lossy(&code)),
            Ok(Answer::Timeout) => {
                tally.error("timeout");
                run.reversal = Some((stan, times.transmission, 0));
            }
            Err(_) => {
                tally.error("transport");
                conn.reconnect(&context.address).await;
            }
        }
    }
    tally
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

fn patch(
    wire: &mut [u8],
    offsets: &super::prepare::Offsets,
    stan: u32,
    batch: u32,
    step: &Step,
    times: &Times,
) {
    let mut put = |at: usize, bytes: &[u8]| {
        if let Some(slot) = wire.get_mut(at..at + bytes.len()) {
            slot.copy_from_slice(bytes);
        }
    };
    let mut digits = [0u8; 6];
    put_digits(&mut digits, u64::from(stan));
    put(offsets.stan, &digits);
    put_digits(&mut digits, u64::from(batch));
    put(offsets.batch, &digits);
    put(offsets.transmission, &times.transmission);
    put(offsets.local_time, &times.local_time);
    put(offsets.local_date, &times.local_date);
    put(offsets.pin_block, &step.pin_block);
    put(offsets.ksn, &step.ksn_hex);
    if let (Some(at), Some((request, _))) = (offsets.mac, &step.mac) {
        let mac = wire
            .get(FRAME_HEADER_LEN..at)
            .and_then(|input| mac::retail_mac(request, input, Padding::Method1).ok());
        if let (Some(mac), Some(slot)) = (mac, wire.get_mut(at..at + 8)) {
            slot.copy_from_slice(&mac);
        }
    }
}

/// Outside the measurement: the reversal of a sale that got no answer
/// (0400, then 0420 repeats), and the settlement of a full batch.
async fn housekeeping(
    terminal: &TerminalLoad,
    context: &Context,
    run: &mut Run,
    conn: &mut Conn,
    tally: &mut Tally,
    times: &mut Times,
) {
    if let Some((stan, transmission, attempts)) = run.reversal {
        let original = format!(
            "0200{stan:06}{}{}",
            String::from_utf8_lossy(&transmission),
            "0".repeat(22)
        );
        let mti = if attempts == 0 { "0400" } else { "0420" };
        let debit = context.amount_minor;
        let answered = other(terminal, context, run, conn, tally, times, mti, |m| {
            m.set_text(de::PROCESSING_CODE, "000000")?
                .set_number(de::AMOUNT, debit)?
                .set_number(de::CURRENCY_CODE, u64::from(context.currency))?
                .set_text(de::ORIGINAL_DATA, &original)?;
            Ok(())
        })
        .await;
        run.reversal = if answered {
            tally.reversals += 1;
            None
        } else {
            Some((stan, transmission, attempts + 1))
        };
    }
    if run.reversal.is_none() && run.entries >= BATCH_ENTRIES_MAX {
        let (count, amount) = (run.entries as u64, run.debit_amount);
        let batch = format!("{:06}", run.batch);
        let answered = other(terminal, context, run, conn, tally, times, "0500", |m| {
            m.set_text(de::PROCESSING_CODE, "920000")?
                .set_text(de::BATCH_NUMBER, &batch)?
                .set_number(de::CREDITS_NUMBER, 0)?
                .set_number(de::DEBITS_NUMBER, count)?
                .set_number(de::CREDITS_AMOUNT, 0)?
                .set_number(de::DEBITS_AMOUNT, amount)?;
            Ok(())
        })
        .await;
        if answered {
            tally.settlements += 1;
            run.batch += 1;
            run.entries = 0;
            run.debit_amount = 0;
        } else {
            tally.error("settle_unanswered");
        }
    }
}

/// Builds (DE 7, 11, 41, 42, then `fill`, then DE 62/64 when the terminal
/// MACs), sends and waits for any answer; `true` when one came.
#[allow(clippy::too_many_arguments)]
async fn other(
    terminal: &TerminalLoad,
    context: &Context,
    run: &mut Run,
    conn: &mut Conn,
    tally: &mut Tally,
    times: &mut Times,
    mti: &str,
    fill: impl FnOnce(&mut MessageBuilder) -> Result<(), iso8583::Error>,
) -> bool {
    let Some(mti) = Mti::parse(mti) else {
        return false;
    };
    let mut owned = None;
    let step = if terminal.mac_required {
        match take_step(terminal, context, run, tally, &mut owned) {
            Ok(step) => Some(step),
            Err(_) => return false,
        }
    } else {
        None
    };
    let stan = run.next_stan();
    times.refresh(context.utc_offset_s);
    let Some(wire) = build_other(terminal, mti, stan, times, step, fill) else {
        tally.error("unbuildable");
        return false;
    };
    let response_mac = step.and_then(|s| s.mac.as_ref()).map(|(_, r)| r);
    let answer = conn
        .exchange(
            &wire,
            mti.response(),
            stan,
            response_mac,
            context.response_timeout,
        )
        .await;
    match answer {
        Ok(Answer::Code(_)) => true,
        Ok(Answer::Timeout) => false,
        Err(_) => {
            conn.reconnect(&context.address).await;
            false
        }
    }
}

fn build_other(
    terminal: &TerminalLoad,
    mti: Mti,
    stan: u32,
    times: &Times,
    step: Option<&Step>,
    fill: impl FnOnce(&mut MessageBuilder) -> Result<(), iso8583::Error>,
) -> Option<Vec<u8>> {
    let mut message = MessageBuilder::new(&ISO87, mti);
    message
        .set_text(de::TRANSMISSION_DATE_TIME, times.transmission_text())
        .ok()?
        .set_number(de::STAN, u64::from(stan))
        .ok()?
        .set_text(de::TERMINAL_ID, &terminal.tid)
        .ok()?
        .set_text(de::MERCHANT_ID, &terminal.mid)
        .ok()?;
    fill(&mut message).ok()?;
    if let Some(step) = step {
        let ksn = std::str::from_utf8(&step.ksn_hex).ok()?;
        message.set_text(de::KSN, ksn).ok()?;
        if let Some((request, _)) = &step.mac {
            let mut buffer = [0u8; MESSAGE_LEN_MAX];
            let input = message.mac_input(&mut buffer).ok()?;
            let mac = mac::retail_mac(request, input, Padding::Method1).ok()?;
            message.set(de::MAC, &mac).ok()?;
        }
    }
    let mut wire = vec![0u8; MESSAGE_LEN_MAX + FRAME_HEADER_LEN];
    let len = message.encode_framed(&mut wire).ok()?;
    wire.truncate(len);
    Some(wire)
}
