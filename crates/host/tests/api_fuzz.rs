//! Random request bodies generated from the OpenAPI document's schemas
//! (mostly valid, sometimes mutated): no answer is ever a 5xx, and every
//! error is a problem document. Seeded, so a failure replays.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
#[path = "api_support.rs"]
mod support;

use serde_json::{Map, Value, json};
use support::*;

engines!(random_bodies_never_cause_a_server_error);

/// Bodies per POST operation.
const CASES_PER_OPERATION: usize = 150;

/// xorshift64*: small, seeded, good enough to pick cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const INTEGERS: &[i128] = &[
    0,
    1,
    -1,
    38,
    60,
    2_500,
    10_000,
    10_001,
    i32::MAX as i128,
    u32::MAX as i128,
    i64::MAX as i128,
    i64::MIN as i128,
    u64::MAX as i128,
    1 << 80,
];

fn random_string(rng: &mut Rng, schema: &Value) -> Value {
    if let Some(values) = schema["enum"].as_array() {
        if !rng.chance(10) {
            return values[rng.below(values.len())].clone();
        }
    }
    let samples = [
        "",
        "DBCOFFEE",
        "622588",
        "62258801",
        "5814",
        "A-1_Z",
        "lower",
        "CNY",
        "USD",
        "x\u{0}y",
        "日本",
        "=cmd|' /C calc'!A0",
        "12345",
    ];
    let mut text = samples[rng.below(samples.len())].to_owned();
    if rng.chance(5) {
        text = "Z".repeat(rng.below(300));
    }
    if rng.chance(50) {
        text.push_str(&format!("{}", rng.below(1000)));
    }
    Value::String(text)
}

fn random_scalar(rng: &mut Rng) -> Value {
    match rng.below(6) {
        0 => Value::Null,
        1 => json!(rng.chance(50)),
        2 => json!(1.5),
        3 => json!("text"),
        4 => json!([]),
        _ => json!({}),
    }
}

/// A value the schema allows.
fn valid(rng: &mut Rng, schema: &Value) -> Value {
    let kind = match &schema["type"] {
        Value::String(kind) => kind.clone(),
        Value::Array(kinds) => kinds[0].as_str().unwrap_or("null").to_owned(),
        _ => "null".to_owned(),
    };
    match kind.as_str() {
        "object" => {
            let mut object = Map::new();
            let required: Vec<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                if required.contains(&name.as_str()) || rng.chance(30) {
                    object.insert(name.clone(), valid(rng, property));
                }
            }
            Value::Object(object)
        }
        "array" => {
            let n = schema["minItems"].as_u64().unwrap_or(0) as usize + rng.below(2);
            let mut items: Vec<Value> = (0..n).map(|_| valid(rng, &schema["items"])).collect();
            items.dedup();
            Value::Array(items)
        }
        "integer" => {
            let min = schema["minimum"].as_i64().unwrap_or(0);
            let max = schema["maximum"].as_i64().unwrap_or(100_000);
            json!(min + (rng.next() % (max - min + 1) as u64) as i64)
        }
        "string" => {
            if let Some(values) = schema["enum"].as_array() {
                return values[rng.below(values.len())].clone();
            }
            let pattern = schema["pattern"].as_str().unwrap_or("");
            Value::String(if schema["format"] == "date" {
                "2026-11-24".to_owned()
            } else if pattern.contains("{15}") {
                format!("9{:014}", rng.next() % 100_000_000_000_000)
            } else if pattern.contains("[A-Z]{2}") {
                "CN".to_owned()
            } else if pattern.contains("{4}") {
                "5814".to_owned()
            } else if pattern.contains("{6}") {
                ["622588", "62258801"][rng.below(2)].to_owned()
            } else if pattern.contains("A-Z") {
                format!("F{}", rng.next() % 1_000_000)
            } else {
                "text".to_owned()
            })
        }
        _ => Value::Null,
    }
}

fn generate(rng: &mut Rng, schema: &Value, depth: usize) -> Value {
    if rng.chance(4) || depth > 6 {
        return random_scalar(rng);
    }
    let kind = match &schema["type"] {
        Value::String(kind) => kind.clone(),
        Value::Array(kinds) => kinds[rng.below(kinds.len())]
            .as_str()
            .unwrap_or("null")
            .to_owned(),
        _ => "null".to_owned(),
    };
    match kind.as_str() {
        "object" => generate_object(rng, schema, depth),
        "array" => {
            let items = &schema["items"];
            let n = if rng.chance(5) {
                rng.below(80)
            } else {
                rng.below(4)
            };
            Value::Array((0..n).map(|_| generate(rng, items, depth + 1)).collect())
        }
        "integer" => {
            let value = INTEGERS[rng.below(INTEGERS.len())];
            serde_json::from_str(&value.to_string()).unwrap_or(Value::Null)
        }
        "string" => random_string(rng, schema),
        "boolean" => json!(rng.chance(50)),
        _ => Value::Null,
    }
}

fn generate_object(rng: &mut Rng, schema: &Value, depth: usize) -> Value {
    let mut object = Map::new();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(properties) = schema["properties"].as_object() {
        for (name, property) in properties {
            let keep = if required.contains(&name.as_str()) {
                !rng.chance(5)
            } else {
                rng.chance(60)
            };
            if keep {
                object.insert(name.clone(), generate(rng, property, depth + 1));
            }
        }
    }
    if rng.chance(5) {
        object.insert("unexpected".to_owned(), json!(1));
    }
    Value::Object(object)
}

async fn random_bodies_never_cause_a_server_error(h: Harness) {
    let document = h.send(call("GET", "/v1/openapi.json", None)).await.json();
    let mut rng = Rng(0x5eed_0000_0000_0001);
    let mut operations = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        let Some(schema) =
            item["post"]["requestBody"]["content"]["application/json"]["schema"].as_object()
        else {
            continue;
        };
        operations += 1;
        let schema = Value::Object(schema.clone());
        // Path parameters name sandbox resources, so the bodies reach them.
        let path = &path
            .replace("{mid}", "100000000000003")
            .replace("{tid}", "T0000004");
        let mut created = 0;
        for case in 0..CASES_PER_OPERATION {
            let body = if case % 2 == 0 {
                valid(&mut rng, &schema)
            } else {
                generate(&mut rng, &schema, 0)
            }
            .to_string();
            let key = if rng.chance(80) {
                ADMIN
            } else {
                KEYS[rng.below(KEYS.len())]
            };
            let reply = h.post(path, key, &body).await;
            let status = reply.status.as_u16();
            assert!(
                status < 500,
                "case {case}: POST {path} {body}: {status} {}",
                reply.text
            );
            if status >= 400 {
                assert_problem(&reply, status);
            } else {
                created += 1;
            }
        }
        // The generator reaches valid bodies too, not only rejections
        // (not where validity depends on other fields, on path ids, on a
        // known merchant and key set, on existing accounts, or on certification
        // traffic).
        let unreachable = ["/v1/programs", "/v1/accounts", "/v1/terminals"]
            .contains(&path.as_str())
            // A known merchant; the terminal host of the process; a
            // Luhn-valid on-us PAN.
            || ["/v1/qr/orders", "/v1/qr/payments", "/v1/issuer/cards"].contains(&path.as_str())
            || path.ends_with("/onboarding/advance")
            // The terminal host's merchant record, which this API has not.
            || path.ends_with("/adjustments")
            || path.ends_with("/bindings");
        assert!(
            created > 0 || unreachable || path.contains('{'),
            "{path}: nothing valid generated"
        );
    }
    assert_eq!(operations, 23);
    // Random query strings on the lists.
    let parameters = [
        "limit",
        "cursor",
        "action",
        "resource",
        "actor_role",
        "colour",
    ];
    let values = [
        "",
        "0",
        "1",
        "500",
        "501",
        "-1",
        "1e3",
        "c1.",
        "c1.3132",
        "%ff",
        "abc",
        "99999999999999999999",
    ];
    for _ in 0..200 {
        let path = [
            "/v1/fee-plans",
            "/v1/audit",
            "/v1/settlements",
            "/v1/payouts",
        ][rng.below(4)];
        let query: Vec<String> = (0..rng.below(4))
            .map(|_| {
                format!(
                    "{}={}",
                    parameters[rng.below(parameters.len())],
                    values[rng.below(values.len())]
                )
            })
            .collect();
        let uri = format!("{path}?{}", query.join("&"));
        let reply = h.get(&uri, ADMIN).await;
        assert!(reply.status.as_u16() < 500, "{uri}: {}", reply.text);
        assert!(
            [200, 422].contains(&reply.status.as_u16()),
            "{uri}: {} {}",
            reply.status,
            reply.text
        );
    }
    let verify = h.get("/v1/audit/verify", ADMIN).await.json();
    assert_eq!(verify["ok"], true);
}
