//! The `merchant` resource: its JSON document (stored in `api_resources`,
//! kind `merchant`, id and scope = MID, status = onboarding stage), the
//! request bodies that build it, their validation and their schemas.

use domain::onboarding::{Capability, Stage};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::records::MerchantRecord;

use super::super::wire::{validate_code, validate_text};
use super::super::{Caller, FieldError};

/// Longest merchant name, address line, city or legal entity text.
pub const TEXT_LEN_MAX: usize = 100;
/// Most co-brand programs in one contract.
pub const PROGRAMS_MAX: usize = 16;
/// All of a liability: the two shares add up to this.
pub const LIABILITY_BPS_TOTAL: u32 = 10_000;

/// A merchant's address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    line2: Option<String>,
    city: String,
    postal_code: String,
    country: String,
}

/// The legal entity behind a merchant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalEntity {
    name: String,
    registration_number: String,
}

/// Who bears chargebacks and fraud losses, in basis points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiabilitySplit {
    /// The merchant's share.
    pub merchant_bps: u32,
    /// The acquirer's share.
    pub acquirer_bps: u32,
}

/// A merchant's contract (`PUT /v1/merchants/{mid}/contract` body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contract {
    /// Code of an existing fee plan.
    pub fee_plan: String,
    /// `T0` or `T1`.
    pub settlement_cycle: String,
    /// `HH:MM` in the platform time zone.
    pub cut_off: String,
    /// Liability split.
    pub liability_split: LiabilitySplit,
    /// Codes of existing co-brand programs the merchant participates in.
    #[serde(default)]
    pub programs: Vec<String>,
}

/// Who made a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// Role.
    pub role: String,
    /// Scope of the key (empty for operators).
    pub scope: String,
    /// Public id of the key (`system` for seeding).
    pub key_id: String,
}

impl Actor {
    /// The caller as an actor.
    pub fn of(caller: &Caller) -> Self {
        Self {
            role: caller.role.as_str().to_owned(),
            scope: caller.scope.clone(),
            key_id: caller.key_id.clone(),
        }
    }
}

/// One step of a merchant's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// `create`, `contract`, `advance` or `reject`.
    pub action: String,
    /// The stage before (`null` at creation).
    pub from: Option<String>,
    /// The stage after.
    pub to: String,
    /// Who.
    pub by: Actor,
    /// When (RFC 3339).
    pub at: String,
    /// Why (required for a rejection).
    #[serde(default)]
    pub reason: Option<String>,
}

/// The stored and answered merchant document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Merchant {
    /// MID, 15 digits.
    pub mid: String,
    /// Trading name.
    pub name: String,
    /// Merchant category code, 4 digits.
    pub mcc: String,
    /// Address.
    pub address: Address,
    /// Legal entity.
    pub legal_entity: LegalEntity,
    /// Onboarding stage.
    pub stage: String,
    /// Contract, once negotiated.
    pub contract: Option<Contract>,
    /// The technical assessment, once made.
    #[serde(default)]
    pub assessment: Option<Value>,
    /// The marketing step's campaign (`null`: none, or not yet there).
    #[serde(default)]
    pub campaign: Option<Value>,
    /// Every step.
    pub history: Vec<Step>,
    /// Creation time.
    pub created_at: String,
    /// Time of the last change.
    pub updated_at: String,
}

/// `POST /v1/merchants` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    pub(crate) mid: String,
    pub(crate) name: String,
    pub(crate) mcc: String,
    pub(crate) address: Address,
    pub(crate) legal_entity: LegalEntity,
}

/// Whether `mid` is a MID: 15 digits.
pub fn is_mid(mid: &str) -> bool {
    mid.len() == 15 && mid.bytes().all(|b| b.is_ascii_digit())
}

/// The MCC as a number, if it is 4 digits.
pub fn parse_mcc(mcc: &str) -> Option<u16> {
    (mcc.len() == 4 && mcc.bytes().all(|b| b.is_ascii_digit()))
        .then(|| mcc.parse().ok())
        .flatten()
}

/// Minutes after midnight of `HH:MM`.
pub fn parse_cut_off(text: &str) -> Option<u16> {
    let (hours, minutes) = text.split_once(':')?;
    let two_digits = |t: &str| t.len() == 2 && t.bytes().all(|b| b.is_ascii_digit());
    if !two_digits(hours) || !two_digits(minutes) {
        return None;
    }
    let (hours, minutes): (u16, u16) = (hours.parse().ok()?, minutes.parse().ok()?);
    (hours < 24 && minutes < 60).then_some(hours * 60 + minutes)
}

impl CreateBody {
    /// Field errors of the body.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if !is_mid(&self.mid) {
            errors.push(FieldError::new("mid", "15 digits"));
        }
        validate_text("name", &self.name, TEXT_LEN_MAX, &mut errors);
        if parse_mcc(&self.mcc).is_none() {
            errors.push(FieldError::new("mcc", "four digits"));
        }
        let a = &self.address;
        validate_text("address.line1", &a.line1, TEXT_LEN_MAX, &mut errors);
        if let Some(line2) = &a.line2 {
            validate_text("address.line2", line2, TEXT_LEN_MAX, &mut errors);
        }
        validate_text("address.city", &a.city, TEXT_LEN_MAX, &mut errors);
        validate_text("address.postal_code", &a.postal_code, 16, &mut errors);
        if a.country.len() != 2 || !a.country.bytes().all(|b| b.is_ascii_uppercase()) {
            errors.push(FieldError::new(
                "address.country",
                "ISO 3166 alpha-2 code (two capital letters)",
            ));
        }
        let e = &self.legal_entity;
        validate_text("legal_entity.name", &e.name, TEXT_LEN_MAX, &mut errors);
        validate_text(
            "legal_entity.registration_number",
            &e.registration_number,
            32,
            &mut errors,
        );
        errors
    }
}

impl Contract {
    /// Field errors of the contract's own fields (whether its fee plan and
    /// programs exist is checked against the store by the caller).
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        validate_code("fee_plan", &self.fee_plan, &mut errors);
        if !matches!(self.settlement_cycle.as_str(), "T0" | "T1") {
            errors.push(FieldError::new("settlement_cycle", "T0 or T1"));
        }
        if parse_cut_off(&self.cut_off).is_none() {
            errors.push(FieldError::new("cut_off", "HH:MM, 00:00 to 23:59"));
        }
        let split = self.liability_split;
        if split.merchant_bps.checked_add(split.acquirer_bps) != Some(LIABILITY_BPS_TOTAL) {
            errors.push(FieldError::new(
                "liability_split",
                format!("merchant_bps + acquirer_bps must be {LIABILITY_BPS_TOTAL}"),
            ));
        }
        if self.programs.len() > PROGRAMS_MAX {
            errors.push(FieldError::new(
                "programs",
                format!("at most {PROGRAMS_MAX}"),
            ));
        }
        for (i, code) in self.programs.iter().enumerate() {
            let field = format!("programs[{i}]");
            validate_code(&field, code, &mut errors);
            if self.programs[..i].contains(code) {
                errors.push(FieldError::new(field, "duplicate"));
            }
        }
        errors
    }
}

impl Merchant {
    /// A new merchant in negotiation.
    pub fn new(body: CreateBody, by: Actor, now: &str) -> Self {
        let stage = Stage::Negotiation.as_str().to_owned();
        Self {
            history: vec![Step {
                action: "create".to_owned(),
                from: None,
                to: stage.clone(),
                by,
                at: now.to_owned(),
                reason: None,
            }],
            mid: body.mid,
            name: body.name,
            mcc: body.mcc,
            address: body.address,
            legal_entity: body.legal_entity,
            stage,
            contract: None,
            assessment: None,
            campaign: None,
            created_at: now.to_owned(),
            updated_at: now.to_owned(),
        }
    }

    /// The stage; negotiation for an unreadable one.
    pub fn stage(&self) -> Stage {
        Stage::parse(&self.stage).unwrap_or(Stage::Negotiation)
    }

    /// The host's record of this merchant (its `account` is set by
    /// `crate::admin`). `program` is the co-brand program the host runs.
    pub fn host_record(&self, program: Option<&str>) -> MerchantRecord {
        let contract = self.contract.as_ref();
        MerchantRecord {
            mid: self.mid.clone(),
            name: self.name.clone(),
            stage: self.stage.clone(),
            account: 0,
            participant: contract
                .zip(program)
                .is_some_and(|(c, p)| c.programs.iter().any(|code| code == p)),
            mcc: parse_mcc(&self.mcc).unwrap_or(0),
            fee_plan: contract.map(|c| c.fee_plan.clone()).unwrap_or_default(),
            cycle: contract.map_or_else(|| "T1".to_owned(), |c| c.settlement_cycle.clone()),
            cutoff_minute: contract
                .and_then(|c| parse_cut_off(&c.cut_off))
                .unwrap_or(0),
        }
    }

    /// The answer: the document with its version.
    pub fn answer(&self, version: u64) -> Value {
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        value["version"] = json!(version);
        value
    }
}

fn text_schema(len_max: usize) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": len_max})
}

/// JSON schema of the `POST /v1/merchants` body.
pub fn create_schema() -> Value {
    json!({"type": "object", "additionalProperties": false,
        "required": ["mid", "name", "mcc", "address", "legal_entity"],
        "properties": {
            "mid": {"type": "string", "pattern": "^[0-9]{15}$"},
            "name": text_schema(TEXT_LEN_MAX),
            "mcc": {"type": "string", "pattern": "^[0-9]{4}$"},
            "address": {"type": "object", "additionalProperties": false,
                "required": ["line1", "city", "postal_code", "country"],
                "properties": {"line1": text_schema(TEXT_LEN_MAX), "line2": text_schema(TEXT_LEN_MAX),
                    "city": text_schema(TEXT_LEN_MAX), "postal_code": text_schema(16),
                    "country": {"type": "string", "pattern": "^[A-Z]{2}$"}}},
            "legal_entity": {"type": "object", "additionalProperties": false,
                "required": ["name", "registration_number"],
                "properties": {"name": text_schema(TEXT_LEN_MAX),
                    "registration_number": text_schema(32)}}}})
}

/// JSON schema of a contract.
pub fn contract_schema() -> Value {
    json!({"type": "object", "additionalProperties": false,
        "required": ["fee_plan", "settlement_cycle", "cut_off", "liability_split"],
        "properties": {
            "fee_plan": super::super::wire::code_schema(),
            "settlement_cycle": {"type": "string", "enum": ["T0", "T1"]},
            "cut_off": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
            "liability_split": {"type": "object", "additionalProperties": false,
                "required": ["merchant_bps", "acquirer_bps"],
                "properties": {"merchant_bps": {"type": "integer", "minimum": 0, "maximum": LIABILITY_BPS_TOTAL},
                    "acquirer_bps": {"type": "integer", "minimum": 0, "maximum": LIABILITY_BPS_TOTAL}}},
            "programs": {"type": "array", "maxItems": PROGRAMS_MAX,
                "items": super::super::wire::code_schema()}}})
}

/// JSON schema of a merchant as answered.
pub fn response_schema() -> Value {
    let stages: Vec<&str> = Stage::ALL.iter().map(|s| s.as_str()).collect();
    let mut schema = create_schema();
    schema["additionalProperties"] = json!(true);
    schema["required"] = json!(["mid", "name", "mcc", "stage", "history", "version"]);
    let properties = &mut schema["properties"];
    properties["stage"] = json!({"type": "string", "enum": stages});
    properties["contract"] = json!({"oneOf": [{"type": "null"}, contract_schema()]});
    properties["history"] = json!({"type": "array", "items": {"type": "object"}});
    properties["version"] = json!({"type": "integer", "minimum": 1});
    schema
}

/// The capability names, for schemas.
pub fn capability_names() -> Vec<&'static str> {
    Capability::REQUIRED.iter().map(|c| c.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_offs() {
        for (text, expected) in [
            ("00:00", Some(0)),
            ("23:00", Some(1380)),
            ("23:59", Some(1439)),
            ("24:00", None),
            ("9:00", None),
            ("12:60", None),
            ("12-00", None),
            ("", None),
        ] {
            assert_eq!(parse_cut_off(text), expected, "{text}");
        }
    }
}
