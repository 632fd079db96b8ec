//! Printing results as `name: value` lines or one JSON object.

use serde_json::{Map, Value};

/// Named results in the order they are printed.
#[derive(Debug, Default)]
pub struct Output(Vec<(&'static str, Value)>);

impl Output {
    /// Adds a string field.
    pub fn text(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.0.push((name, Value::String(value.into())));
        self
    }

    /// Adds a hex field (uppercase).
    pub fn hex(self, name: &'static str, bytes: &[u8]) -> Self {
        self.text(name, cardsec::hex::encode(bytes))
    }

    /// Adds a boolean field.
    pub fn flag(mut self, name: &'static str, value: bool) -> Self {
        self.0.push((name, Value::Bool(value)));
        self
    }

    /// Prints to stdout.
    pub fn print(self, json: bool) -> anyhow::Result<()> {
        if json {
            let map: Map<String, Value> =
                self.0.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            println!("{}", serde_json::to_string(&Value::Object(map))?);
            return Ok(());
        }
        for (name, value) in self.0 {
            match value {
                Value::String(s) => println!("{name}: {s}"),
                other => println!("{name}: {other}"),
            }
        }
        Ok(())
    }
}
