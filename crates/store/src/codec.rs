//! Domain values ↔ column values, shared by both engines.

use crate::StoreError;

/// An id as stored: 16 bytes, big-endian.
pub(crate) fn id_bytes(id: u128) -> [u8; 16] {
    id.to_be_bytes()
}

/// The inverse of [`id_bytes`].
pub(crate) fn id_from(bytes: &[u8]) -> Result<u128, StoreError> {
    let array: [u8; 16] = bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("id of {} bytes", bytes.len())))?;
    Ok(u128::from_be_bytes(array))
}

/// A u64 the core keeps within `i64` (balances, amounts, nanosecond times).
pub(crate) fn to_i64(value: u64) -> i64 {
    // Balances and successful amounts are <= ledger::BALANCE_MAX; timestamps
    // are nanoseconds, below i64::MAX until the year 2262.
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A stored BIGINT that must not be negative.
pub(crate) fn to_u64(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative value {value}")))
}

/// A stored small integer (code, flags, ledger, status).
pub(crate) fn narrow<T: TryFrom<i64>>(value: i64, what: &str) -> Result<T, StoreError> {
    T::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} out of range: {value}")))
}
