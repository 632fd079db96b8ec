//! Receipts as a terminal prints them.

use std::fmt::Write as _;

use serde::Serialize;

/// Width of a receipt line, in characters.
pub const RECEIPT_WIDTH: usize = 40;

/// Co-brand benefits printed on a receipt (from DE 63).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReceiptBenefits {
    /// Program code.
    pub program: String,
    /// Instant discount, minor units.
    pub discount_minor: i64,
    /// Amount charged to the card, minor units.
    pub paid_minor: i64,
    /// Points earned.
    pub points: u64,
    /// Points balance.
    pub balance: u64,
}

/// Everything a receipt shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// Merchant name.
    pub merchant_name: String,
    /// TID.
    pub tid: String,
    /// MID.
    pub mid: String,
    /// Transaction title, e.g. `SALE`, `VOID`, `REFUND`.
    pub title: String,
    /// Masked PAN (first six, last four).
    pub masked_pan: String,
    /// Entry mode, e.g. `CHIP`.
    pub entry_mode: String,
    /// Amount, minor units.
    pub amount_minor: i64,
    /// Alphabetic currency code.
    pub currency: String,
    /// Benefits, when the host returned DE 63.
    pub benefits: Option<ReceiptBenefits>,
    /// Authorization code (DE 38).
    pub auth_code: Option<String>,
    /// RRN (DE 37).
    pub rrn: Option<String>,
    /// Local date and time, `YYYY-MM-DD hh:mm:ss`.
    pub date_time: String,
    /// Response code (DE 39).
    pub response_code: String,
    /// Reason in words, for declines.
    pub reason: String,
}

/// Formats minor units with two decimals (`3420` → `34.20`).
#[must_use]
pub fn format_minor(amount_minor: i64) -> String {
    let sign = if amount_minor < 0 { "-" } else { "" };
    let magnitude = amount_minor.unsigned_abs();
    format!("{sign}{}.{:02}", magnitude / 100, magnitude % 100)
}

fn line(out: &mut String, left: &str, right: &str) {
    let gap = RECEIPT_WIDTH
        .saturating_sub(left.chars().count() + right.chars().count())
        .max(1);
    let _ = writeln!(out, "{left}{}{right}", " ".repeat(gap));
}

impl Receipt {
    /// Whether the host approved.
    #[must_use]
    pub fn approved(&self) -> bool {
        self.response_code == "00"
    }

    /// The receipt as printed text.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        let rule = "-".repeat(RECEIPT_WIDTH);
        let _ = writeln!(out, "{:^RECEIPT_WIDTH$}", self.merchant_name);
        line(
            &mut out,
            &format!("TID {}", self.tid),
            &format!("MID {}", self.mid),
        );
        let _ = writeln!(out, "{rule}");
        line(&mut out, &self.masked_pan, &self.entry_mode);
        let amount = format!("{} {}", self.currency, format_minor(self.amount_minor));
        line(&mut out, &self.title, &amount);
        if let Some(b) = &self.benefits {
            let discount = format!("-{} {}", self.currency, format_minor(b.discount_minor));
            line(&mut out, &format!("DISCOUNT {}", b.program), &discount);
            line(
                &mut out,
                "CHARGED",
                &format!("{} {}", self.currency, format_minor(b.paid_minor)),
            );
            line(
                &mut out,
                &format!("POINTS +{}", b.points),
                &format!("BALANCE {}", b.balance),
            );
        }
        let _ = writeln!(out, "{rule}");
        line(&mut out, "AUTH", self.auth_code.as_deref().unwrap_or("-"));
        line(&mut out, "RRN", self.rrn.as_deref().unwrap_or("-"));
        line(&mut out, "DATE", &self.date_time);
        let verdict = if self.approved() {
            "APPROVED".to_owned()
        } else {
            format!("DECLINED {} {}", self.response_code, self.reason)
        };
        let _ = writeln!(out, "{verdict:^RECEIPT_WIDTH$}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt() -> Receipt {
        Receipt {
            merchant_name: "Lucky Coffee Store #1".into(),
            tid: "T0000001".into(),
            mid: "100000000000001".into(),
            title: "SALE".into(),
            masked_pan: "622588******0019".into(),
            entry_mode: "CHIP".into(),
            amount_minor: 3_800,
            currency: "CNY".into(),
            benefits: Some(ReceiptBenefits {
                program: "DBCOFFEE".into(),
                discount_minor: 380,
                paid_minor: 3_420,
                points: 68,
                balance: 68,
            }),
            auth_code: Some("A1B2C3".into()),
            rrn: Some("633012000001".into()),
            date_time: "2026-11-24 15:30:45".into(),
            response_code: "00".into(),
            reason: "approved".into(),
        }
    }

    #[test]
    fn renders_an_approved_cobrand_sale() {
        let text = receipt().render();
        let expected = [
            "         Lucky Coffee Store #1          ",
            "TID T0000001         MID 100000000000001",
            "----------------------------------------",
            "622588******0019                    CHIP",
            "SALE                           CNY 38.00",
            "DISCOUNT DBCOFFEE              -CNY 3.80",
            "CHARGED                        CNY 34.20",
            "POINTS +68                    BALANCE 68",
            "----------------------------------------",
            "AUTH                              A1B2C3",
            "RRN                         633012000001",
            "DATE                 2026-11-24 15:30:45",
            "                APPROVED                ",
        ];
        assert_eq!(text.lines().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn renders_a_decline_with_its_reason() {
        let mut declined = receipt();
        declined.benefits = None;
        declined.auth_code = None;
        declined.response_code = "51".into();
        declined.reason = "insufficient funds".into();
        let text = declined.render();
        assert!(text.contains("DECLINED 51 insufficient funds"));
        assert!(text.contains("AUTH                                   -"));
        assert!(!text.contains("DISCOUNT"));
    }

    #[test]
    fn formats_minor_units() {
        assert_eq!(format_minor(0), "0.00");
        assert_eq!(format_minor(5), "0.05");
        assert_eq!(format_minor(-1_234), "-12.34");
    }
}
