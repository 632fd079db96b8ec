//! The store's error type.

/// A storage failure. Ledger rejections are not errors: they are result codes
/// in [`crate::WriteOutcome`]. Cloneable, so the writer can answer every
/// caller of a failed batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The URL names no known engine or cannot be parsed.
    #[error("bad database URL: {0}")]
    Url(String),
    /// The database reported an error.
    #[error("database error: {0}")]
    Database(String),
    /// A migration failed.
    #[error("migration {version} failed: {message}")]
    Migration {
        /// The migration's version.
        version: u32,
        /// What went wrong.
        message: String,
    },
    /// Stored data cannot be decoded (e.g. an id of the wrong length).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A request is larger than the writer's batch limit.
    #[error("request of {events} events exceeds batch_transfers_max {max}")]
    TooLarge {
        /// Events in the request.
        events: usize,
        /// The limit.
        max: usize,
    },
    /// The writer thread has stopped.
    #[error("the ledger writer has stopped")]
    WriterStopped,
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Database(error.to_string())
    }
}

impl From<postgres::Error> for StoreError {
    fn from(error: postgres::Error) -> Self {
        // The Display of a server error hides the detail; include it.
        match error.as_db_error() {
            Some(db) => Self::Database(format!("{}: {}", db.code().code(), db.message())),
            None => Self::Database(error.to_string()),
        }
    }
}
