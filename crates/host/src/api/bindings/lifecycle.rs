//! What bindings share with approvals: the merchant's cut-off, reading a
//! merchant's bindings, approving a binding (effective from the next
//! business date) and superseding the one it replaces.

use domain::settlement::bindings::{effective_from, supersedes};
use domain::settlement::{SplitLine, SplitRule};
use store::api::{ResourcePut, ResourceQuery, ResourceRow};
use store::{HostTable, Store, StoreError};

use crate::api::ApiError;
use crate::api::accounts::docs::{self, BINDING, BindingDoc, MERCHANT, SplitDoc, TERMINAL};
use crate::api::wire::rfc3339;
use crate::records::Record;

/// Resources read per query when a list is read whole.
const PAGE_ROWS: u64 = 500;
/// Most bindings of one merchant read (its whole history).
pub const BINDINGS_PER_MERCHANT_MAX: usize = 10_000;
/// Most resources of one kind a read of them all returns (accounts, all
/// approval requests, all bindings): past it, lists are cut short.
pub const RESOURCES_READ_MAX: usize = 100_000;
/// Minutes in a day: a cut-off at midnight (business date = local date).
const MIDNIGHT_MINUTE: u16 = 24 * 60;

/// What the binding rules need of a merchant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MerchantInfo {
    /// Minutes after local midnight at which its business day closes.
    pub cutoff_minute: u16,
}

fn parse_cut_off(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && text.len() == 5).then_some(h * 60 + m)
}

/// The merchant `mid`: its `merchant` resource (cut-off from the
/// contract), else the terminal host's merchant record; `None` when
/// neither exists. No cut-off means the day closes at midnight.
///
/// # Errors
/// Database errors.
pub fn merchant_info(store: &mut Store, mid: &str) -> store::Result<Option<MerchantInfo>> {
    if let Some(row) = store.resource(MERCHANT, mid)? {
        let document: serde_json::Value = serde_json::from_str(&row.document)
            .map_err(|e| StoreError::Corrupt(format!("merchant {mid}: {e}")))?;
        let cutoff_minute = document["contract"]["cut_off"]
            .as_str()
            .and_then(parse_cut_off)
            .unwrap_or(MIDNIGHT_MINUTE);
        return Ok(Some(MerchantInfo { cutoff_minute }));
    }
    let rows = store.host_rows(HostTable::Merchants)?;
    Ok(rows
        .iter()
        .find(|(key, _)| key == mid)
        .and_then(
            |(key, body)| match Record::from_row(HostTable::Merchants, key, body)? {
                Record::Merchant(m) => Some(MerchantInfo {
                    cutoff_minute: if m.cutoff_minute == 0 {
                        MIDNIGHT_MINUTE
                    } else {
                        m.cutoff_minute
                    },
                }),
                _ => None,
            },
        ))
}

/// The MID of terminal `tid`: its `terminal` resource's scope, else the
/// terminal host's record.
///
/// # Errors
/// Database errors.
pub fn terminal_merchant(store: &mut Store, tid: &str) -> store::Result<Option<String>> {
    if let Some(row) = store.resource(TERMINAL, tid)? {
        return Ok(Some(row.scope));
    }
    let rows = store.host_rows(HostTable::Terminals)?;
    Ok(rows
        .iter()
        .find(|(key, _)| key == tid)
        .and_then(
            |(key, body)| match Record::from_row(HostTable::Terminals, key, body)? {
                Record::Terminal(t) => Some(t.mid),
                _ => None,
            },
        ))
}

/// Every resource of `kind` in `scope` (and `status`), in id order, read
/// page by page up to `max` rows.
///
/// # Errors
/// Database errors.
pub fn all_resources(
    store: &mut Store,
    kind: &str,
    scope: Option<&str>,
    status: Option<&str>,
    max: usize,
) -> store::Result<Vec<ResourceRow>> {
    let mut rows: Vec<ResourceRow> = Vec::new();
    loop {
        let query = ResourceQuery {
            kind: kind.to_owned(),
            scope: scope.map(str::to_owned),
            status: status.map(str::to_owned),
            after_id: rows.last().map(|r| r.id.clone()).unwrap_or_default(),
            limit: PAGE_ROWS,
        };
        let page = store.resources(&query)?;
        let full = page.len() as u64 == PAGE_ROWS;
        rows.extend(page);
        if !full || rows.len() >= max {
            rows.truncate(max);
            return Ok(rows);
        }
    }
}

/// The merchant's bindings in `status`.
///
/// # Errors
/// Database errors.
pub fn bindings_of(store: &mut Store, mid: &str, status: &str) -> store::Result<Vec<ResourceRow>> {
    all_resources(
        store,
        BINDING,
        Some(mid),
        Some(status),
        BINDINGS_PER_MERCHANT_MAX,
    )
}

/// Marks `binding` approved at `now_ns`, effective from the merchant's
/// next business date.
///
/// # Errors
/// 500 when the clock is outside the calendar.
pub fn approve(
    binding: &mut BindingDoc,
    now_ns: u64,
    merchant: MerchantInfo,
) -> Result<(), ApiError> {
    let now_s = i64::try_from(now_ns / 1_000_000_000).map_err(ApiError::internal)?;
    let date = effective_from(
        now_s,
        domain::sandbox::TIME_ZONE_OFFSET_S,
        merchant.cutoff_minute,
    )
    .ok_or_else(|| ApiError::internal("the clock is outside the calendar"))?;
    binding.status = "approved".to_owned();
    binding.effective_from = Some(date.to_string());
    binding.approved_at = Some(rfc3339(now_ns));
    binding.approved_at_ns = Some(now_ns);
    Ok(())
}

/// The puts that mark the merchant's approved bindings for the same
/// terminals as `binding` superseded by it.
///
/// # Errors
/// 500 for an unreadable stored binding.
pub fn supersede(
    binding: &BindingDoc,
    approved: &[ResourceRow],
    now_ns: u64,
) -> Result<Vec<ResourcePut>, ApiError> {
    let mut puts = Vec::new();
    for row in approved {
        let mut earlier: BindingDoc = docs::parse(row)?;
        if earlier.id == binding.id || !supersedes(&binding.terminals, &earlier.terminals) {
            continue;
        }
        earlier.status = "superseded".to_owned();
        earlier.superseded_by = Some(binding.id.clone());
        earlier.closed_at = Some(rfc3339(now_ns));
        let put = docs::updated(row, "superseded", &earlier, now_ns)?;
        puts.push(ResourcePut::replace(put, row.version));
    }
    Ok(puts)
}

impl BindingDoc {
    /// The split as the settlement rules take it.
    pub fn split_lines(&self) -> Vec<SplitLine> {
        self.splits.iter().filter_map(SplitDoc::line).collect()
    }
}

impl SplitDoc {
    /// This line as a domain rule; `None` unless exactly one of share and
    /// fixed amount is given.
    pub fn line(&self) -> Option<SplitLine> {
        let rule = match (&self.share_bps, &self.fixed) {
            (Some(bps), None) => SplitRule::Percent(*bps),
            (None, Some(fixed)) => SplitRule::Fixed(domain::AmountMinor(fixed.amount_minor)),
            _ => return None,
        };
        Some(SplitLine {
            account: self.account.clone(),
            rule,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cut_offs() {
        assert_eq!(super::parse_cut_off("23:00"), Some(1380));
        assert_eq!(super::parse_cut_off("00:30"), Some(30));
        for bad in ["24:00", "2300", "23:0", "x:y", "23:60"] {
            assert_eq!(super::parse_cut_off(bad), None, "{bad}");
        }
    }
}
