//! The merchant onboarding workflow: negotiation → technical assessment →
//! system integration → testing & certification → marketing → live.
//!
//! Each stage has a gate: the facts that must hold before the merchant moves
//! on. A refused gate lists everything missing, not only the first thing.
//! Rejection sends the merchant back to an earlier stage with a reason.

use std::collections::BTreeSet;

/// Onboarding stages in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Contract terms are being agreed.
    Negotiation,
    /// Terminal models and capabilities are assessed.
    TechnicalAssessment,
    /// Terminals registered, keys loaded, settlement account bound.
    SystemIntegration,
    /// The merchant's terminals run the certification test plan.
    Certification,
    /// Optional campaigns are set up.
    Marketing,
    /// Transacting for real.
    Live,
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Stage; 6] = [
        Stage::Negotiation,
        Stage::TechnicalAssessment,
        Stage::SystemIntegration,
        Stage::Certification,
        Stage::Marketing,
        Stage::Live,
    ];

    /// Stable name used in the API.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Negotiation => "negotiation",
            Stage::TechnicalAssessment => "technical_assessment",
            Stage::SystemIntegration => "system_integration",
            Stage::Certification => "certification",
            Stage::Marketing => "marketing",
            Stage::Live => "live",
        }
    }

    /// Parses the stable name.
    #[must_use]
    pub fn parse(text: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The stage after this one; `None` for live.
    #[must_use]
    pub fn next(self) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| *s > self)
    }
}

/// A terminal capability the certification plan exercises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    /// Contact EMV chip.
    Chip,
    /// Contactless chip.
    Contactless,
    /// Magnetic stripe.
    Swipe,
    /// PIN entry.
    PinEntry,
}

impl Capability {
    /// Every capability a terminal must have (or have an upgrade plan for).
    pub const REQUIRED: [Capability; 4] = [
        Capability::Chip,
        Capability::Contactless,
        Capability::Swipe,
        Capability::PinEntry,
    ];

    /// Stable name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Chip => "chip",
            Capability::Contactless => "contactless",
            Capability::Swipe => "swipe",
            Capability::PinEntry => "pin",
        }
    }
}

/// One case of the certification test plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CertificationCase {
    /// An approved chip sale with online PIN.
    ChipSaleWithPin,
    /// An approved contactless sale.
    ContactlessSale,
    /// An approved magnetic-stripe sale.
    SwipeSale,
    /// An approved void.
    Void,
    /// An approved refund.
    Refund,
    /// A reversal.
    Reversal,
    /// A batch settlement that balanced.
    BatchSettlement,
}

impl CertificationCase {
    /// The whole plan.
    pub const PLAN: [CertificationCase; 7] = [
        CertificationCase::ChipSaleWithPin,
        CertificationCase::ContactlessSale,
        CertificationCase::SwipeSale,
        CertificationCase::Void,
        CertificationCase::Refund,
        CertificationCase::Reversal,
        CertificationCase::BatchSettlement,
    ];

    /// Stable name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            CertificationCase::ChipSaleWithPin => "chip_sale_with_pin",
            CertificationCase::ContactlessSale => "contactless_sale",
            CertificationCase::SwipeSale => "swipe_sale",
            CertificationCase::Void => "void",
            CertificationCase::Refund => "refund",
            CertificationCase::Reversal => "reversal",
            CertificationCase::BatchSettlement => "batch_settlement",
        }
    }
}

/// What is known about a merchant when a gate is checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OnboardingFacts {
    /// A contract with fee plan and settlement cycle exists.
    pub contract_signed: bool,
    /// Terminal models assessed (at least one terminal model recorded).
    pub terminal_models_assessed: bool,
    /// Capabilities the assessed terminals have.
    pub capabilities: BTreeSet<Capability>,
    /// Capabilities missing but covered by an upgrade plan.
    pub upgrade_planned: BTreeSet<Capability>,
    /// Number of terminals registered with keys and active.
    pub terminals_ready: usize,
    /// A settlement binding is approved.
    pub binding_approved: bool,
    /// Certification cases passed by the merchant's terminals.
    pub certification_passed: BTreeSet<CertificationCase>,
    /// The marketing step was completed (a campaign set up or declined).
    pub marketing_done: bool,
}

/// What a gate found missing.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Missing {
    /// No contract.
    Contract,
    /// No terminal model assessed.
    TerminalModels,
    /// A capability neither present nor planned.
    Capability(Capability),
    /// No registered, active terminal with keys.
    Terminal,
    /// No approved settlement binding.
    Binding,
    /// A certification case not yet passed.
    CertificationCase(CertificationCase),
    /// Marketing step not completed.
    Marketing,
}

impl Missing {
    /// Stable name of the missing artefact, as the API reports it.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Missing::Contract => "contract".into(),
            Missing::TerminalModels => "terminal_models".into(),
            Missing::Capability(c) => format!("capability:{}", c.as_str()),
            Missing::Terminal => "terminal".into(),
            Missing::Binding => "settlement_binding".into(),
            Missing::CertificationCase(c) => format!("certification:{}", c.as_str()),
            Missing::Marketing => "marketing".into(),
        }
    }
}

/// Why a transition was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TransitionError {
    /// The gate of the current stage is not met.
    #[error("gate of stage {} not met", .stage.as_str())]
    GateNotMet {
        /// Current stage.
        stage: Stage,
        /// Everything missing.
        missing: Vec<Missing>,
    },
    /// Already live: there is no next stage.
    #[error("merchant is already live")]
    AlreadyLive,
    /// Rejection must go back to an earlier stage.
    #[error("can only send back to a stage before {}", .0.as_str())]
    NotEarlier(Stage),
    /// Rejection needs a reason.
    #[error("a rejection needs a reason")]
    NoReason,
}

/// Everything that must hold to leave `stage`.
#[must_use]
pub fn missing_for(stage: Stage, facts: &OnboardingFacts) -> Vec<Missing> {
    let mut missing = Vec::new();
    match stage {
        Stage::Negotiation => push_if(&mut missing, !facts.contract_signed, Missing::Contract),
        Stage::TechnicalAssessment => {
            push_if(
                &mut missing,
                !facts.terminal_models_assessed,
                Missing::TerminalModels,
            );
            for capability in Capability::REQUIRED {
                let covered = facts.capabilities.contains(&capability)
                    || facts.upgrade_planned.contains(&capability);
                push_if(&mut missing, !covered, Missing::Capability(capability));
            }
        }
        Stage::SystemIntegration => {
            push_if(&mut missing, facts.terminals_ready == 0, Missing::Terminal);
            push_if(&mut missing, !facts.binding_approved, Missing::Binding);
        }
        Stage::Certification => {
            for case in CertificationCase::PLAN {
                let passed = facts.certification_passed.contains(&case);
                push_if(&mut missing, !passed, Missing::CertificationCase(case));
            }
        }
        Stage::Marketing => push_if(&mut missing, !facts.marketing_done, Missing::Marketing),
        Stage::Live => {}
    }
    missing
}

fn push_if(missing: &mut Vec<Missing>, condition: bool, item: Missing) {
    if condition {
        missing.push(item);
    }
}

/// Moves to the next stage when the current stage's gate is met.
///
/// # Errors
/// [`TransitionError::GateNotMet`] with everything missing, or
/// [`TransitionError::AlreadyLive`].
pub fn advance(stage: Stage, facts: &OnboardingFacts) -> Result<Stage, TransitionError> {
    let next = stage.next().ok_or(TransitionError::AlreadyLive)?;
    let missing = missing_for(stage, facts);
    if !missing.is_empty() {
        return Err(TransitionError::GateNotMet { stage, missing });
    }
    Ok(next)
}

/// Sends the merchant back to an earlier stage.
///
/// # Errors
/// [`TransitionError::NotEarlier`] unless `to` is before `stage`;
/// [`TransitionError::NoReason`] for an empty reason.
pub fn reject(stage: Stage, to: Stage, reason: &str) -> Result<Stage, TransitionError> {
    if reason.trim().is_empty() {
        return Err(TransitionError::NoReason);
    }
    if to >= stage {
        return Err(TransitionError::NotEarlier(stage));
    }
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete_facts() -> OnboardingFacts {
        OnboardingFacts {
            contract_signed: true,
            terminal_models_assessed: true,
            capabilities: Capability::REQUIRED.into_iter().collect(),
            upgrade_planned: BTreeSet::new(),
            terminals_ready: 1,
            binding_approved: true,
            certification_passed: CertificationCase::PLAN.into_iter().collect(),
            marketing_done: true,
        }
    }

    #[test]
    fn walks_to_live_with_every_gate_met() {
        let facts = complete_facts();
        let mut stage = Stage::Negotiation;
        let mut visited = vec![stage];
        while stage != Stage::Live {
            stage = advance(stage, &facts).unwrap();
            visited.push(stage);
        }
        assert_eq!(visited, Stage::ALL);
        assert_eq!(
            advance(Stage::Live, &facts),
            Err(TransitionError::AlreadyLive)
        );
    }

    #[test]
    fn every_gate_refuses_with_all_it_misses() {
        let empty = OnboardingFacts::default();
        let check = |stage: Stage, expected: Vec<&str>| {
            let Err(TransitionError::GateNotMet { missing, .. }) = advance(stage, &empty) else {
                panic!("{stage:?} should refuse");
            };
            let names: Vec<String> = missing.iter().map(Missing::describe).collect();
            assert_eq!(names, expected);
        };
        check(Stage::Negotiation, vec!["contract"]);
        check(
            Stage::TechnicalAssessment,
            vec![
                "terminal_models",
                "capability:chip",
                "capability:contactless",
                "capability:swipe",
                "capability:pin",
            ],
        );
        check(
            Stage::SystemIntegration,
            vec!["terminal", "settlement_binding"],
        );
        check(
            Stage::Certification,
            vec![
                "certification:chip_sale_with_pin",
                "certification:contactless_sale",
                "certification:swipe_sale",
                "certification:void",
                "certification:refund",
                "certification:reversal",
                "certification:batch_settlement",
            ],
        );
        check(Stage::Marketing, vec!["marketing"]);
    }

    #[test]
    fn upgrade_plan_covers_a_missing_capability() {
        let mut facts = complete_facts();
        facts.capabilities.remove(&Capability::Contactless);
        assert!(advance(Stage::TechnicalAssessment, &facts).is_err());
        facts.upgrade_planned.insert(Capability::Contactless);
        assert_eq!(
            advance(Stage::TechnicalAssessment, &facts),
            Ok(Stage::SystemIntegration)
        );
    }

    #[test]
    fn one_case_short_of_certification() {
        let mut facts = complete_facts();
        facts
            .certification_passed
            .remove(&CertificationCase::Reversal);
        assert_eq!(
            advance(Stage::Certification, &facts),
            Err(TransitionError::GateNotMet {
                stage: Stage::Certification,
                missing: vec![Missing::CertificationCase(CertificationCase::Reversal)],
            })
        );
    }

    #[test]
    fn rejection_goes_back_with_a_reason() {
        assert_eq!(
            reject(
                Stage::Certification,
                Stage::SystemIntegration,
                "MAC keys wrong"
            ),
            Ok(Stage::SystemIntegration)
        );
        assert_eq!(
            reject(Stage::Certification, Stage::Certification, "x"),
            Err(TransitionError::NotEarlier(Stage::Certification))
        );
        assert_eq!(
            reject(Stage::Certification, Stage::Live, "x"),
            Err(TransitionError::NotEarlier(Stage::Certification))
        );
        assert_eq!(
            reject(Stage::Certification, Stage::Negotiation, "  "),
            Err(TransitionError::NoReason)
        );
        for stage in Stage::ALL {
            assert_eq!(Stage::parse(stage.as_str()), Some(stage));
        }
    }
}
