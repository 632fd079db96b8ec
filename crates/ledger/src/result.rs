//! Result codes, one per event of a batch, like TigerBeetle's.

/// The result of creating one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CreateAccountResult {
    /// Created.
    Ok,
    /// Already exists with the same body: nothing changed (success).
    Exists,
    /// The id is zero.
    IdMustNotBeZero,
    /// The id is `u128::MAX`.
    IdMustNotBeIntMax,
    /// The ledger is zero.
    LedgerMustNotBeZero,
    /// The code is zero.
    CodeMustNotBeZero,
    /// Unknown flag bits are set.
    ReservedFlag,
    /// Both limit flags are set.
    FlagsAreMutuallyExclusive,
    /// Exists with different flags.
    ExistsWithDifferentFlags,
    /// Exists with different user data.
    ExistsWithDifferentUserData,
    /// Exists on a different ledger.
    ExistsWithDifferentLedger,
    /// Exists with a different code.
    ExistsWithDifferentCode,
}

impl CreateAccountResult {
    /// `Ok` or `Exists`.
    pub fn is_success(self) -> bool {
        matches!(self, Self::Ok | Self::Exists)
    }

    /// A stable snake_case name, as TigerBeetle spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Exists => "exists",
            Self::IdMustNotBeZero => "id_must_not_be_zero",
            Self::IdMustNotBeIntMax => "id_must_not_be_int_max",
            Self::LedgerMustNotBeZero => "ledger_must_not_be_zero",
            Self::CodeMustNotBeZero => "code_must_not_be_zero",
            Self::ReservedFlag => "reserved_flag",
            Self::FlagsAreMutuallyExclusive => "flags_are_mutually_exclusive",
            Self::ExistsWithDifferentFlags => "exists_with_different_flags",
            Self::ExistsWithDifferentUserData => "exists_with_different_user_data",
            Self::ExistsWithDifferentLedger => "exists_with_different_ledger",
            Self::ExistsWithDifferentCode => "exists_with_different_code",
        }
    }
}

macro_rules! transfer_results {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// The result of creating one transfer. Only `Ok` and `Exists` change
        /// (or have changed) anything.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum CreateTransferResult {
            $($(#[$doc])* $variant,)*
        }

        impl CreateTransferResult {
            /// A stable snake_case name, as TigerBeetle spells it.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }
        }
    };
}

transfer_results! {
    /// Created.
    Ok => "ok",
    /// Another event of the linked chain failed; this one was rolled back.
    LinkedEventFailed => "linked_event_failed",
    /// The batch ended inside a linked chain.
    LinkedEventChainOpen => "linked_event_chain_open",
    /// The id is zero.
    IdMustNotBeZero => "id_must_not_be_zero",
    /// The id is `u128::MAX`.
    IdMustNotBeIntMax => "id_must_not_be_int_max",
    /// Unknown flag bits are set.
    ReservedFlag => "reserved_flag",
    /// More than one of pending, post and void is set.
    FlagsAreMutuallyExclusive => "flags_are_mutually_exclusive",
    /// The debit account id is zero or `u128::MAX`.
    DebitAccountIdMustNotBeZero => "debit_account_id_must_not_be_zero",
    /// The credit account id is zero or `u128::MAX`.
    CreditAccountIdMustNotBeZero => "credit_account_id_must_not_be_zero",
    /// Debit and credit accounts are the same.
    AccountsMustBeDifferent => "accounts_must_be_different",
    /// A pending id on a transfer that neither posts nor voids.
    PendingIdMustBeZero => "pending_id_must_be_zero",
    /// A post or void without a pending id.
    PendingIdMustNotBeZero => "pending_id_must_not_be_zero",
    /// The pending id is the transfer's own id.
    PendingIdMustBeDifferent => "pending_id_must_be_different",
    /// A timeout on a transfer that is not pending.
    TimeoutReservedForPendingTransfer => "timeout_reserved_for_pending_transfer",
    /// The amount is zero (on a transfer that is not a post or void).
    AmountMustNotBeZero => "amount_must_not_be_zero",
    /// The ledger is zero.
    LedgerMustNotBeZero => "ledger_must_not_be_zero",
    /// The code is zero.
    CodeMustNotBeZero => "code_must_not_be_zero",
    /// The debit account does not exist.
    DebitAccountNotFound => "debit_account_not_found",
    /// The credit account does not exist.
    CreditAccountNotFound => "credit_account_not_found",
    /// The two accounts are on different ledgers (currencies).
    AccountsMustHaveTheSameLedger => "accounts_must_have_the_same_ledger",
    /// The transfer's ledger differs from its accounts' ledger.
    TransferMustHaveTheSameLedgerAsAccounts => "transfer_must_have_the_same_ledger_as_accounts",
    /// The pending transfer to post or void does not exist.
    PendingTransferNotFound => "pending_transfer_not_found",
    /// The transfer named by pending id is not a pending transfer.
    PendingTransferNotPending => "pending_transfer_not_pending",
    /// The post or void names a different debit account.
    PendingTransferHasDifferentDebitAccountId => "pending_transfer_has_different_debit_account_id",
    /// The post or void names a different credit account.
    PendingTransferHasDifferentCreditAccountId => "pending_transfer_has_different_credit_account_id",
    /// The post or void names a different ledger.
    PendingTransferHasDifferentLedger => "pending_transfer_has_different_ledger",
    /// The post or void names a different code.
    PendingTransferHasDifferentCode => "pending_transfer_has_different_code",
    /// The post exceeds the pending amount.
    ExceedsPendingTransferAmount => "exceeds_pending_transfer_amount",
    /// A void whose amount is neither 0 nor the pending amount.
    PendingTransferHasDifferentAmount => "pending_transfer_has_different_amount",
    /// The pending transfer was already posted.
    PendingTransferAlreadyPosted => "pending_transfer_already_posted",
    /// The pending transfer was already voided.
    PendingTransferAlreadyVoided => "pending_transfer_already_voided",
    /// The pending transfer has expired.
    PendingTransferExpired => "pending_transfer_expired",
    /// Exists with the same body: nothing changed (success).
    Exists => "exists",
    /// Exists with different flags.
    ExistsWithDifferentFlags => "exists_with_different_flags",
    /// Exists with a different pending id.
    ExistsWithDifferentPendingId => "exists_with_different_pending_id",
    /// Exists with a different timeout.
    ExistsWithDifferentTimeout => "exists_with_different_timeout",
    /// Exists with a different debit account.
    ExistsWithDifferentDebitAccountId => "exists_with_different_debit_account_id",
    /// Exists with a different credit account.
    ExistsWithDifferentCreditAccountId => "exists_with_different_credit_account_id",
    /// Exists with a different amount.
    ExistsWithDifferentAmount => "exists_with_different_amount",
    /// Exists with different user data.
    ExistsWithDifferentUserData => "exists_with_different_user_data",
    /// Exists on a different ledger.
    ExistsWithDifferentLedger => "exists_with_different_ledger",
    /// Exists with a different code.
    ExistsWithDifferentCode => "exists_with_different_code",
    /// Pending debits would exceed [`crate::BALANCE_MAX`].
    OverflowsDebitsPending => "overflows_debits_pending",
    /// Pending credits would exceed [`crate::BALANCE_MAX`].
    OverflowsCreditsPending => "overflows_credits_pending",
    /// Posted debits would exceed [`crate::BALANCE_MAX`].
    OverflowsDebitsPosted => "overflows_debits_posted",
    /// Posted credits would exceed [`crate::BALANCE_MAX`].
    OverflowsCreditsPosted => "overflows_credits_posted",
    /// Pending + posted debits would exceed [`crate::BALANCE_MAX`].
    OverflowsDebits => "overflows_debits",
    /// Pending + posted credits would exceed [`crate::BALANCE_MAX`].
    OverflowsCredits => "overflows_credits",
    /// The expiry time would overflow.
    OverflowsTimeout => "overflows_timeout",
    /// The debit account's debits would exceed its credits.
    ExceedsCredits => "exceeds_credits",
    /// The credit account's credits would exceed its debits.
    ExceedsDebits => "exceeds_debits",
}

impl CreateTransferResult {
    /// `Ok` or `Exists`: the transfer is in the ledger.
    pub fn is_success(self) -> bool {
        matches!(self, Self::Ok | Self::Exists)
    }
}
