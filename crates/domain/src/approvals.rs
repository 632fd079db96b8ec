//! Maker-checker approvals for joint accounts: m of n owners must approve a
//! binding change or a large payout.
//!
//! Each owner counts once; the maker of a request never counts toward it; a
//! single owner's rejection rejects the request (a joint account moves only
//! with its owners' consent); a request not decided by its deadline expires.

use std::collections::BTreeSet;

/// Most owners a joint account may have.
pub const OWNERS_MAX: usize = 16;

/// How long an approval request stays open: 72 hours, so a request made on
/// a Friday can still be decided on Monday; after that it expires and must
/// be made again.
pub const REQUEST_TTL_S: i64 = 72 * 3600;

/// An approval policy: `required` distinct owners among `owners`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Owner party ids.
    pub owners: BTreeSet<String>,
    /// Approvals needed.
    pub required: usize,
}

/// State of an approval request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApprovalState {
    /// Waiting for approvals.
    Pending,
    /// Enough owners approved.
    Approved,
    /// An owner rejected it.
    Rejected,
    /// Not decided in time.
    Expired,
}

impl ApprovalState {
    /// Stable name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalState::Pending => "pending_approval",
            ApprovalState::Approved => "approved",
            ApprovalState::Rejected => "rejected",
            ApprovalState::Expired => "expired",
        }
    }
}

/// Why a policy or a vote is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ApprovalError {
    /// The policy needs more approvals than there are owners, or none.
    #[error("policy needs {required} of {owners} owners")]
    BadPolicy {
        /// Approvals needed.
        required: usize,
        /// Owners.
        owners: usize,
    },
    /// Not enough owners other than the maker could ever approve.
    #[error("request can never be approved: the maker cannot approve their own request")]
    Unsatisfiable,
    /// The voter is not an owner of the account.
    #[error("not an owner of this account")]
    NotAnOwner,
    /// The maker tried to approve their own request.
    #[error("the maker of a request cannot approve it")]
    MakerCannotApprove,
    /// The owner already voted.
    #[error("this owner already decided on this request")]
    AlreadyDecided,
    /// The request is no longer pending.
    #[error("request is {}", .0.as_str())]
    NotPending(ApprovalState),
}

impl Policy {
    /// Builds a policy.
    ///
    /// # Errors
    /// [`ApprovalError::BadPolicy`] unless `1 ≤ required ≤ owners ≤ OWNERS_MAX`.
    pub fn new(owners: BTreeSet<String>, required: usize) -> Result<Policy, ApprovalError> {
        if required == 0 || required > owners.len() || owners.len() > OWNERS_MAX {
            return Err(ApprovalError::BadPolicy {
                required,
                owners: owners.len(),
            });
        }
        Ok(Policy { owners, required })
    }
}

/// An approval request in progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovalRequest {
    /// Party that made the request.
    pub maker: String,
    /// Owners that approved.
    pub approvals: BTreeSet<String>,
    /// Owner that rejected, if any.
    pub rejected_by: Option<String>,
    /// Deadline, in seconds since the epoch.
    pub expires_at_s: i64,
}

impl ApprovalRequest {
    /// Opens a request.
    ///
    /// # Errors
    /// [`ApprovalError::Unsatisfiable`] when the owners other than the maker
    /// are fewer than the policy requires.
    pub fn open(
        policy: &Policy,
        maker: &str,
        expires_at_s: i64,
    ) -> Result<ApprovalRequest, ApprovalError> {
        let eligible = policy.owners.iter().filter(|o| *o != maker).count();
        if eligible < policy.required {
            return Err(ApprovalError::Unsatisfiable);
        }
        Ok(ApprovalRequest {
            maker: maker.to_owned(),
            approvals: BTreeSet::new(),
            rejected_by: None,
            expires_at_s,
        })
    }

    /// Current state at time `now_s`.
    #[must_use]
    pub fn state(&self, policy: &Policy, now_s: i64) -> ApprovalState {
        if self.rejected_by.is_some() {
            ApprovalState::Rejected
        } else if self.approvals.len() >= policy.required {
            ApprovalState::Approved
        } else if now_s >= self.expires_at_s {
            ApprovalState::Expired
        } else {
            ApprovalState::Pending
        }
    }

    /// Records an owner's approval or rejection and returns the new state.
    ///
    /// # Errors
    /// Not an owner, the maker, already voted, or the request not pending.
    pub fn decide(
        &mut self,
        policy: &Policy,
        owner: &str,
        approve: bool,
        now_s: i64,
    ) -> Result<ApprovalState, ApprovalError> {
        let state = self.state(policy, now_s);
        if state != ApprovalState::Pending {
            return Err(ApprovalError::NotPending(state));
        }
        if !policy.owners.contains(owner) {
            return Err(ApprovalError::NotAnOwner);
        }
        if owner == self.maker {
            return Err(ApprovalError::MakerCannotApprove);
        }
        if self.approvals.contains(owner) {
            return Err(ApprovalError::AlreadyDecided);
        }
        if approve {
            self.approvals.insert(owner.to_owned());
        } else {
            self.rejected_by = Some(owner.to_owned());
        }
        Ok(self.state(policy, now_s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(required: usize) -> Policy {
        let owners = ["liwei", "zhangmin"]
            .into_iter()
            .map(String::from)
            .collect();
        Policy::new(owners, required).unwrap()
    }

    #[test]
    fn two_of_two_needs_both_owners() {
        let policy = policy(2);
        let mut request = ApprovalRequest::open(&policy, "merchant-1", 1_000).unwrap();
        assert_eq!(
            request.decide(&policy, "liwei", true, 10),
            Ok(ApprovalState::Pending)
        );
        assert_eq!(
            request.decide(&policy, "liwei", true, 11),
            Err(ApprovalError::AlreadyDecided),
            "each owner counts once"
        );
        assert_eq!(
            request.decide(&policy, "zhangmin", true, 12),
            Ok(ApprovalState::Approved)
        );
        assert_eq!(
            request.decide(&policy, "zhangmin", true, 13),
            Err(ApprovalError::NotPending(ApprovalState::Approved))
        );
    }

    #[test]
    fn maker_never_counts() {
        let policy = policy(1);
        let mut request = ApprovalRequest::open(&policy, "liwei", 1_000).unwrap();
        assert_eq!(
            request.decide(&policy, "liwei", true, 1),
            Err(ApprovalError::MakerCannotApprove)
        );
        assert_eq!(
            request.decide(&policy, "zhangmin", true, 2),
            Ok(ApprovalState::Approved)
        );
        assert_eq!(
            ApprovalRequest::open(&self::policy(2), "liwei", 1_000),
            Err(ApprovalError::Unsatisfiable)
        );
    }

    #[test]
    fn strangers_rejections_and_expiry() {
        let policy = policy(2);
        let mut request = ApprovalRequest::open(&policy, "operator", 100).unwrap();
        assert_eq!(
            request.decide(&policy, "wangfang", true, 1),
            Err(ApprovalError::NotAnOwner)
        );
        assert_eq!(
            request.decide(&policy, "zhangmin", false, 2),
            Ok(ApprovalState::Rejected)
        );
        let mut late = ApprovalRequest::open(&policy, "operator", 100).unwrap();
        assert_eq!(
            late.decide(&policy, "liwei", true, 100),
            Err(ApprovalError::NotPending(ApprovalState::Expired))
        );
    }

    #[test]
    fn bad_policies() {
        let owners: BTreeSet<String> = ["a".to_owned()].into_iter().collect();
        assert!(Policy::new(owners.clone(), 0).is_err());
        assert!(Policy::new(owners.clone(), 2).is_err());
        assert!(Policy::new(owners, 1).is_ok());
    }
}
