//! Settlement items (migration 5): the typed rows settlement runs aggregate.
//!
//! The host writes them with [`crate::WriteOp::SettlementItems`] in the same
//! request as the transaction's records and ledger transfers; like host
//! records, they are written only when every transfer of the request was
//! created. An item whose `item_id` exists is skipped, so a retried request
//! never counts money twice.

use crate::Result;
use crate::api::Value;

/// Longest text value of an item (ids, codes, dates).
pub const SETTLEMENT_TEXT_LEN_MAX: usize = 64;

/// One movement of money a merchant is settled for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementItem {
    /// Idempotency key, e.g. `RRN/capture`.
    pub item_id: String,
    /// Merchant (MID).
    pub mid: String,
    /// Terminal (TID).
    pub tid: String,
    /// RRN of the host transaction.
    pub rrn: String,
    /// Business date `YYYY-MM-DD` in the platform time zone.
    pub business_date: String,
    /// Settlement cycle of the merchant's contract at the time: `T0` or `T1`.
    pub cycle: String,
    /// `credit`, `debit`, `wallet_qr` or `unionpay_qr`.
    pub channel: String,
    /// `capture`, `refund`, `void`, `chargeback` or `adjustment`.
    pub kind: String,
    /// Signed amount, minor units, from the merchant's side.
    pub amount_minor: i64,
    /// Merchant discount fee charged (negative when given back).
    pub fee_minor: i64,
    /// Brand-funded instant discount, minor units.
    pub discount_minor: i64,
    /// Part of the fee owed to the brand partner, minor units.
    pub fee_share_minor: i64,
    /// Points accrued (negative when taken back).
    pub points: i64,
    /// Co-brand program code, empty if none.
    pub program: String,
    /// When it was written, ns since the Unix epoch.
    pub created_at_ns: u64,
}

impl SettlementItem {
    /// Whether every text value is within [`SETTLEMENT_TEXT_LEN_MAX`].
    #[must_use]
    pub fn within_limits(&self) -> bool {
        [
            &self.item_id,
            &self.mid,
            &self.tid,
            &self.rrn,
            &self.business_date,
            &self.cycle,
            &self.channel,
            &self.kind,
            &self.program,
        ]
        .iter()
        .all(|text| text.len() <= SETTLEMENT_TEXT_LEN_MAX)
    }
}

/// Items per INSERT statement: one statement carries many rows (a round
/// trip per row made PostgreSQL slow), within both engines' limits on bound
/// parameters (15 a row).
const ITEMS_PER_STATEMENT: usize = 500;

/// Writes items with `execute`, skipping those whose `item_id` exists.
pub(crate) fn write_items(
    items: &[SettlementItem],
    execute: &mut dyn FnMut(&str, &[Value]) -> Result<()>,
) -> Result<()> {
    for chunk in items.chunks(ITEMS_PER_STATEMENT) {
        let params: Vec<Value> = chunk.iter().flat_map(values).collect();
        execute(&insert_items_sql(chunk.len()), &params)?;
    }
    Ok(())
}

/// `INSERT INTO settlement_items … VALUES (…), …` for `rows` items,
/// skipping those whose `item_id` exists.
fn insert_items_sql(rows: usize) -> String {
    use std::fmt::Write as _;
    let mut sql = String::with_capacity(200 + rows * 90);
    sql.push_str(
        "INSERT INTO settlement_items (item_id, mid, tid, rrn, business_date, cycle, channel, \
         kind, amount_minor, fee_minor, discount_minor, fee_share_minor, points, program, \
         created_at) VALUES ",
    );
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..15 {
            let separator = if column == 0 { "" } else { ", " };
            let _ = write!(sql, "{separator}?{}", row * 15 + column + 1);
        }
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT (item_id) DO NOTHING");
    sql
}

fn values(item: &SettlementItem) -> [Value; 15] {
    [
        Value::Text(item.item_id.clone()),
        Value::Text(item.mid.clone()),
        Value::Text(item.tid.clone()),
        Value::Text(item.rrn.clone()),
        Value::Text(item.business_date.clone()),
        Value::Text(item.cycle.clone()),
        Value::Text(item.channel.clone()),
        Value::Text(item.kind.clone()),
        Value::Int(item.amount_minor),
        Value::Int(item.fee_minor),
        Value::Int(item.discount_minor),
        Value::Int(item.fee_share_minor),
        Value::Int(item.points),
        Value::Text(item.program.clone()),
        Value::Int(crate::codec::to_i64(item.created_at_ns)),
    ]
}

const ITEM_COLUMNS: &str = "item_id, mid, tid, rrn, business_date, cycle, channel, kind, \
     amount_minor, fee_minor, discount_minor, fee_share_minor, points, program, created_at";

fn item_from(row: Vec<Value>) -> Result<SettlementItem> {
    let mut row = row.into_iter();
    let mut next = || {
        row.next()
            .ok_or_else(|| crate::StoreError::Corrupt("missing column".into()))
    };
    Ok(SettlementItem {
        item_id: next()?.text()?,
        mid: next()?.text()?,
        tid: next()?.text()?,
        rrn: next()?.text()?,
        business_date: next()?.text()?,
        cycle: next()?.text()?,
        channel: next()?.text()?,
        kind: next()?.text()?,
        amount_minor: next()?.int()?,
        fee_minor: next()?.int()?,
        discount_minor: next()?.int()?,
        fee_share_minor: next()?.int()?,
        points: next()?.int()?,
        program: next()?.text()?,
        created_at_ns: next()?.unsigned()?,
    })
}

impl crate::Store {
    /// The settlement items of a business date, in the order written.
    ///
    /// # Errors
    /// Database errors.
    pub fn settlement_items_of(&mut self, business_date: &str) -> Result<Vec<SettlementItem>> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM settlement_items WHERE business_date = ?1 ORDER BY seq"
        );
        let rows = self
            .engine_mut()
            .query(&sql, &[Value::Text(business_date.to_owned())])?;
        rows.into_iter().map(item_from).collect()
    }
}

/// The items' index by date and seq (migration 13), rebuilt after a bulk
/// load.
const DATED_INDEX_SQL: &str =
    "CREATE INDEX settlement_items_dated ON settlement_items (business_date, seq)";

/// Items per statement of a bulk load (15 parameters a row: under
/// SQLite's 32,766 and PostgreSQL's 65,535 bound parameters).
const LOAD_ITEMS_PER_STATEMENT: usize = 2_000;

/// SQLite page cache during a bulk load (KiB, as `cache_size` takes it
/// when negative): the index rebuild sorts in memory up to about this.
const LOAD_CACHE_KIB: i64 = 512 * 1024;
/// SQLite's default page cache (KiB).
const DEFAULT_CACHE_KIB: i64 = 2_000;

impl crate::Store {
    /// Loads many settlement items in ONE transaction: all of them or none
    /// (an error rolls everything back). For bulk imports (a migration from
    /// another system, a benchmark's data set) while no host writes the
    /// database: the items' index by date is dropped for the load and
    /// built again, sorted, before the commit, so the load never pays a
    /// random index insert per row. Items whose `item_id` exists are
    /// skipped, as with [`crate::WriteOp::SettlementItems`]. Returns the
    /// items offered.
    ///
    /// # Errors
    /// An item breaking a length limit is [`crate::StoreError::Corrupt`]
    /// (nothing is written); database errors.
    pub fn load_settlement_items(
        &mut self,
        items: &mut dyn Iterator<Item = SettlementItem>,
    ) -> Result<u64> {
        let sqlite = self.kind() == crate::EngineKind::Sqlite;
        let engine = self.engine_mut();
        if sqlite {
            engine.execute_sql(&format!("PRAGMA cache_size = -{LOAD_CACHE_KIB}"))?;
            engine.execute_sql("BEGIN IMMEDIATE")?;
        } else {
            engine.execute_sql("BEGIN")?;
        }
        let loaded = load_in_transaction(engine, items);
        let ended = match &loaded {
            Ok(_) => engine.execute_sql("COMMIT"),
            Err(_) => engine.execute_sql("ROLLBACK"),
        };
        if sqlite {
            engine.execute_sql(&format!("PRAGMA cache_size = -{DEFAULT_CACHE_KIB}"))?;
            // Give the disk back: the load's pages went through the WAL.
            engine.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")?;
        }
        let loaded = loaded?;
        ended?;
        Ok(loaded)
    }
}

fn load_in_transaction(
    engine: &mut dyn crate::engine::Engine,
    items: &mut dyn Iterator<Item = SettlementItem>,
) -> Result<u64> {
    engine.execute_sql("DROP INDEX settlement_items_dated")?;
    let mut loaded = 0u64;
    let mut chunk = Vec::with_capacity(LOAD_ITEMS_PER_STATEMENT);
    let mut full_sql = None;
    loop {
        chunk.clear();
        chunk.extend((&mut *items).take(LOAD_ITEMS_PER_STATEMENT));
        if chunk.is_empty() {
            break;
        }
        if let Some(bad) = chunk.iter().find(|item| !item.within_limits()) {
            return Err(crate::StoreError::Corrupt(format!(
                "settlement item {:.64}: a value is longer than {SETTLEMENT_TEXT_LEN_MAX}",
                bad.item_id
            )));
        }
        let sql = if chunk.len() == LOAD_ITEMS_PER_STATEMENT {
            full_sql.get_or_insert_with(|| insert_items_sql(LOAD_ITEMS_PER_STATEMENT))
        } else {
            &insert_items_sql(chunk.len())
        };
        let params: Vec<Value> = chunk.iter().flat_map(values).collect();
        engine.query(sql, &params)?;
        loaded += chunk.len() as u64;
    }
    engine.execute_sql(DATED_INDEX_SQL)?;
    Ok(loaded)
}
