//! `POST /v1/programs`, `GET /v1/programs/{code}`: co-brand programs.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use domain::benefits::ProgramRules;
use domain::fees::RATE_BPS_MAX;
use serde::Deserialize;
use serde_json::{Value, json};
use store::api::{ApiChange, DocumentRow};

use super::extract::ApiPath;
use super::fee_plans::parse_document;
use super::wire::{Money, code_schema, validate_code};
use super::{Action, Answer, ApiError, ApiState, Caller, FieldError, PostRequest, Role, authorize};

/// Most BIN ranges in one program.
pub const BIN_RANGES_MAX: usize = 64;
/// Longest program name.
pub const NAME_LEN_MAX: usize = 100;

/// The instant discount.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscountBody {
    rate_bps: u32,
    cap: Money,
}

/// The points rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointsBody {
    unit: Money,
    points_per_unit: u64,
    points_per_unit_participating: u64,
}

/// `POST /v1/programs` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramBody {
    code: String,
    name: String,
    bank: String,
    brand_partner: String,
    bin_ranges: Vec<String>,
    discount: DiscountBody,
    points: PointsBody,
    fee_share_bps: u32,
}

fn bps(field: &str, value: u32, errors: &mut Vec<FieldError>) {
    if value > RATE_BPS_MAX {
        errors.push(FieldError::new(field, format!("at most {RATE_BPS_MAX}")));
    }
}

/// Validates the body into the domain's rules.
fn to_domain(body: &ProgramBody) -> Result<ProgramRules, ApiError> {
    let mut errors = Vec::new();
    validate_code("code", &body.code, &mut errors);
    validate_code("bank", &body.bank, &mut errors);
    validate_code("brand_partner", &body.brand_partner, &mut errors);
    super::wire::validate_text("name", &body.name, NAME_LEN_MAX, &mut errors);
    if body.bin_ranges.is_empty() || body.bin_ranges.len() > BIN_RANGES_MAX {
        errors.push(FieldError::new(
            "bin_ranges",
            format!("1 to {BIN_RANGES_MAX} ranges"),
        ));
    }
    for (i, bin) in body.bin_ranges.iter().enumerate() {
        let digits = bin.bytes().all(|b| b.is_ascii_digit());
        if !digits || !(bin.len() == 6 || bin.len() == 8) {
            errors.push(FieldError::new(format!("bin_ranges[{i}]"), "6 or 8 digits"));
        } else if body.bin_ranges[..i].contains(bin) {
            errors.push(FieldError::new(format!("bin_ranges[{i}]"), "duplicate"));
        }
    }
    bps("discount.rate_bps", body.discount.rate_bps, &mut errors);
    bps("fee_share_bps", body.fee_share_bps, &mut errors);
    let discount_cap = body.discount.cap.validate("discount.cap", &mut errors);
    let unit = body.points.unit.validate("points.unit", &mut errors);
    if unit.0 == 0 {
        errors.push(FieldError::new(
            "points.unit.amount_minor",
            "must be positive",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(ProgramRules {
        code: body.code.clone(),
        discount_bps: body.discount.rate_bps,
        discount_cap,
        points_unit_minor: unit.0,
        points_per_unit: body.points.points_per_unit,
        points_per_unit_participating: body.points.points_per_unit_participating,
        fee_share_bps: body.fee_share_bps,
        point_value_minor: domain::benefits::POINT_VALUE_MINOR_DEFAULT,
    })
}

/// Who a program is for, besides its rules.
#[derive(Debug, Clone)]
pub struct ProgramParties<'a> {
    /// Display name.
    pub name: &'a str,
    /// Issuing bank.
    pub bank: &'a str,
    /// Brand partner.
    pub brand_partner: &'a str,
    /// BIN ranges.
    pub bin_ranges: &'a [String],
}

/// The API representation of a program (also what is stored).
pub fn document(rules: &ProgramRules, parties: &ProgramParties<'_>, created_at_ns: u64) -> Value {
    json!({
        "code": rules.code,
        "name": parties.name,
        "bank": parties.bank,
        "brand_partner": parties.brand_partner,
        "bin_ranges": parties.bin_ranges,
        "discount": {"rate_bps": rules.discount_bps, "cap": Money::cny(rules.discount_cap)},
        "points": {
            "unit": Money::cny(domain::money::AmountMinor(rules.points_unit_minor)),
            "points_per_unit": rules.points_per_unit,
            "points_per_unit_participating": rules.points_per_unit_participating,
        },
        "fee_share_bps": rules.fee_share_bps,
        "created_at": super::wire::rfc3339(created_at_ns),
    })
}

/// The stored row of a program.
pub(crate) fn row(
    rules: &ProgramRules,
    parties: &ProgramParties<'_>,
    created_at_ns: u64,
) -> DocumentRow {
    DocumentRow {
        code: rules.code.clone(),
        bank: parties.bank.to_owned(),
        brand_partner: parties.brand_partner.to_owned(),
        document: document(rules, parties, created_at_ns).to_string(),
        created_at_ns,
    }
}

pub(crate) async fn create(
    State(state): State<ApiState>,
    caller: Caller,
    request: PostRequest,
) -> Result<Response, ApiError> {
    let (body, pending) = request
        .begin::<ProgramBody>(&state, caller, Action::CreateProgram)
        .await?;
    let caller = pending.caller();
    if caller.role == Role::Bank && caller.scope != body.bank {
        return Err(ApiError::Forbidden(
            "a bank key may create programs of its own bank only".to_owned(),
        ));
    }
    let rules = to_domain(&body)?;
    let parties = ProgramParties {
        name: &body.name,
        bank: &body.bank,
        brand_partner: &body.brand_partner,
        bin_ranges: &body.bin_ranges,
    };
    let now = state.now_ns();
    let document = document(&rules, &parties, now);
    let row = row(&rules, &parties, now);
    let audit = pending.audit(
        &state,
        "program.create",
        &format!("programs/{}", rules.code),
        &document,
    );
    pending
        .commit(
            &state,
            ApiChange::CreateProgram(row),
            audit,
            Answer::created(&document),
        )
        .await
}

/// Whether `caller` may see a program of `row`'s bank and partner.
fn visible(caller: &Caller, row: &DocumentRow) -> bool {
    match caller.role {
        Role::Operator => true,
        Role::Bank => row.bank == caller.scope,
        Role::Brand => row.brand_partner == caller.scope,
        Role::Merchant | Role::Owner => false,
    }
}

pub(crate) async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
) -> Result<Response, ApiError> {
    authorize(&caller, Action::ReadProgram)?;
    if !super::wire::is_code(&code) {
        return Err(ApiError::NotFound);
    }
    let row = state
        .read(move |store| store.program(&code))
        .await?
        .filter(|row| visible(&caller, row))
        .ok_or(ApiError::NotFound)?;
    Ok(axum::Json(parse_document(&row.document)?).into_response())
}

/// JSON schema of the request body.
pub fn request_schema() -> Value {
    json!({"type": "object", "additionalProperties": false,
        "required": ["code", "name", "bank", "brand_partner", "bin_ranges", "discount", "points", "fee_share_bps"],
        "properties": {
            "code": code_schema(),
            "name": {"type": "string", "minLength": 1, "maxLength": NAME_LEN_MAX},
            "bank": code_schema(),
            "brand_partner": code_schema(),
            "bin_ranges": {"type": "array", "minItems": 1, "maxItems": BIN_RANGES_MAX,
                "items": {"type": "string", "pattern": "^([0-9]{6}|[0-9]{8})$"}},
            "discount": {"type": "object", "additionalProperties": false, "required": ["rate_bps", "cap"],
                "properties": {"rate_bps": {"type": "integer", "minimum": 0, "maximum": RATE_BPS_MAX},
                    "cap": Money::schema()}},
            "points": {"type": "object", "additionalProperties": false,
                "required": ["unit", "points_per_unit", "points_per_unit_participating"],
                "properties": {"unit": Money::schema(),
                    "points_per_unit": {"type": "integer", "minimum": 0},
                    "points_per_unit_participating": {"type": "integer", "minimum": 0}}},
            "fee_share_bps": {"type": "integer", "minimum": 0, "maximum": RATE_BPS_MAX}}})
}

/// JSON schema of a program as answered.
pub fn response_schema() -> Value {
    let mut schema = request_schema();
    schema["properties"]["created_at"] = json!({"type": "string", "format": "date-time"});
    schema["additionalProperties"] = json!(true);
    schema
}
