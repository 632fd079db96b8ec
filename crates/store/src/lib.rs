//! Storage for posbridge: one interface, two engines (SQLite and PostgreSQL),
//! one set of migrations and one conformance suite.
#![deny(missing_docs)]
