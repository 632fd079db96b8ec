//! Bindings over time: from which business date an approved binding takes
//! effect, and which binding is in force for a merchant (or one of its
//! terminals) on a business date.
//!
//! The rule, shared by the API and the settlement runs:
//! - a binding approved at time `t` takes effect from the business date
//!   after the merchant's current one (the next settlement cycle): a day
//!   already under way settles entirely under the binding it began with;
//! - the binding in force on date `D` is, among the bindings that were
//!   approved (also those superseded since: they answered for their days),
//!   the one with the greatest `effective_from <= D`, ties going to the one
//!   approved last;
//! - for a terminal's transactions a binding naming that terminal wins over
//!   the merchant-wide ones (which name no terminal).

use crate::date::BusinessDate;

use super::business_date;

/// A binding that was approved, as the in-force rule sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovedBinding<'a> {
    /// Terminals it names; empty for the whole merchant.
    pub terminals: &'a [String],
    /// First business date it applies to.
    pub effective_from: BusinessDate,
    /// Orders bindings approved for the same date (e.g. approval time).
    pub approved_order: u64,
}

/// The business date a binding approved at `utc_s` takes effect from: the
/// day after the merchant's current business date (see
/// [`super::business_date`]); `None` outside the calendar's range.
#[must_use]
pub fn effective_from(utc_s: i64, offset_s: i64, cutoff_minute: u16) -> Option<BusinessDate> {
    business_date(utc_s, offset_s, cutoff_minute)?.next_day()
}

/// The index in `bindings` of the binding in force on `date` for the
/// transactions of `terminal` (or, with `None`, for the merchant as a
/// whole), or `None` when no binding covers that date.
#[must_use]
pub fn in_force(
    bindings: &[ApprovedBinding<'_>],
    terminal: Option<&str>,
    date: BusinessDate,
) -> Option<usize> {
    let latest = |covers: &dyn Fn(&ApprovedBinding<'_>) -> bool| {
        bindings
            .iter()
            .enumerate()
            .filter(|(_, b)| b.effective_from <= date && covers(b))
            .max_by_key(|(_, b)| (b.effective_from, b.approved_order))
            .map(|(index, _)| index)
    };
    let specific = terminal.and_then(|tid| latest(&|b| b.terminals.iter().any(|t| t == tid)));
    specific.or_else(|| latest(&|b| b.terminals.is_empty()))
}

/// Whether an approved binding for `terminals` replaces `earlier` (an
/// approved binding of the same merchant): when both name the same set of
/// terminals (both merchant-wide, or the same terminals).
#[must_use]
pub fn supersedes(terminals: &[String], earlier: &[String]) -> bool {
    let mut a: Vec<&String> = terminals.iter().collect();
    let mut b: Vec<&String> = earlier.iter().collect();
    a.sort();
    a.dedup();
    b.sort();
    b.dedup();
    a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> BusinessDate {
        BusinessDate::parse(text).unwrap()
    }

    #[test]
    fn in_force_picks_the_latest_effective_binding_and_terminal_ones_first() {
        let none: Vec<String> = Vec::new();
        let t2 = vec!["T0000002".to_owned()];
        let bindings = [
            ApprovedBinding {
                terminals: &none,
                effective_from: date("2000-01-01"),
                approved_order: 1,
            },
            ApprovedBinding {
                terminals: &none,
                effective_from: date("2026-03-01"),
                approved_order: 5,
            },
            ApprovedBinding {
                terminals: &t2,
                effective_from: date("2026-02-01"),
                approved_order: 3,
            },
            // Approved later for the same date: wins the tie.
            ApprovedBinding {
                terminals: &none,
                effective_from: date("2026-03-01"),
                approved_order: 9,
            },
        ];
        let check = |terminal: Option<&str>, on: &str, expected: Option<usize>| {
            assert_eq!(
                in_force(&bindings, terminal, date(on)),
                expected,
                "{terminal:?} {on}"
            );
        };
        check(None, "1999-12-31", None);
        check(None, "2000-01-01", Some(0));
        check(None, "2026-02-28", Some(0));
        check(None, "2026-03-01", Some(3));
        check(Some("T0000001"), "2026-02-15", Some(0));
        check(Some("T0000002"), "2026-01-31", Some(0));
        check(Some("T0000002"), "2026-02-01", Some(2));
        check(Some("T0000002"), "2026-12-01", Some(2));
        check(Some("T0000001"), "2026-12-01", Some(3));
    }

    #[test]
    fn effective_from_is_the_next_business_date() {
        let shanghai = 8 * 3600;
        let cutoff = 23 * 60;
        // 2026-01-01T00:00:00Z is 08:00 in Shanghai: business date 01-01.
        let t = date("2026-01-01").days_since_epoch() * 86_400;
        assert_eq!(
            effective_from(t, shanghai, cutoff),
            Some(date("2026-01-02"))
        );
        // 23:30 local is past the cut-off: business date 01-02, effective 01-03.
        assert_eq!(
            effective_from(t + 15 * 3600 + 1800, shanghai, cutoff),
            Some(date("2026-01-03"))
        );
    }

    #[test]
    fn same_terminal_sets_supersede() {
        let s = |list: &[&str]| list.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>();
        assert!(supersedes(&s(&[]), &s(&[])));
        assert!(supersedes(&s(&["B", "A"]), &s(&["A", "B"])));
        assert!(!supersedes(&s(&["A"]), &s(&[])));
        assert!(!supersedes(&s(&["A"]), &s(&["A", "B"])));
    }
}
