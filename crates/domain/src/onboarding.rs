//! The merchant onboarding workflow: negotiation → technical assessment →
//! system integration → testing & certification → marketing → live.
//!
//! Each stage has a gate: the facts that must hold before the merchant moves
//! on. A refused gate lists everything missing, not only the first thing.
//! Rejection sends the merchant back to an earlier stage with a reason.
//!
//! The certification plan is passed by real terminal traffic: the shell
//! reads each transaction of the merchant's terminals as a
//! [`TrafficObservation`], and [`certification_progress`] decides which case
//! it passes. The technical assessment's capabilities are those EVERY
//! assessed model has ([`assessed_capabilities`]).

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
    /// Models of the technical assessment with no such terminal registered
    /// and active.
    pub models_without_terminal: BTreeSet<String>,
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
    /// No registered, active terminal of an assessed model.
    TerminalOfModel(String),
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
            Missing::TerminalOfModel(model) => format!("terminal:{model}"),
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
            // Named by model when the assessment named them.
            let no_terminal = facts.terminals_ready == 0;
            push_if(
                &mut missing,
                no_terminal && facts.models_without_terminal.is_empty(),
                Missing::Terminal,
            );
            for model in &facts.models_without_terminal {
                missing.push(Missing::TerminalOfModel(model.clone()));
            }
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

/// Most steps kept in a merchant's onboarding history; a further step is
/// refused (an operator escalates instead of looping forever).
pub const HISTORY_STEPS_MAX: usize = 256;

/// What one host transaction (or batch) of a merchant in certification
/// shows, as read from the host's records by the shell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrafficKind {
    /// A sale (0200).
    Sale,
    /// A void.
    Void,
    /// A refund.
    Refund,
    /// A financial request that a reversal (0400/0420) undid.
    Reversed,
    /// A closed terminal batch (0500).
    BatchSettlement,
}

/// One observation of certification traffic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrafficObservation {
    /// What it was.
    pub kind: TrafficKind,
    /// Approved (`00`), or for a batch: balanced with the host's totals.
    pub approved: bool,
    /// The card's chip answered: the host verified an ARQC and returned an
    /// ARPC (a chip or contactless read of a chip card).
    pub chip_data: bool,
    /// The request carried a DUKPT KSN without the terminal requiring a
    /// MAC, i.e. an online PIN block.
    pub pin: bool,
    /// Where it is to be found (an RRN, or `tid/batch`), shown as evidence.
    pub reference: String,
}

impl TrafficObservation {
    /// The certification case this observation passes, if any.
    ///
    /// A chip read with online PIN is the chip case; a chip read without
    /// PIN is the contactless case (contactless sales under the CVM limit
    /// carry no PIN); an approved sale without chip data is the swipe case.
    #[must_use]
    pub fn case(&self) -> Option<CertificationCase> {
        if !self.approved {
            return None;
        }
        Some(match (self.kind, self.chip_data, self.pin) {
            (TrafficKind::Sale, true, true) => CertificationCase::ChipSaleWithPin,
            (TrafficKind::Sale, true, false) => CertificationCase::ContactlessSale,
            (TrafficKind::Sale, false, _) => CertificationCase::SwipeSale,
            (TrafficKind::Void, ..) => CertificationCase::Void,
            (TrafficKind::Refund, ..) => CertificationCase::Refund,
            (TrafficKind::Reversed, ..) => CertificationCase::Reversal,
            (TrafficKind::BatchSettlement, ..) => CertificationCase::BatchSettlement,
        })
    }
}

/// One case of the plan and the first observation that passed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseProgress {
    /// The case.
    pub case: CertificationCase,
    /// The reference of the passing observation; `None` while not passed.
    pub evidence: Option<String>,
}

/// The certification plan and its progress over `observations` (in the
/// order given: the first passing observation of a case is its evidence).
#[must_use]
pub fn certification_progress(observations: &[TrafficObservation]) -> Vec<CaseProgress> {
    CertificationCase::PLAN
        .into_iter()
        .map(|case| CaseProgress {
            case,
            evidence: observations
                .iter()
                .find(|o| o.case() == Some(case))
                .map(|o| o.reference.clone()),
        })
        .collect()
}

/// The cases passed, for [`OnboardingFacts::certification_passed`].
#[must_use]
pub fn passed_cases(progress: &[CaseProgress]) -> BTreeSet<CertificationCase> {
    progress
        .iter()
        .filter(|p| p.evidence.is_some())
        .map(|p| p.case)
        .collect()
}

/// A terminal model of a technical assessment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssessedModel {
    /// The model name.
    pub model: String,
    /// How many terminals of it the merchant will run.
    pub count: usize,
    /// What it can do.
    pub capabilities: BTreeSet<Capability>,
}

/// The facts a technical assessment establishes: a capability counts as
/// present only when EVERY assessed model has it (the plan must pass on
/// each terminal the merchant runs).
#[must_use]
pub fn assessed_capabilities(models: &[AssessedModel]) -> BTreeSet<Capability> {
    Capability::REQUIRED
        .into_iter()
        .filter(|c| !models.is_empty() && models.iter().all(|m| m.capabilities.contains(c)))
        .collect()
}

impl Capability {
    /// Parses the stable name.
    #[must_use]
    pub fn parse(text: &str) -> Option<Capability> {
        Capability::REQUIRED
            .into_iter()
            .find(|c| c.as_str() == text)
    }
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
            models_without_terminal: BTreeSet::new(),
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
    fn every_assessed_model_needs_a_registered_terminal() {
        let mut facts = complete_facts();
        facts.models_without_terminal = ["PAX S90".to_owned()].into_iter().collect();
        facts.binding_approved = false;
        let Err(TransitionError::GateNotMet { missing, .. }) =
            advance(Stage::SystemIntegration, &facts)
        else {
            panic!("the gate should refuse");
        };
        let names: Vec<String> = missing.iter().map(Missing::describe).collect();
        assert_eq!(names, ["terminal:PAX S90", "settlement_binding"]);
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

    fn observation(kind: TrafficKind, chip_data: bool, pin: bool) -> TrafficObservation {
        TrafficObservation {
            kind,
            approved: true,
            chip_data,
            pin,
            reference: format!("{kind:?}/{chip_data}/{pin}"),
        }
    }

    #[test]
    fn traffic_passes_the_case_it_shows() {
        use CertificationCase as C;
        use TrafficKind as K;
        let cases = [
            (K::Sale, true, true, Some(C::ChipSaleWithPin)),
            (K::Sale, true, false, Some(C::ContactlessSale)),
            (K::Sale, false, true, Some(C::SwipeSale)),
            (K::Sale, false, false, Some(C::SwipeSale)),
            (K::Void, false, false, Some(C::Void)),
            (K::Refund, false, false, Some(C::Refund)),
            (K::Reversed, false, false, Some(C::Reversal)),
            (K::BatchSettlement, false, false, Some(C::BatchSettlement)),
        ];
        for (kind, chip, pin, expected) in cases {
            let mut seen = observation(kind, chip, pin);
            assert_eq!(seen.case(), expected, "{seen:?}");
            seen.approved = false;
            assert_eq!(seen.case(), None, "a decline passes nothing");
        }
    }

    #[test]
    fn progress_names_the_first_evidence_of_each_case() {
        let observations = vec![
            observation(TrafficKind::Sale, false, true),
            observation(TrafficKind::Sale, false, false),
            observation(TrafficKind::Void, false, false),
        ];
        let progress = certification_progress(&observations);
        assert_eq!(progress.len(), CertificationCase::PLAN.len());
        let passed = passed_cases(&progress);
        assert_eq!(
            passed,
            [CertificationCase::SwipeSale, CertificationCase::Void]
                .into_iter()
                .collect()
        );
        let swipe = progress
            .iter()
            .find(|p| p.case == CertificationCase::SwipeSale)
            .unwrap();
        assert_eq!(swipe.evidence.as_deref(), Some("Sale/false/true"));
    }

    #[test]
    fn a_capability_counts_only_when_every_model_has_it() {
        let model = |caps: &[Capability]| AssessedModel {
            model: "M".into(),
            count: 1,
            capabilities: caps.iter().copied().collect(),
        };
        let all = model(&Capability::REQUIRED);
        let no_tap = model(&[Capability::Chip, Capability::Swipe, Capability::PinEntry]);
        assert_eq!(
            assessed_capabilities(std::slice::from_ref(&all)),
            Capability::REQUIRED.into_iter().collect()
        );
        assert!(!assessed_capabilities(&[all, no_tap]).contains(&Capability::Contactless));
        assert!(assessed_capabilities(&[]).is_empty());
        for capability in Capability::REQUIRED {
            assert_eq!(Capability::parse(capability.as_str()), Some(capability));
        }
    }
}
