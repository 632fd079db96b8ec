//! Reports over the settlement items: the daily report's sums, computed by
//! the database (one `GROUP BY` per breakdown).

use crate::Result;
use crate::api::Value;

/// Most program codes one report can be limited to.
pub const REPORT_PROGRAMS_MAX: usize = 64;

/// Which items a report covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportScope {
    /// Only this merchant's items.
    pub mid: Option<String>,
    /// Only items of these co-brand programs (`Some(empty)`: none at all).
    pub programs: Option<Vec<String>>,
}

/// The sums of one group of items.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportLine {
    /// The group's key: MID; MID and TID; or channel.
    pub key: Vec<String>,
    /// Items in the group.
    pub items: i64,
    /// Sales: captures less voids (minor units).
    pub sales_minor: i64,
    /// Refunds, as a positive amount (minor units).
    pub refunds_minor: i64,
    /// Merchant fees, net of fees returned (minor units).
    pub fees_minor: i64,
    /// Brand partners' fee share, net (minor units).
    pub fee_share_minor: i64,
    /// Brand-funded discounts, net (minor units).
    pub discounts_minor: i64,
    /// Points accrued, net.
    pub points: i64,
}

/// A business date's report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DailyReport {
    /// Every item of the scope together (empty key; absent when none).
    pub total: Option<ReportLine>,
    /// By merchant, ordered by MID.
    pub by_merchant: Vec<ReportLine>,
    /// By merchant and terminal, ordered.
    pub by_terminal: Vec<ReportLine>,
    /// By channel, ordered.
    pub by_channel: Vec<ReportLine>,
}

const SUMS: &str = "COUNT(*), \
     COALESCE(CAST(SUM(CASE WHEN kind IN ('capture', 'void') THEN amount_minor ELSE 0 END) AS BIGINT), 0), \
     COALESCE(CAST(SUM(CASE WHEN kind = 'refund' THEN -amount_minor ELSE 0 END) AS BIGINT), 0), \
     COALESCE(CAST(SUM(fee_minor) AS BIGINT), 0), \
     COALESCE(CAST(SUM(fee_share_minor) AS BIGINT), 0), \
     COALESCE(CAST(SUM(discount_minor) AS BIGINT), 0), \
     COALESCE(CAST(SUM(points) AS BIGINT), 0)";

impl crate::Store {
    /// The daily report of `business_date` over `scope`.
    ///
    /// # Errors
    /// Database errors.
    pub fn daily_report(
        &mut self,
        business_date: &str,
        scope: &ReportScope,
    ) -> Result<DailyReport> {
        if scope
            .programs
            .as_ref()
            .is_some_and(|p| p.is_empty() || p.len() > REPORT_PROGRAMS_MAX)
        {
            return Ok(DailyReport::default());
        }
        let mut filter = String::from("business_date = ?1");
        let mut params = vec![Value::Text(business_date.to_owned())];
        if let Some(mid) = &scope.mid {
            params.push(Value::Text(mid.clone()));
            filter.push_str(&format!(" AND mid = ?{}", params.len()));
        }
        if let Some(programs) = &scope.programs {
            let mut marks = Vec::new();
            for program in programs {
                params.push(Value::Text(program.clone()));
                marks.push(format!("?{}", params.len()));
            }
            filter.push_str(&format!(" AND program IN ({})", marks.join(", ")));
        }
        let mut group = |keys: &[&str]| -> Result<Vec<ReportLine>> {
            let columns = keys.join(", ");
            let sql = if keys.is_empty() {
                format!("SELECT {SUMS} FROM settlement_items WHERE {filter}")
            } else {
                format!(
                    "SELECT {columns}, {SUMS} FROM settlement_items WHERE {filter} \
                     GROUP BY {columns} ORDER BY {columns}"
                )
            };
            let rows = self.engine_mut().query(&sql, &params)?;
            rows.into_iter()
                .map(|row| line_from(row, keys.len()))
                .collect()
        };
        let total = group(&[])?.into_iter().find(|line| line.items > 0);
        Ok(DailyReport {
            total,
            by_merchant: group(&["mid"])?,
            by_terminal: group(&["mid", "tid"])?,
            by_channel: group(&["channel"])?,
        })
    }

    /// The codes of the co-brand programs of brand partner `brand_partner`.
    ///
    /// # Errors
    /// Database errors.
    pub fn programs_of_brand_partner(&mut self, brand_partner: &str) -> Result<Vec<String>> {
        let rows = self.engine_mut().query(
            "SELECT code FROM api_programs WHERE brand_partner = ?1 ORDER BY code",
            &[Value::Text(brand_partner.to_owned())],
        )?;
        rows.into_iter()
            .map(|row| {
                row.into_iter()
                    .next()
                    .ok_or_else(|| crate::StoreError::Corrupt("missing column".into()))?
                    .text()
            })
            .collect()
    }
}

fn line_from(row: Vec<Value>, keys: usize) -> Result<ReportLine> {
    let mut row = row.into_iter();
    let mut next = || {
        row.next()
            .ok_or_else(|| crate::StoreError::Corrupt("missing column".into()))
    };
    let mut key = Vec::with_capacity(keys);
    for _ in 0..keys {
        key.push(next()?.text()?);
    }
    let items = next()?.int()?;
    let mut sum = || next().and_then(Value::int);
    Ok(ReportLine {
        key,
        items,
        sales_minor: sum()?,
        refunds_minor: sum()?,
        fees_minor: sum()?,
        fee_share_minor: sum()?,
        discounts_minor: sum()?,
        points: sum()?,
    })
}
