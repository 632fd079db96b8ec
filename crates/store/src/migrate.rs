//! The shared migrations and their per-engine placeholder substitution.

/// Every migration: version, name, SQL with placeholders.
pub(crate) const MIGRATIONS: &[(u32, &str, &str)] =
    &[(1, "ledger", include_str!("../migrations/0001_ledger.sql"))];

/// The few type differences between the engines.
pub(crate) struct Dialect {
    /// Type of a 16-byte id.
    pub id: &'static str,
    /// Table suffix for clustered primary keys.
    pub without_rowid: &'static str,
}

/// SQLite's spelling.
pub(crate) const SQLITE: Dialect = Dialect {
    id: "BLOB",
    without_rowid: "WITHOUT ROWID",
};
/// PostgreSQL's spelling.
pub(crate) const POSTGRES: Dialect = Dialect {
    id: "BYTEA",
    without_rowid: "",
};

/// The SQL of a migration for one engine.
pub(crate) fn render(sql: &str, dialect: &Dialect) -> String {
    sql.replace("{id}", dialect.id)
        .replace("{without_rowid}", dialect.without_rowid)
}

/// Creates the bookkeeping table.
pub(crate) const CREATE_SCHEMA_MIGRATIONS: &str =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL)";
