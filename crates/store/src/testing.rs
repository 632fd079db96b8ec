//! Throwaway databases for tests of this crate and of its users.
//!
//! PostgreSQL tests read `POSBRIDGE_TEST_PG_URL`: unset, they skip with a
//! note on stderr; set, they connect or fail. Each test gets its own schema
//! (selected with `options=-c search_path=…`), dropped at the end, so tests
//! run in parallel against one database.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable naming the PostgreSQL test database.
pub const PG_URL_VARIABLE: &str = "POSBRIDGE_TEST_PG_URL";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A database that is removed when dropped.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    directory: Option<PathBuf>,
    schema: Option<(String, String)>,
}

fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{name}_{}_{n}_{nanos}", std::process::id())
}

impl TestDatabase {
    /// A fresh SQLite file in a fresh temporary directory.
    ///
    /// # Panics
    /// When the directory cannot be created.
    pub fn sqlite(name: &str) -> Self {
        let directory = std::env::temp_dir().join(format!("posbridge-test-{}", unique(name)));
        std::fs::create_dir_all(&directory).expect("create a temporary directory");
        let url = format!("sqlite:{}", directory.join("ledger.db").display());
        Self {
            url,
            directory: Some(directory),
            schema: None,
        }
    }

    /// A fresh schema in the PostgreSQL test database, or `None` (with a note
    /// on stderr) when `POSBRIDGE_TEST_PG_URL` is unset.
    ///
    /// # Panics
    /// When the variable is set but the database cannot be reached.
    pub fn postgres(name: &str) -> Option<Self> {
        let Ok(base) = std::env::var(PG_URL_VARIABLE) else {
            // Written to the real stderr: the test harness captures `eprintln!`.
            let note =
                format!("note: {PG_URL_VARIABLE} is unset; skipping the PostgreSQL test {name}\n");
            let _ = std::io::Write::write_all(&mut std::io::stderr(), note.as_bytes());
            return None;
        };
        let database = Self::postgres_at(&base, name)
            .unwrap_or_else(|e| panic!("{PG_URL_VARIABLE}={base} cannot be reached: {e}"));
        Some(database)
    }

    /// A fresh schema in the PostgreSQL database at `base` (also used by the
    /// benchmark), dropped when the value is dropped.
    ///
    /// # Errors
    /// When the database cannot be reached or the schema cannot be created.
    pub fn postgres_at(base: &str, name: &str) -> crate::Result<Self> {
        let schema = unique(&format!("t_{name}")).to_lowercase();
        let mut client = postgres::Client::connect(base, postgres::NoTls)?;
        client.batch_execute(&format!("CREATE SCHEMA \"{schema}\""))?;
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
        Ok(Self {
            url,
            directory: None,
            schema: Some((base.to_string(), schema)),
        })
    }

    /// The URL to open with [`crate::Store::open`].
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(directory) = &self.directory {
            let _ = std::fs::remove_dir_all(directory);
        }
        if let Some((base, schema)) = &self.schema {
            if let Ok(mut client) = postgres::Client::connect(base, postgres::NoTls) {
                let _ = client.batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"));
            }
        }
    }
}

/// Generates, for each named function `fn(url: &str)`, one test on a fresh
/// SQLite file (module `sqlite`) and one in a fresh PostgreSQL schema (module
/// `postgres`; skipped with a note when `POSBRIDGE_TEST_PG_URL` is unset,
/// failing when it is set and unreachable).
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                let database = $crate::testing::TestDatabase::sqlite(stringify!($name));
                super::$name(database.url());
            })*
        }
        mod postgres {
            $(#[test]
            fn $name() {
                let Some(database) = $crate::testing::TestDatabase::postgres(stringify!($name)) else {
                    return;
                };
                super::$name(database.url());
            })*
        }
    };
}
