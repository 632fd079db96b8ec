//! The two engines' side of the API storage: running [`ApiSql`] queries and
//! writing [`ApiStaged`] rows through rusqlite and the `postgres` client.

use super::{ApiSql, Value, write_staged};
use crate::engine::Staged;
use crate::settlement_items::write_items;
use crate::settlement_writes::Param;
use crate::{Result, StoreError};

impl ApiSql for crate::sqlite::Sqlite {
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>> {
        sqlite_query(self.connection(), sql, params)
    }
}

/// Binds a value without copying it first (SQLite copies it once).
impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Text(text) => ValueRef::Text(text.as_bytes()),
            Value::Int(int) => ValueRef::Integer(*int),
            Value::Bytes(bytes) => ValueRef::Blob(bytes),
        }))
    }
}

/// Binds a borrowed parameter as it is (SQLite copies it once).
impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Param::Text(text) => ValueRef::Text(text.as_bytes()),
            Param::Int(int) => ValueRef::Integer(*int),
        }))
    }
}

/// Runs a statement that returns no rows (a cached one).
fn sqlite_execute(
    connection: &rusqlite::Connection,
    sql: &str,
    params: &[Param<'_>],
) -> Result<()> {
    let mut statement = connection.prepare_cached(sql)?;
    statement.execute(rusqlite::params_from_iter(params))?;
    Ok(())
}

fn sqlite_query(
    connection: &rusqlite::Connection,
    sql: &str,
    params: &[Value],
) -> Result<Vec<Vec<Value>>> {
    use rusqlite::types::ValueRef;
    let mut statement = connection.prepare_cached(sql)?;
    let columns = statement.column_count();
    let mut rows = statement.query(rusqlite::params_from_iter(params))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(columns);
        for i in 0..columns {
            // Copied once, straight from SQLite's buffer.
            values.push(match row.get_ref(i)? {
                ValueRef::Integer(int) => Value::Int(int),
                ValueRef::Text(text) => Value::Text(
                    std::str::from_utf8(text)
                        .map_err(|err| rusqlite::Error::Utf8Error(i, err))?
                        .to_owned(),
                ),
                ValueRef::Blob(bytes) => Value::Bytes(bytes.to_vec()),
                other => {
                    return Err(StoreError::Corrupt(format!("unexpected value {other:?}")));
                }
            });
        }
        out.push(values);
    }
    Ok(out)
}

/// Writes the staged API rows in a SQLite transaction (the engine writes
/// the settlement items itself).
pub(crate) fn write_sqlite(connection: &rusqlite::Connection, staged: &Staged) -> Result<()> {
    let mut execute = |sql: &str, params: &[Value]| sqlite_query(connection, sql, params).map(drop);
    write_staged(&staged.api, &mut execute)?;
    // Settlement items are written by the SQLite engine itself (one cached
    // statement per row, see `sqlite::write_settlement_items`).
    let mut execute = |sql: &str, params: &[Param<'_>]| sqlite_execute(connection, sql, params);
    crate::settlement_writes::write_runs(&staged.settlement_runs, &mut execute)
}

fn pg_sql(sql: &str) -> String {
    sql.replace('?', "$")
}

fn pg_params(params: &[Value]) -> Vec<Box<dyn postgres::types::ToSql + Sync>> {
    params
        .iter()
        .map(|value| -> Box<dyn postgres::types::ToSql + Sync> {
            match value {
                Value::Text(text) => Box::new(text.clone()),
                Value::Int(int) => Box::new(*int),
                Value::Bytes(bytes) => Box::new(bytes.clone()),
            }
        })
        .collect()
}

fn pg_rows(rows: Vec<postgres::Row>) -> Result<Vec<Vec<Value>>> {
    use postgres::types::Type;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mut values = Vec::with_capacity(row.len());
        for (i, column) in row.columns().iter().enumerate() {
            let ty = column.type_();
            values.push(if *ty == Type::INT8 {
                Value::Int(row.try_get(i)?)
            } else if *ty == Type::INT4 {
                Value::Int(i64::from(row.try_get::<_, i32>(i)?))
            } else if *ty == Type::BYTEA {
                Value::Bytes(row.try_get(i)?)
            } else {
                Value::Text(row.try_get(i)?)
            });
        }
        out.push(values);
    }
    Ok(out)
}

fn pg_query(
    client: &mut impl postgres::GenericClient,
    sql: &str,
    params: &[Value],
) -> Result<Vec<Vec<Value>>> {
    let boxed = pg_params(params);
    let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = boxed.iter().map(|b| &**b).collect();
    pg_rows(client.query(&pg_sql(sql), &refs)?)
}

impl ApiSql for crate::pg::Postgres {
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>> {
        pg_query(self.client(), sql, params)
    }
}

/// Writes the staged API rows and settlement items in a PostgreSQL
/// transaction.
pub(crate) fn write_pg(
    transaction: &mut impl postgres::GenericClient,
    staged: &Staged,
) -> Result<()> {
    let mut execute = |sql: &str, params: &[Value]| pg_query(transaction, sql, params).map(drop);
    write_staged(&staged.api, &mut execute)?;
    write_items(&staged.settlement_items, &mut execute)?;
    let mut execute = |sql: &str, params: &[Param<'_>]| {
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|param| -> &(dyn postgres::types::ToSql + Sync) {
                match param {
                    Param::Text(text) => text,
                    Param::Int(int) => int,
                }
            })
            .collect();
        transaction.execute(&pg_sql(sql), &refs)?;
        Ok(())
    };
    crate::settlement_writes::write_runs(&staged.settlement_runs, &mut execute)
}
