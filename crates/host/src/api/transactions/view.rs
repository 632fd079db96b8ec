//! A transaction record as the API shows it: business date, channel and
//! program derived from the record, the PAN masked (the record never holds
//! more).

use domain::BusinessDate;
use domain::fees::Channel;
use domain::routing::{BinTable, CardProduct, Route};
use serde_json::{Value, json};

use crate::api::wire::Money;
use crate::records::TransactionRecord;

/// Seconds in a (non-leap) year, for choosing DE 7's year.
const YEAR_S: i64 = 365 * 86_400;

/// The time DE 7 (`MMDDhhmmss`, UTC, no year) names: of the candidate
/// years around `now_s`, the one that puts it closest to now (a request is
/// recorded when it arrives, so its DE 7 is near the host's clock).
pub fn transmission_utc_s(de7: &str, now_s: i64) -> Option<i64> {
    if de7.len() != 10 || !de7.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number = |range: std::ops::Range<usize>| de7.get(range)?.parse::<u8>().ok();
    let (month, day) = (number(0..2)?, number(2..4)?);
    let (hour, minute, second) = (number(4..6)?, number(6..8)?, number(8..10)?);
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let this_year = BusinessDate::from_days_since_epoch(now_s.div_euclid(86_400))?;
    let year = this_year.to_string().get(..4)?.parse::<u16>().ok()?;
    [year.checked_sub(1)?, year, year.checked_add(1)?]
        .into_iter()
        .filter_map(|y| BusinessDate::new(y, month, day))
        .map(|date| {
            date.days_since_epoch() * 86_400
                + i64::from(hour) * 3600
                + i64::from(minute) * 60
                + i64::from(second)
        })
        .filter(|t| (t - now_s).abs() < YEAR_S)
        .min_by_key(|t| (t - now_s).abs())
}

/// DE 7 of a record's request key (`tid/mti/stan/de7`).
pub fn de7(record: &TransactionRecord) -> &str {
    record.request_key.rsplit('/').next().unwrap_or("")
}

/// What the card's BIN says: the channel and the co-brand program.
pub fn card_facts(bins: &BinTable, masked: &str) -> (Option<Channel>, Option<String>) {
    match bins.route(masked) {
        Some(Route::OnUs { product, program }) => (Some(channel(*product)), program.clone()),
        Some(Route::Network { product, .. }) => (Some(channel(*product)), None),
        None => (None, None),
    }
}

fn channel(product: CardProduct) -> Channel {
    match product {
        CardProduct::Credit => Channel::Credit,
        CardProduct::Debit => Channel::Debit,
    }
}

/// A transaction with what the API derives for it.
#[derive(Debug, Clone)]
pub struct Viewed {
    /// The record.
    pub record: TransactionRecord,
    /// Its business date (from DE 7 and the merchant's cut-off).
    pub business_date: Option<BusinessDate>,
    /// Its channel.
    pub channel: Option<Channel>,
    /// The card's co-brand program.
    pub program: Option<String>,
}

impl Viewed {
    /// The API representation.
    pub fn json(&self) -> Value {
        let t = &self.record;
        json!({
            "id": t.rrn,
            "rrn": t.rrn,
            "kind": t.kind,
            "mid": t.mid,
            "tid": t.tid,
            "business_date": self.business_date.map(|d| d.to_string()),
            "transmitted": de7(t),
            "masked_pan": t.masked,
            "channel": self.channel.map(Channel::as_str),
            "route": t.route,
            "program": self.program,
            "amount": Money::cny(domain::AmountMinor(t.amount)),
            "response_code": t.code,
            "auth_code": t.auth_code,
            "status": t.state,
            "batch": t.batch,
            "refunded": Money::cny(domain::AmountMinor(t.refunded)),
            "original": if t.original.is_empty() { None } else { Some(&t.original) },
            "certification": t.certification,
            "discount": Money::cny(domain::AmountMinor(t.discount)),
            "points": t.points,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::transmission_utc_s;

    #[test]
    fn de7_takes_the_year_closest_to_now() {
        // 2026-01-01T00:00:00Z.
        let now = 1_767_225_600;
        // 31 Dec 23:59:00 is yesterday, in 2025.
        assert_eq!(transmission_utc_s("1231235900", now), Some(now - 60));
        assert_eq!(transmission_utc_s("0101000010", now), Some(now + 10));
        assert_eq!(transmission_utc_s("0230000000", now), None);
        assert_eq!(transmission_utc_s("0101240000", now), None);
        assert_eq!(transmission_utc_s("01010000", now), None);
    }
}
