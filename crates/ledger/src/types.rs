//! Identifiers, flags, accounts and transfers.

/// A ledger: the accounts of one currency (by convention the ISO 4217 numeric
/// code, e.g. 978 for EUR). Zero is not a valid ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LedgerId(pub u32);

/// An account id, chosen by the caller. Zero and `u128::MAX` are reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(pub u128);

/// A transfer id, chosen by the caller; also the idempotency key. Zero and
/// `u128::MAX` are reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransferId(pub u128);

/// The largest value a balance (or a transfer amount that succeeds) may take,
/// so that every storage engine can keep it in a signed 64-bit column.
pub const BALANCE_MAX: u64 = i64::MAX as u64;

/// Nanoseconds in a second, for converting transfer timeouts.
pub const NS_PER_S: u64 = 1_000_000_000;

/// Account flags (a bit set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AccountFlags(pub u16);

impl AccountFlags {
    /// Debits (pending + posted) must never exceed posted credits.
    pub const DEBITS_MUST_NOT_EXCEED_CREDITS: Self = Self(1);
    /// Credits (pending + posted) must never exceed posted debits.
    pub const CREDITS_MUST_NOT_EXCEED_DEBITS: Self = Self(2);
    /// Keep a balance snapshot after every transfer touching the account.
    pub const HISTORY: Self = Self(4);
    /// Every defined bit.
    pub const ALL: Self = Self(7);

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for AccountFlags {
    type Output = Self;
    fn bitor(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

/// Transfer flags (a bit set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TransferFlags(pub u16);

impl TransferFlags {
    /// This event succeeds or fails together with the next one in the batch.
    pub const LINKED: Self = Self(1);
    /// A pending (two-phase) transfer: reserves the amount.
    pub const PENDING: Self = Self(2);
    /// Posts the pending transfer named by `pending_id`.
    pub const POST_PENDING: Self = Self(4);
    /// Voids the pending transfer named by `pending_id`.
    pub const VOID_PENDING: Self = Self(8);
    /// Every defined bit.
    pub const ALL: Self = Self(15);

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether this transfer posts or voids a pending transfer.
    pub fn resolves_pending(self) -> bool {
        self.contains(Self::POST_PENDING) || self.contains(Self::VOID_PENDING)
    }
}

impl std::ops::BitOr for TransferFlags {
    type Output = Self;
    fn bitor(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

/// A request to create an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NewAccount {
    /// The account id.
    pub id: AccountId,
    /// The ledger (currency) of the account.
    pub ledger: LedgerId,
    /// A caller-defined account type (chart of accounts); not zero.
    pub code: u16,
    /// Flags.
    pub flags: AccountFlags,
    /// Caller data linking the account to a business object.
    pub user_data: u128,
}

impl NewAccount {
    /// An account request with no flags and no user data.
    pub fn new(id: AccountId, ledger: LedgerId, code: u16) -> Self {
        Self {
            id,
            ledger,
            code,
            flags: AccountFlags::default(),
            user_data: 0,
        }
    }
}

/// An account as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Account {
    /// The account id.
    pub id: AccountId,
    /// The ledger (currency).
    pub ledger: LedgerId,
    /// Caller-defined account type.
    pub code: u16,
    /// Flags.
    pub flags: AccountFlags,
    /// Caller data.
    pub user_data: u128,
    /// Debits reserved by open pending transfers, minor units.
    pub debits_pending: u64,
    /// Posted debits, minor units.
    pub debits_posted: u64,
    /// Credits reserved by open pending transfers, minor units.
    pub credits_pending: u64,
    /// Posted credits, minor units.
    pub credits_posted: u64,
    /// When the account was created, nanoseconds (assigned by the core).
    pub timestamp: u64,
}

impl Account {
    /// Debits (pending + posted) minus credits (pending + posted); summed over
    /// all accounts this is always zero.
    pub fn net_debits(&self) -> i128 {
        i128::from(self.debits_pending) + i128::from(self.debits_posted)
            - i128::from(self.credits_pending)
            - i128::from(self.credits_posted)
    }
}

/// A request to create a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NewTransfer {
    /// The transfer id, also the idempotency key.
    pub id: TransferId,
    /// The account debited.
    pub debit_account_id: AccountId,
    /// The account credited.
    pub credit_account_id: AccountId,
    /// Amount in minor units. For a post: 0 posts the full pending amount.
    /// For a void: 0 or the pending amount.
    pub amount: u64,
    /// The pending transfer to post or void (zero otherwise).
    pub pending_id: TransferId,
    /// Caller data linking the transfer to a business object.
    pub user_data: u128,
    /// Caller-defined reason code; not zero.
    pub code: u16,
    /// The ledger (currency); must match both accounts.
    pub ledger: LedgerId,
    /// Flags.
    pub flags: TransferFlags,
    /// Seconds after which a pending transfer expires (0: never). Only for
    /// pending transfers.
    pub timeout_s: u32,
}

impl NewTransfer {
    /// A plain single-phase transfer.
    pub fn new(
        id: TransferId,
        debit_account_id: AccountId,
        credit_account_id: AccountId,
        amount: u64,
        ledger: LedgerId,
        code: u16,
    ) -> Self {
        Self {
            id,
            debit_account_id,
            credit_account_id,
            amount,
            pending_id: TransferId(0),
            user_data: 0,
            code,
            ledger,
            flags: TransferFlags::default(),
            timeout_s: 0,
        }
    }

    /// The same request with `flags` added.
    pub fn with_flags(mut self, flags: TransferFlags) -> Self {
        self.flags = self.flags | flags;
        self
    }

    /// The same request resolving `pending_id`.
    pub fn with_pending_id(mut self, pending_id: TransferId) -> Self {
        self.pending_id = pending_id;
        self
    }
}

/// A transfer as stored: the request as applied plus its timestamp. For a post
/// the amount is the amount actually posted; for a void the pending amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transfer {
    /// The request body as applied.
    pub body: NewTransfer,
    /// When the transfer was created, nanoseconds (assigned by the core).
    pub timestamp: u64,
}

/// The state of a pending transfer: exactly one at any time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PendingStatus {
    /// Open: its amount is reserved.
    Pending,
    /// Posted by a later transfer.
    Posted,
    /// Voided by a later transfer.
    Voided,
    /// Expired after its timeout.
    Expired,
}

impl PendingStatus {
    /// A stable small integer for storage.
    pub fn code(self) -> u8 {
        match self {
            Self::Pending => 1,
            Self::Posted => 2,
            Self::Voided => 3,
            Self::Expired => 4,
        }
    }

    /// The inverse of [`PendingStatus::code`].
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Pending),
            2 => Some(Self::Posted),
            3 => Some(Self::Voided),
            4 => Some(Self::Expired),
            _ => None,
        }
    }
}

/// Bookkeeping of one pending transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pending {
    /// The pending transfer's id.
    pub id: TransferId,
    /// Its state.
    pub status: PendingStatus,
    /// When it expires, nanoseconds (0: never).
    pub expires_at: u64,
}

/// An account's balances right after a transfer, kept for accounts with
/// [`AccountFlags::HISTORY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BalanceSnapshot {
    /// The account.
    pub account_id: AccountId,
    /// The transfer that produced these balances.
    pub transfer_id: TransferId,
    /// The transfer's timestamp.
    pub timestamp: u64,
    /// Debits pending after the transfer.
    pub debits_pending: u64,
    /// Debits posted after the transfer.
    pub debits_posted: u64,
    /// Credits pending after the transfer.
    pub credits_pending: u64,
    /// Credits posted after the transfer.
    pub credits_posted: u64,
}
