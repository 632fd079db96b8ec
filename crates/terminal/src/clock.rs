//! Time as the terminal needs it, from a clock the caller passes in.

/// Seconds in a day.
const DAY_S: i64 = 86_400;

/// Where the terminal gets the time from; the core never reads the system
/// clock itself, so tests pin it.
pub trait Clock {
    /// Seconds since the Unix epoch, UTC.
    fn now_unix_s(&self) -> i64;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix_s(&self) -> i64 {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        now.map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
    }
}

/// A clock that always says the same time (tests, replays).
#[derive(Clone, Copy, Debug)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now_unix_s(&self) -> i64 {
        self.0
    }
}

/// A calendar date and time of day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    /// Year, e.g. 2026.
    pub year: i64,
    /// Month, 1 to 12.
    pub month: u32,
    /// Day of the month, 1 to 31.
    pub day: u32,
    /// Hour, 0 to 23.
    pub hour: u32,
    /// Minute.
    pub minute: u32,
    /// Second.
    pub second: u32,
}

impl DateTime {
    /// The calendar time of `unix_s` shifted by `offset_s` (the time zone).
    #[must_use]
    pub fn from_unix(unix_s: i64, offset_s: i64) -> DateTime {
        let local = unix_s.saturating_add(offset_s);
        let days = local.div_euclid(DAY_S);
        let second_of_day = local.rem_euclid(DAY_S);
        let (year, month, day) = civil_from_days(days);
        // Bounded by DAY_S: the casts cannot truncate.
        let of_day = |divisor: i64, modulo: i64| ((second_of_day / divisor) % modulo) as u32;
        DateTime {
            year,
            month,
            day,
            hour: of_day(3_600, 24),
            minute: of_day(60, 60),
            second: of_day(1, 60),
        }
    }

    /// DE 7 form, `MMDDhhmmss`.
    #[must_use]
    pub fn mmddhhmmss(&self) -> String {
        format!("{}{}", self.mmdd(), self.hhmmss())
    }

    /// DE 13 form, `MMDD`.
    #[must_use]
    pub fn mmdd(&self) -> String {
        format!("{:02}{:02}", self.month, self.day)
    }

    /// DE 12 form, `hhmmss`.
    #[must_use]
    pub fn hhmmss(&self) -> String {
        format!("{:02}{:02}{:02}", self.hour, self.minute, self.second)
    }

    /// EMV tag 9A: `YYMMDD` as three BCD bytes.
    #[must_use]
    pub fn yymmdd_bcd(&self) -> [u8; 3] {
        let bcd = |value: u32| ((((value / 10) % 10) << 4) | (value % 10)) as u8;
        let year = self.year.rem_euclid(100) as u32;
        [bcd(year), bcd(self.month), bcd(self.day)]
    }

    /// Receipt form, `YYYY-MM-DD hh:mm:ss`.
    #[must_use]
    pub fn receipt(&self) -> String {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_and_field_forms() {
        // 2026-11-24 15:30:45 UTC.
        let utc = DateTime::from_unix(1_795_534_245, 0);
        assert_eq!(utc.receipt(), "2026-11-24 15:30:45");
        assert_eq!(utc.mmddhhmmss(), "1124153045");
        let shanghai = DateTime::from_unix(1_795_534_245, 8 * 3_600);
        assert_eq!(shanghai.receipt(), "2026-11-24 23:30:45");
        let next_day = DateTime::from_unix(1_795_534_245 + 3_600, 8 * 3_600);
        assert_eq!(
            (next_day.mmdd(), next_day.hhmmss()),
            ("1125".into(), "003045".into())
        );
        assert_eq!(next_day.yymmdd_bcd(), [0x26, 0x11, 0x25]);
        assert_eq!(
            DateTime::from_unix(951_782_400, 0).receipt(),
            "2000-02-29 00:00:00"
        );
        assert_eq!(DateTime::from_unix(0, 0).receipt(), "1970-01-01 00:00:00");
    }
}
