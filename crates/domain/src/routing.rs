//! Card routing by issuer identification number: the longest registered
//! prefix (8 or 6 digits) decides, never a coarse brand range.

use std::collections::HashMap;

/// Most BIN ranges one table holds.
pub const BIN_ENTRIES_MAX: usize = 100_000;

/// Card product.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CardProduct {
    /// Debit card: spends its balance.
    Debit,
    /// Credit card: spends against its limit.
    Credit,
}

/// Where a card's authorization goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// Issued by the host's own bank: authorized by on-us issuing.
    OnUs {
        /// Debit or credit.
        product: CardProduct,
        /// Co-brand program code, when the range belongs to one.
        program: Option<String>,
    },
    /// Issued elsewhere: sent to the card network.
    Network {
        /// Scheme name, e.g. `VISA`.
        scheme: String,
        /// Debit or credit, for fee channels.
        product: CardProduct,
    },
}

/// Why a BIN range could not be added.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RoutingError {
    /// A prefix must be 6 or 8 ASCII digits.
    #[error("BIN prefix must be 6 or 8 digits")]
    BadPrefix,
    /// The table is full.
    #[error("BIN table holds at most {BIN_ENTRIES_MAX} ranges")]
    Full,
}

/// A table of BIN prefixes and their routes.
#[derive(Clone, Debug, Default)]
pub struct BinTable {
    by_prefix: HashMap<String, Route>,
}

impl BinTable {
    /// An empty table.
    #[must_use]
    pub fn new() -> BinTable {
        BinTable::default()
    }

    /// Adds or replaces a range.
    ///
    /// # Errors
    /// [`RoutingError::BadPrefix`] unless the prefix is 6 or 8 digits;
    /// [`RoutingError::Full`] past [`BIN_ENTRIES_MAX`].
    pub fn insert(&mut self, prefix: &str, route: Route) -> Result<(), RoutingError> {
        let digits = prefix.bytes().all(|b| b.is_ascii_digit());
        if !digits || !(prefix.len() == 6 || prefix.len() == 8) {
            return Err(RoutingError::BadPrefix);
        }
        if self.by_prefix.len() >= BIN_ENTRIES_MAX && !self.by_prefix.contains_key(prefix) {
            return Err(RoutingError::Full);
        }
        self.by_prefix.insert(prefix.to_owned(), route);
        Ok(())
    }

    /// The route of a PAN (digits only), by longest prefix; `None` when no
    /// range matches (answered with `14`).
    #[must_use]
    pub fn route(&self, pan_digits: &str) -> Option<&Route> {
        [8, 6]
            .into_iter()
            .filter_map(|len| pan_digits.get(..len))
            .find_map(|prefix| self.by_prefix.get(prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_us(program: Option<&str>) -> Route {
        Route::OnUs {
            product: CardProduct::Credit,
            program: program.map(str::to_owned),
        }
    }

    #[test]
    fn longest_prefix_wins() {
        let mut table = BinTable::new();
        table.insert("622588", on_us(None)).unwrap();
        table.insert("62258800", on_us(Some("DBCOFFEE"))).unwrap();
        assert_eq!(
            table.route("6225880000000019"),
            Some(&on_us(Some("DBCOFFEE")))
        );
        assert_eq!(table.route("6225881234567890"), Some(&on_us(None)));
        assert_eq!(table.route("6225870000000000"), None);
        assert_eq!(table.route("62258"), None);
    }

    #[test]
    fn rejects_bad_prefixes() {
        let mut table = BinTable::new();
        assert_eq!(
            table.insert("62", on_us(None)),
            Err(RoutingError::BadPrefix)
        );
        assert_eq!(
            table.insert("6225881", on_us(None)),
            Err(RoutingError::BadPrefix)
        );
        assert_eq!(
            table.insert("62258x", on_us(None)),
            Err(RoutingError::BadPrefix)
        );
    }
}
