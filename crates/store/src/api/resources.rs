//! Versioned JSON resources (migration 4): the platform's low-volume
//! records — merchants, contracts, terminal registrations, settlement
//! accounts, bindings, approval requests, payouts — as one table of
//! documents with the columns lists filter on.
//!
//! A change is an [`ApiChange::PutResources`](super::ApiChange): every put
//! of it applies, or none does. A put creates (it names no version; refused
//! with `Exists` when the resource is there) or replaces the version it read
//! (refused with `Conflict` when another change came first), so two
//! concurrent read-modify-write requests can never both apply.

use std::collections::HashMap;

use super::{Value, int, next};
use crate::engine::Engine;
use crate::{Result, Store};

/// A resource as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRow {
    /// The resource type, e.g. `merchant`, `account`, `binding`.
    pub kind: String,
    /// Its id within the kind.
    pub id: String,
    /// The party that owns it (a MID, an account id); empty for none.
    pub scope: String,
    /// Its state, e.g. `pending_approval`.
    pub status: String,
    /// 1 when created, one more with every change; set by the store.
    pub version: u64,
    /// The API's JSON representation.
    pub document: String,
    /// Creation time, ns since the Unix epoch.
    pub created_at_ns: u64,
    /// Time of the last change, ns since the Unix epoch.
    pub updated_at_ns: u64,
}

/// One resource to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePut {
    /// The new content (its `version` is ignored: the store sets it).
    pub row: ResourceRow,
    /// `None` to create; `Some(v)` to replace version `v`.
    pub expected_version: Option<u64>,
}

impl ResourcePut {
    /// Creates `row`.
    #[must_use]
    pub fn create(row: ResourceRow) -> Self {
        Self {
            row,
            expected_version: None,
        }
    }

    /// Replaces the stored version `version` with `row`.
    #[must_use]
    pub fn replace(row: ResourceRow, version: u64) -> Self {
        Self {
            row,
            expected_version: Some(version),
        }
    }
}

/// What a list of resources asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceQuery {
    /// The kind.
    pub kind: String,
    /// Only resources of this scope.
    pub scope: Option<String>,
    /// Only resources in this status.
    pub status: Option<String>,
    /// Only ids greater than this (the cursor); empty for the first page.
    pub after_id: String,
    /// At most this many.
    pub limit: u64,
}

/// Why a put was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Created, but it exists.
    Exists,
    /// Replaced, but the stored version is another (or it is gone).
    Conflict,
}

type Key = (String, String);

/// The resources a batch reads and writes.
#[derive(Debug, Default)]
pub(crate) struct ResourceWorking {
    /// Current version of every resource the batch names (absent: none).
    versions: HashMap<Key, u64>,
    /// Rows to write, in order, with whether each is an insert.
    staged: Vec<(ResourceRow, bool)>,
}

fn key(row: &ResourceRow) -> Key {
    (row.kind.clone(), row.id.clone())
}

impl ResourceWorking {
    /// Reads the current version of each resource in `puts`.
    pub fn prefetch(&mut self, engine: &mut dyn Engine, puts: &[ResourcePut]) -> Result<()> {
        for put in puts {
            let key = key(&put.row);
            if self.versions.contains_key(&key) {
                continue;
            }
            let rows = engine.query(
                "SELECT version FROM api_resources WHERE kind = ?1 AND id = ?2",
                &[Value::Text(key.0.clone()), Value::Text(key.1.clone())],
            )?;
            if let Some(row) = rows.into_iter().next() {
                let version = next(&mut row.into_iter())?.unsigned()?;
                self.versions.insert(key, version);
            }
        }
        Ok(())
    }

    /// Checks every put against the current versions, then applies them
    /// all, or refuses them all.
    pub fn apply(&mut self, puts: Vec<ResourcePut>) -> std::result::Result<(), Refusal> {
        let mut planned: HashMap<Key, Option<u64>> = HashMap::new();
        for put in &puts {
            let key = key(&put.row);
            let current = match planned.get(&key) {
                Some(version) => *version,
                None => self.versions.get(&key).copied(),
            };
            match (put.expected_version, current) {
                (None, None) => {
                    planned.insert(key, Some(1));
                }
                (None, Some(_)) => return Err(Refusal::Exists),
                (Some(expected), Some(current)) if expected == current => {
                    planned.insert(key, Some(current + 1));
                }
                (Some(_), _) => return Err(Refusal::Conflict),
            }
        }
        for put in puts {
            let key = key(&put.row);
            let insert = !self.versions.contains_key(&key);
            let version = put.expected_version.map_or(1, |v| v + 1);
            self.versions.insert(key, version);
            self.staged
                .push((ResourceRow { version, ..put.row }, insert));
        }
        Ok(())
    }

    /// The rows to write, in order, with whether each is an insert.
    pub fn into_staged(self) -> Vec<(ResourceRow, bool)> {
        self.staged
    }
}

/// Writes staged resources with `execute`.
pub(crate) fn write_staged(
    staged: &[(ResourceRow, bool)],
    execute: &mut dyn FnMut(&str, &[Value]) -> Result<()>,
) -> Result<()> {
    for (row, insert) in staged {
        let sql = if *insert {
            "INSERT INTO api_resources (kind, id, scope, status, version, document, created_at, \
             updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        } else {
            "UPDATE api_resources SET scope = ?3, status = ?4, version = ?5, document = ?6, \
             created_at = ?7, updated_at = ?8 WHERE kind = ?1 AND id = ?2"
        };
        execute(
            sql,
            &[
                Value::Text(row.kind.clone()),
                Value::Text(row.id.clone()),
                Value::Text(row.scope.clone()),
                Value::Text(row.status.clone()),
                int(row.version),
                Value::Text(row.document.clone()),
                int(row.created_at_ns),
                int(row.updated_at_ns),
            ],
        )?;
    }
    Ok(())
}

const COLUMNS: &str = "kind, id, scope, status, version, document, created_at, updated_at";

fn row_from(row: Vec<Value>) -> Result<ResourceRow> {
    let mut row = row.into_iter();
    Ok(ResourceRow {
        kind: next(&mut row)?.text()?,
        id: next(&mut row)?.text()?,
        scope: next(&mut row)?.text()?,
        status: next(&mut row)?.text()?,
        version: next(&mut row)?.unsigned()?,
        document: next(&mut row)?.text()?,
        created_at_ns: next(&mut row)?.unsigned()?,
        updated_at_ns: next(&mut row)?.unsigned()?,
    })
}

impl Store {
    /// One resource.
    ///
    /// # Errors
    /// Database errors.
    pub fn resource(&mut self, kind: &str, id: &str) -> Result<Option<ResourceRow>> {
        let sql = format!("SELECT {COLUMNS} FROM api_resources WHERE kind = ?1 AND id = ?2");
        let rows = self.engine_mut().query(
            &sql,
            &[Value::Text(kind.to_owned()), Value::Text(id.to_owned())],
        )?;
        rows.into_iter().next().map(row_from).transpose()
    }

    /// Resources matching `query`, in id order.
    ///
    /// # Errors
    /// Database errors.
    pub fn resources(&mut self, query: &ResourceQuery) -> Result<Vec<ResourceRow>> {
        let mut sql = format!("SELECT {COLUMNS} FROM api_resources WHERE kind = ?1 AND id > ?2");
        let mut params = vec![
            Value::Text(query.kind.clone()),
            Value::Text(query.after_id.clone()),
        ];
        for (column, value) in [("scope", &query.scope), ("status", &query.status)] {
            if let Some(value) = value {
                params.push(Value::Text(value.clone()));
                sql.push_str(&format!(" AND {column} = ?{}", params.len()));
            }
        }
        params.push(int(query.limit));
        sql.push_str(&format!(" ORDER BY id LIMIT ?{}", params.len()));
        let rows = self.engine_mut().query(&sql, &params)?;
        rows.into_iter().map(row_from).collect()
    }
}
