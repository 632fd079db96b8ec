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
        let mut sql = String::from(
            "INSERT INTO settlement_items (item_id, mid, tid, rrn, business_date, cycle, channel, \
             kind, amount_minor, fee_minor, discount_minor, fee_share_minor, points, program, \
             created_at) VALUES ",
        );
        let mut params = Vec::with_capacity(chunk.len() * 15);
        for (row, item) in chunk.iter().enumerate() {
            if row > 0 {
                sql.push_str(", ");
            }
            let first = row * 15 + 1;
            let placeholders: Vec<String> = (first..first + 15).map(|n| format!("?{n}")).collect();
            sql.push('(');
            sql.push_str(&placeholders.join(", "));
            sql.push(')');
            params.extend(values(item));
        }
        sql.push_str(" ON CONFLICT (item_id) DO NOTHING");
        execute(&sql, &params)?;
    }
    Ok(())
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
