//! `POST /v1/merchants/{mid}/onboarding/advance`, `.../reject` and
//! `GET /v1/merchants/{mid}/onboarding`: the workflow of
//! `domain::onboarding` over the `merchant` resource.
//!
//! The facts a gate checks are gathered here, each from where it lives:
//! the contract from the merchant document; the technical assessment from
//! the advance body (stored with the merchant when the gate passes); the
//! terminals from the `terminal` resources (status `active`, registered
//! with a key set and an initial KSN; at least one of every assessed
//! model); the settlement binding from the
//! `binding` resources of the merchant (status `approved`); the
//! certification plan from the host's own records of the merchant's
//! terminals (`certification` module). Advancing out of marketing is the
//! marketing step itself (its campaign is optional). A refused gate is a
//! 409 problem document whose `missing` lists every missing artefact.

mod certification;

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::onboarding::{
    self, AssessedModel, Capability, HISTORY_STEPS_MAX, Missing, OnboardingFacts, Stage,
    TransitionError,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::extract::ApiPath;
use super::merchants::{self, Actor, Change, Merchant, Step, is_mid, link};
use super::wire::{rfc3339, validate_code, validate_text};
use super::{Action, ApiError, ApiState, Caller, FieldError, PostRequest, authorize};

/// Most terminal models in one assessment.
pub const MODELS_MAX: usize = 32;
/// Most terminals of one model.
pub const MODEL_COUNT_MAX: u32 = 10_000;
/// Longest free text of an artefact (model, plan, campaign, reason).
pub const ARTEFACT_TEXT_LEN_MAX: usize = 200;

/// One terminal model of a technical assessment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelBody {
    model: String,
    count: u32,
    capabilities: Vec<String>,
}

/// How a missing capability will be added.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpgradeBody {
    capability: String,
    plan: String,
}

/// The technical assessment's artefacts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentBody {
    terminals: Vec<ModelBody>,
    #[serde(default)]
    upgrade_plan: Vec<UpgradeBody>,
}

/// The marketing step's campaign.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignBody {
    name: String,
    #[serde(default)]
    program: Option<String>,
}

/// `POST .../onboarding/advance` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvanceBody {
    /// The stage the caller expects the merchant in (a repeat after a lost
    /// answer then cannot advance twice).
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    assessment: Option<AssessmentBody>,
    #[serde(default)]
    campaign: Option<CampaignBody>,
}

/// `POST .../onboarding/reject` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    to: String,
    #[serde(default)]
    reason: Option<String>,
}

impl AssessmentBody {
    fn validate(&self, errors: &mut Vec<FieldError>) {
        if self.terminals.is_empty() || self.terminals.len() > MODELS_MAX {
            errors.push(FieldError::new(
                "assessment.terminals",
                format!("1 to {MODELS_MAX} models"),
            ));
        }
        for (i, model) in self.terminals.iter().enumerate() {
            let field = format!("assessment.terminals[{i}]");
            validate_text(
                &format!("{field}.model"),
                &model.model,
                ARTEFACT_TEXT_LEN_MAX,
                errors,
            );
            if model.count == 0 || model.count > MODEL_COUNT_MAX {
                errors.push(FieldError::new(
                    format!("{field}.count"),
                    format!("1 to {MODEL_COUNT_MAX}"),
                ));
            }
            capabilities(
                &format!("{field}.capabilities"),
                &model.capabilities,
                errors,
            );
        }
        for (i, upgrade) in self.upgrade_plan.iter().enumerate() {
            let field = format!("assessment.upgrade_plan[{i}]");
            if Capability::parse(&upgrade.capability).is_none() {
                errors.push(FieldError::new(
                    format!("{field}.capability"),
                    format!("one of {}", merchants::capability_names().join(", ")),
                ));
            }
            validate_text(
                &format!("{field}.plan"),
                &upgrade.plan,
                ARTEFACT_TEXT_LEN_MAX,
                errors,
            );
        }
    }

    fn models(&self) -> Vec<AssessedModel> {
        self.terminals
            .iter()
            .map(|m| AssessedModel {
                model: m.model.clone(),
                count: m.count as usize,
                capabilities: m
                    .capabilities
                    .iter()
                    .filter_map(|c| Capability::parse(c))
                    .collect(),
            })
            .collect()
    }
}

/// Checks a list of capability names.
pub(crate) fn capabilities(field: &str, names: &[String], errors: &mut Vec<FieldError>) {
    if names.len() > Capability::REQUIRED.len() {
        errors.push(FieldError::new(field, "each capability at most once"));
    }
    for (i, name) in names.iter().enumerate() {
        if Capability::parse(name).is_none() {
            errors.push(FieldError::new(
                format!("{field}[{i}]"),
                format!("one of {}", merchants::capability_names().join(", ")),
            ));
        } else if names[..i].contains(name) {
            errors.push(FieldError::new(format!("{field}[{i}]"), "duplicate"));
        }
    }
}

/// The technical assessment stored with the merchant.
fn stored_assessment(merchant: &Merchant) -> Option<AssessmentBody> {
    merchant
        .assessment
        .clone()
        .and_then(|v| serde_json::from_value::<AssessmentBody>(v).ok())
}

/// Everything the gate of `stage` needs to know about `merchant`.
async fn facts(
    state: &ApiState,
    merchant: &Merchant,
    stage: Stage,
    assessment: Option<&AssessmentBody>,
) -> Result<OnboardingFacts, ApiError> {
    let mut facts = OnboardingFacts {
        contract_signed: merchant.contract.is_some(),
        ..OnboardingFacts::default()
    };
    match stage {
        Stage::TechnicalAssessment => {
            let stored = stored_assessment(merchant);
            if let Some(assessment) = assessment.or(stored.as_ref()) {
                let models = assessment.models();
                facts.terminal_models_assessed = !models.is_empty();
                facts.capabilities = onboarding::assessed_capabilities(&models);
                facts.upgrade_planned = assessment
                    .upgrade_plan
                    .iter()
                    .filter_map(|u| Capability::parse(&u.capability))
                    .collect();
            }
        }
        Stage::SystemIntegration => {
            let mid = &merchant.mid;
            let active = link::scoped(state, "terminal", mid, Some("active")).await?;
            facts.terminals_ready = active.len();
            let registered: BTreeSet<String> = active
                .iter()
                .filter_map(|row| serde_json::from_str::<Value>(&row.document).ok())
                .filter_map(|doc| doc["model"].as_str().map(str::to_owned))
                .collect();
            facts.models_without_terminal = stored_assessment(merchant)
                .map(|a| a.models())
                .unwrap_or_default()
                .into_iter()
                .map(|m| m.model)
                .filter(|model| !registered.contains(model))
                .collect();
            facts.binding_approved = !link::scoped(state, "binding", mid, Some("approved"))
                .await?
                .is_empty();
        }
        Stage::Certification => {
            let progress = certification::progress(state, &merchant.mid).await?;
            facts.certification_passed = onboarding::passed_cases(&progress);
        }
        Stage::Negotiation | Stage::Marketing | Stage::Live => {}
    }
    Ok(facts)
}

/// The 409 of a gate that is not met: every missing artefact in `missing`
/// (and as `errors`, one per artefact).
fn gate_refused(stage: Stage, missing: &[Missing]) -> Response {
    let names: Vec<String> = missing.iter().map(Missing::describe).collect();
    let errors: Vec<Value> = names
        .iter()
        .map(|name| json!({"field": name, "message": "missing"}))
        .collect();
    let body = json!({
        "type": super::error::problem_type("onboarding-gate"),
        "title": "Onboarding Gate Not Met",
        "status": 409,
        "detail": format!("the merchant cannot leave stage {} yet: {} missing",
            stage.as_str(), names.join(", ")),
        "stage": stage.as_str(),
        "missing": names,
        "errors": errors,
    });
    (
        StatusCode::CONFLICT,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

/// Field errors of an advance body for a merchant in `stage`.
async fn validate_advance(
    state: &ApiState,
    body: &AdvanceBody,
    stage: Stage,
) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if let Some(assessment) = &body.assessment {
        if stage == Stage::TechnicalAssessment {
            assessment.validate(&mut errors);
        } else {
            errors.push(FieldError::new(
                "assessment",
                "only when leaving technical_assessment",
            ));
        }
    }
    if let Some(campaign) = &body.campaign {
        if stage != Stage::Marketing {
            errors.push(FieldError::new("campaign", "only when leaving marketing"));
        }
        validate_text(
            "campaign.name",
            &campaign.name,
            ARTEFACT_TEXT_LEN_MAX,
            &mut errors,
        );
        if let Some(code) = &campaign.program {
            validate_code("campaign.program", code, &mut errors);
            let code = code.clone();
            if errors.is_empty() && state.read(move |s| s.program(&code)).await?.is_none() {
                errors.push(FieldError::new("campaign.program", "no such program"));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

fn push_step(merchant: &mut Merchant, step: Step) -> Result<(), ApiError> {
    if merchant.history.len() >= HISTORY_STEPS_MAX {
        return Err(ApiError::Conflict(format!(
            "the onboarding history holds {HISTORY_STEPS_MAX} steps; no further step is taken"
        )));
    }
    merchant.updated_at = step.at.clone();
    merchant.stage = step.to.clone();
    merchant.history.push(step);
    Ok(())
}

pub(crate) async fn advance(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(mid): ApiPath<String>,
    request: PostRequest,
) -> Result<Response, ApiError> {
    if !is_mid(&mid) {
        return Err(ApiError::NotFound);
    }
    let (body, pending) = request
        .begin::<AdvanceBody>(&state, caller, Action::ChangeOnboarding)
        .await?;
    if let Some(from) = &body.from {
        if Stage::parse(from).is_none() {
            return Err(ApiError::field("from", "an onboarding stage"));
        }
    }
    let _admin = state.admin_lock().await;
    pending.recheck(&state).await?;
    let (mut merchant, row) = merchants::load(&state, pending.caller(), &mid).await?;
    let stage = merchant.stage();
    if body
        .from
        .as_deref()
        .is_some_and(|from| from != stage.as_str())
    {
        return Err(ApiError::Conflict(format!(
            "the merchant is in stage {}",
            stage.as_str()
        )));
    }
    validate_advance(&state, &body, stage).await?;
    let facts = facts(&state, &merchant, stage, body.assessment.as_ref()).await?;
    let facts = OnboardingFacts {
        marketing_done: stage == Stage::Marketing,
        ..facts
    };
    let next = match onboarding::advance(stage, &facts) {
        Ok(next) => next,
        Err(TransitionError::GateNotMet { stage, missing }) => {
            return Ok(gate_refused(stage, &missing));
        }
        Err(error) => return Err(ApiError::Conflict(error.to_string())),
    };
    if let Some(assessment) = &body.assessment {
        merchant.assessment = Some(serde_json::to_value(assessment).map_err(ApiError::internal)?);
    }
    if stage == Stage::Marketing {
        merchant.campaign = Some(serde_json::to_value(&body.campaign).map_err(ApiError::internal)?);
    }
    let step = Step {
        action: "advance".to_owned(),
        from: Some(stage.as_str().to_owned()),
        to: next.as_str().to_owned(),
        by: Actor::of(pending.caller()),
        at: rfc3339(state.now_ns()),
        reason: None,
    };
    push_step(&mut merchant, step)?;
    let details = json!({"from": stage.as_str(), "to": next.as_str(),
        "assessment": merchant.assessment, "campaign": merchant.campaign});
    let change = Change {
        merchant: &merchant,
        previous: Some(&row),
        action: "merchant.onboarding.advance",
        details,
        status: StatusCode::OK,
    };
    merchants::commit(&state, pending, change).await
}

pub(crate) async fn reject(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(mid): ApiPath<String>,
    request: PostRequest,
) -> Result<Response, ApiError> {
    if !is_mid(&mid) {
        return Err(ApiError::NotFound);
    }
    let (body, pending) = request
        .begin::<RejectBody>(&state, caller, Action::ChangeOnboarding)
        .await?;
    let mut errors = Vec::new();
    let to = Stage::parse(&body.to);
    if to.is_none() {
        errors.push(FieldError::new("to", "an onboarding stage"));
    }
    let reason = body.reason.clone().unwrap_or_default();
    if reason.trim().is_empty() {
        errors.push(FieldError::new("reason", "a rejection needs a reason"));
    } else {
        validate_text("reason", &reason, ARTEFACT_TEXT_LEN_MAX, &mut errors);
    }
    let Some(to) = to.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let _admin = state.admin_lock().await;
    pending.recheck(&state).await?;
    let (mut merchant, row) = merchants::load(&state, pending.caller(), &mid).await?;
    let stage = merchant.stage();
    match onboarding::reject(stage, to, &reason) {
        Ok(_) => {}
        Err(TransitionError::NotEarlier(stage)) => {
            return Err(ApiError::field(
                "to",
                format!("a stage before {}", stage.as_str()),
            ));
        }
        Err(error) => return Err(ApiError::field("reason", error.to_string())),
    }
    let step = Step {
        action: "reject".to_owned(),
        from: Some(stage.as_str().to_owned()),
        to: to.as_str().to_owned(),
        by: Actor::of(pending.caller()),
        at: rfc3339(state.now_ns()),
        reason: Some(reason.clone()),
    };
    push_step(&mut merchant, step)?;
    let details = json!({"from": stage.as_str(), "to": to.as_str(), "reason": reason});
    let change = Change {
        merchant: &merchant,
        previous: Some(&row),
        action: "merchant.onboarding.reject",
        details,
        status: StatusCode::OK,
    };
    merchants::commit(&state, pending, change).await
}

pub(crate) async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    ApiPath(mid): ApiPath<String>,
) -> Result<Response, ApiError> {
    authorize(&caller, Action::ReadOnboarding)?;
    let (merchant, row) = merchants::load(&state, &caller, &mid).await?;
    let stage = merchant.stage();
    let facts = facts(&state, &merchant, stage, None).await?;
    let missing: Vec<String> = onboarding::missing_for(stage, &facts)
        .iter()
        .map(Missing::describe)
        .collect();
    let progress = if stage >= Stage::Certification {
        certification::progress(&state, &mid).await?
    } else {
        onboarding::certification_progress(&[])
    };
    let plan: Vec<Value> = progress
        .iter()
        .map(|p| {
            json!({"case": p.case.as_str(), "passed": p.evidence.is_some(),
            "evidence": p.evidence})
        })
        .collect();
    let passed = progress.iter().filter(|p| p.evidence.is_some()).count();
    Ok(axum::Json(json!({
        "mid": merchant.mid,
        "stage": merchant.stage,
        "next_stage": stage.next().map(Stage::as_str),
        "gate": {"missing": missing},
        "history": merchant.history,
        "certification": {"plan": plan, "passed": passed, "total": progress.len(),
            "complete": passed == progress.len()},
        "version": row.version,
    }))
    .into_response())
}

/// JSON schema of the advance body.
pub fn advance_schema() -> Value {
    let stages: Vec<&str> = Stage::ALL.iter().map(|s| s.as_str()).collect();
    let capability = json!({"type": "string", "enum": merchants::capability_names()});
    let text = json!({"type": "string", "minLength": 1, "maxLength": ARTEFACT_TEXT_LEN_MAX});
    json!({"type": "object", "additionalProperties": false, "properties": {
        "from": {"type": "string", "enum": stages},
        "assessment": {"type": "object", "additionalProperties": false, "required": ["terminals"],
            "properties": {
                "terminals": {"type": "array", "minItems": 1, "maxItems": MODELS_MAX,
                    "items": {"type": "object", "additionalProperties": false,
                        "required": ["model", "count", "capabilities"],
                        "properties": {"model": text, "count": {"type": "integer", "minimum": 1,
                            "maximum": MODEL_COUNT_MAX},
                            "capabilities": {"type": "array", "items": capability}}}},
                "upgrade_plan": {"type": "array", "items": {"type": "object",
                    "additionalProperties": false, "required": ["capability", "plan"],
                    "properties": {"capability": capability, "plan": text}}}}},
        "campaign": {"type": ["object", "null"], "additionalProperties": false, "required": ["name"],
            "properties": {"name": text, "program": super::wire::code_schema()}}}})
}

/// JSON schema of the reject body.
pub fn reject_schema() -> Value {
    let stages: Vec<&str> = Stage::ALL.iter().map(|s| s.as_str()).collect();
    json!({"type": "object", "additionalProperties": false, "required": ["to", "reason"],
        "properties": {"to": {"type": "string", "enum": stages},
            "reason": {"type": "string", "minLength": 1, "maxLength": ARTEFACT_TEXT_LEN_MAX}}})
}

/// JSON schema of the onboarding view.
pub fn view_schema() -> Value {
    json!({"type": "object", "required": ["mid", "stage", "gate", "history", "certification"],
        "properties": {"mid": {"type": "string"}, "stage": {"type": "string"},
            "next_stage": {"type": ["string", "null"]},
            "gate": {"type": "object", "properties": {"missing": {"type": "array", "items": {"type": "string"}}}},
            "history": {"type": "array", "items": {"type": "object"}},
            "certification": {"type": "object", "properties": {
                "plan": {"type": "array", "items": {"type": "object", "properties": {
                    "case": {"type": "string"}, "passed": {"type": "boolean"},
                    "evidence": {"type": ["string", "null"]}}}},
                "passed": {"type": "integer"}, "total": {"type": "integer"},
                "complete": {"type": "boolean"}}},
            "version": {"type": "integer"}}})
}
