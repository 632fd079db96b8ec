//! Calendar values the rules need: card expiry months and business dates.
//! The clock is never read here; callers pass today's date in.

/// A card expiry month, as in DE 14 and track 2 (`YYMM`, years 2000–2099).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    year: u16,
    month: u8,
}

impl YearMonth {
    /// Builds a month; `None` unless 2000 ≤ year ≤ 2099 and 1 ≤ month ≤ 12.
    #[must_use]
    pub fn new(year: u16, month: u8) -> Option<YearMonth> {
        ((2000..=2099).contains(&year) && (1..=12).contains(&month))
            .then_some(YearMonth { year, month })
    }

    /// Parses `YYMM` (four ASCII digits).
    #[must_use]
    pub fn parse_yymm(text: &str) -> Option<YearMonth> {
        let bytes = text.as_bytes();
        if bytes.len() != 4 || !bytes.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let digit = |i: usize| u16::from(bytes[i] - b'0');
        let year = 2000 + digit(0) * 10 + digit(1);
        let month = u8::try_from(digit(2) * 10 + digit(3)).ok()?;
        YearMonth::new(year, month)
    }

    /// Formats as `YYMM`.
    #[must_use]
    pub fn to_yymm(self) -> String {
        format!("{:02}{:02}", self.year % 100, self.month)
    }

    /// Year.
    #[must_use]
    pub fn year(self) -> u16 {
        self.year
    }

    /// Month, 1–12.
    #[must_use]
    pub fn month(self) -> u8 {
        self.month
    }
}

/// A calendar date in the platform's time zone (business date).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BusinessDate {
    year: u16,
    month: u8,
    day: u8,
}

impl BusinessDate {
    /// Builds a date; `None` when it does not exist.
    #[must_use]
    pub fn new(year: u16, month: u8, day: u8) -> Option<BusinessDate> {
        let month_ok = (1..=12).contains(&month);
        (month_ok && day >= 1 && day <= days_in_month(year, month)).then_some(BusinessDate {
            year,
            month,
            day,
        })
    }

    /// Parses `YYYY-MM-DD`.
    #[must_use]
    pub fn parse(text: &str) -> Option<BusinessDate> {
        let mut parts = text.split('-');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if parts.next().is_some() || !digits(y, 4) || !digits(m, 2) || !digits(d, 2) {
            return None;
        }
        BusinessDate::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
    }

    /// The date `days` days after 1970-01-01.
    #[must_use]
    pub fn from_days_since_epoch(days: i64) -> Option<BusinessDate> {
        // Civil-from-days (proleptic Gregorian), eras of 400 years.
        let z = days.checked_add(719_468)?;
        let era = z.div_euclid(146_097);
        let day_of_era = z.rem_euclid(146_097);
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let mp = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        BusinessDate::new(
            u16::try_from(year).ok()?,
            u8::try_from(month).ok()?,
            u8::try_from(day).ok()?,
        )
    }

    /// Days since 1970-01-01.
    #[must_use]
    pub fn days_since_epoch(self) -> i64 {
        let month = i64::from(self.month);
        let year = i64::from(self.year) - i64::from(month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year.rem_euclid(400);
        let mp = if month > 2 { month - 3 } else { month + 9 };
        let day_of_year = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    /// The month of this date, for expiry checks.
    #[must_use]
    pub fn year_month(self) -> Option<YearMonth> {
        YearMonth::new(self.year, self.month)
    }

    /// The next calendar day.
    #[must_use]
    pub fn next_day(self) -> Option<BusinessDate> {
        BusinessDate::from_days_since_epoch(self.days_since_epoch() + 1)
    }
}

impl std::fmt::Display for BusinessDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_expiry() {
        let check = |text: &str, expected: Option<(u16, u8)>| {
            let got = YearMonth::parse_yymm(text).map(|m| (m.year(), m.month()));
            assert_eq!(got, expected, "{text}");
        };
        check("3012", Some((2030, 12)));
        check("2001", Some((2020, 1)));
        check("2013", None);
        check("2000", None);
        check("30a2", None);
        check("301", None);
    }

    #[test]
    fn parses_business_dates() {
        assert!(BusinessDate::parse("2026-02-29").is_none());
        assert!(BusinessDate::parse("2028-02-29").is_some());
        assert!(BusinessDate::parse("2026-11-24x").is_none());
        assert!(BusinessDate::parse("2026-1-24").is_none());
        let date = BusinessDate::parse("2026-11-24").unwrap();
        assert_eq!(date.to_string(), "2026-11-24");
        assert_eq!(date.days_since_epoch(), 20_781); // per Python datetime
        assert_eq!(
            BusinessDate::parse("2026-12-31").unwrap().next_day(),
            BusinessDate::parse("2027-01-01")
        );
    }

    proptest! {
        #[test]
        fn days_round_trip(days in 10_957_i64..47_482) {
            let date = BusinessDate::from_days_since_epoch(days).unwrap();
            prop_assert_eq!(date.days_since_epoch(), days);
        }
    }
}
