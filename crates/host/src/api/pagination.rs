//! Pagination (`limit`, opaque `cursor`) and list responses (JSON or CSV).

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::ApiError;
use super::wire::{hex, unhex};

/// Most items a page may hold.
pub const LIMIT_MAX: u32 = 500;
/// Items per page when `limit` is not given.
pub const LIMIT_DEFAULT: u32 = 50;
/// Longest cursor accepted.
const CURSOR_BYTES_MAX: usize = 512;
/// Marks cursors of this version.
const CURSOR_PREFIX: &str = "c1.";

/// A validated page request: the last key seen and the page size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The key after which the page starts ("" for the first page).
    pub after: String,
    /// Items on the page.
    pub limit: u32,
}

impl Page {
    /// Validates `limit` and decodes `cursor`.
    ///
    /// # Errors
    /// 422 for a limit out of range or a cursor this server did not issue.
    pub fn new(limit: Option<u32>, cursor: Option<&str>) -> Result<Self, ApiError> {
        let limit = limit.unwrap_or(LIMIT_DEFAULT);
        if limit == 0 || limit > LIMIT_MAX {
            return Err(ApiError::field("limit", format!("1 to {LIMIT_MAX}")));
        }
        let after = match cursor {
            None => String::new(),
            Some(cursor) => decode_cursor(cursor)
                .ok_or_else(|| ApiError::field("cursor", "not a cursor issued by this server"))?,
        };
        Ok(Self { after, limit })
    }
}

/// An opaque cursor for "after `key`".
pub fn encode_cursor(key: &str) -> String {
    format!("{CURSOR_PREFIX}{}", hex(key.as_bytes()))
}

fn decode_cursor(cursor: &str) -> Option<String> {
    if cursor.len() > CURSOR_BYTES_MAX {
        return None;
    }
    let bytes = unhex(cursor.strip_prefix(CURSOR_PREFIX)?)?;
    String::from_utf8(bytes)
        .ok()
        .filter(|key| !key.chars().any(char::is_control))
}

/// Whether the client asked for CSV.
pub fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/csv"))
}

/// A list response: `{"items": [...], "next_cursor": ...}`, or CSV with the
/// given columns (nested values by dotted path) and the next cursor in the
/// `X-Next-Cursor` header.
pub fn list_response(
    headers: &HeaderMap,
    items: Vec<Value>,
    columns: &[&str],
    next_cursor: Option<String>,
) -> Response {
    if !wants_csv(headers) {
        let body = json!({"items": items, "next_cursor": next_cursor});
        return axum::Json(body).into_response();
    }
    let mut csv = columns.join(",");
    csv.push_str("\r\n");
    for item in &items {
        let cells: Vec<String> = columns
            .iter()
            .map(|column| csv_cell(lookup(item, column)))
            .collect();
        csv.push_str(&cells.join(","));
        csv.push_str("\r\n");
    }
    let mut response = (StatusCode::OK, csv).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Some(cursor) = next_cursor.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert("x-next-cursor", cursor);
    }
    response
}

fn lookup<'a>(item: &'a Value, path: &str) -> &'a Value {
    path.split('.')
        .try_fold(item, |value, key| value.get(key))
        .unwrap_or(&Value::Null)
}

/// RFC 4180 quoting; formula-leading cells are prefixed with `'` so a
/// spreadsheet does not evaluate them.
fn csv_cell(value: &Value) -> String {
    let text = match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let text = if text.starts_with(['=', '+', '-', '@']) && !value.is_number() {
        format!("'{text}")
    } else {
        text
    };
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// JSON schema of the pagination parameters, for the OpenAPI document.
pub fn parameters() -> Vec<Value> {
    vec![
        json!({"name": "limit", "in": "query", "required": false,
            "schema": {"type": "integer", "minimum": 1, "maximum": LIMIT_MAX, "default": LIMIT_DEFAULT}}),
        json!({"name": "cursor", "in": "query", "required": false, "schema": {"type": "string"}}),
    ]
}
