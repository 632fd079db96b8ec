//! The sandbox data of sandbox.md, as one typed definition that seeding, the
//! demo and the tests share. Every key and card here is a public test value;
//! a production database never accepts them.

use std::collections::{BTreeSet, HashMap};

use crate::benefits::ProgramRules;
use crate::fees::{Channel, FeePlan, Rate, RefundPolicy};
use crate::issuing::CardStatus;
use crate::money::AmountMinor;
use crate::onboarding::Stage;
use crate::routing::{BinTable, CardProduct, Route};
use crate::settlement::Cycle;

/// Acquiring, settlement and issuing bank.
pub const BANK: &str = "DEMOBANK";
/// Co-brand program code.
pub const PROGRAM: &str = "DBCOFFEE";
/// Brand partner of the program.
pub const BRAND_PARTNER: &str = "LUCKYCOFFEE";
/// Fee plan code.
pub const FEE_PLAN: &str = "STANDARD";
/// Base derivation key of every sandbox terminal (TDES DUKPT).
pub const BDK_HEX: &str = "0123456789ABCDEFFEDCBA9876543210";
/// Issuer master key (IMK-AC) of the program's chip cards.
pub const PROGRAM_IMK_AC_HEX: &str = "9E15204313F7318ACB79B90BD986AD29";
/// The PIN of every sandbox card.
pub const CARD_PIN: &str = "1234";
/// Platform time zone for business dates and cut-offs.
pub const TIME_ZONE: &str = "Asia/Shanghai";
/// Offset of the platform time zone from UTC, in seconds (no daylight saving).
pub const TIME_ZONE_OFFSET_S: i64 = 8 * 3600;

/// A sandbox merchant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merchant {
    /// MID (DE 42).
    pub mid: &'static str,
    /// Name.
    pub name: &'static str,
    /// Merchant category code.
    pub mcc: u16,
    /// Onboarding stage.
    pub stage: Stage,
    /// Participates in the co-brand program.
    pub program_participant: bool,
    /// Settlement cycle.
    pub cycle: Cycle,
    /// T+1 cut-off, minutes after local midnight.
    pub cutoff_minute: u16,
    /// Bound settlement account.
    pub account: &'static str,
}

/// Kind of settlement account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountKind {
    /// One owner.
    Single,
    /// Several owners with an approval policy.
    Joint,
    /// A co-brand program account.
    Cobrand,
}

/// A sandbox settlement account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Account id.
    pub id: &'static str,
    /// Kind.
    pub kind: AccountKind,
    /// Owner names.
    pub owners: &'static [&'static str],
    /// Approvals needed for binding changes (joint accounts).
    pub binding_approvals: usize,
    /// Approvals needed for payouts above the threshold (joint accounts).
    pub payout_approvals: usize,
    /// Payouts above this need approval.
    pub payout_threshold: Option<AmountMinor>,
}

/// A sandbox terminal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Terminal {
    /// TID (DE 41).
    pub tid: &'static str,
    /// MID of its merchant.
    pub mid: &'static str,
    /// Initial KSN (20 hex characters).
    pub initial_ksn: &'static str,
    /// Whether requests and responses carry a MAC.
    pub mac_required: bool,
    /// Open batch number.
    pub open_batch: u32,
}

/// A sandbox card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Card {
    /// Short name used by the simulator and the demo.
    pub name: &'static str,
    /// PAN (a public test number).
    pub pan: &'static str,
    /// Expiry, `YYMM`.
    pub expiry: &'static str,
    /// Debit or credit.
    pub product: CardProduct,
    /// Issued by the host's bank.
    pub on_us: bool,
    /// Status.
    pub status: CardStatus,
    /// Balance (debit) or limit (credit); zero for off-us cards.
    pub available: AmountMinor,
    /// Points balance (co-brand cards).
    pub points: u64,
    /// Chip card of the program (ARQC verified with the program's IMK).
    pub chip: bool,
    /// Program code.
    pub program: Option<&'static str>,
}

/// A sandbox API key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    /// The key (a public test value).
    pub key: &'static str,
    /// Role name.
    pub role: &'static str,
    /// Scope: MID, account id, bank or brand partner; none for operators.
    pub scope: Option<&'static str>,
}

/// The merchants.
#[must_use]
pub fn merchants() -> Vec<Merchant> {
    let merchant = |mid, name, mcc, stage, program_participant, cycle, account| Merchant {
        mid,
        name,
        mcc,
        stage,
        program_participant,
        cycle,
        cutoff_minute: 23 * 60,
        account,
    };
    vec![
        merchant(
            "100000000000001",
            "Lucky Coffee Store #1",
            5814,
            Stage::Live,
            true,
            Cycle::T1,
            "ACC-JOINT-1",
        ),
        merchant(
            "100000000000002",
            "Corner Grocery",
            5411,
            Stage::Live,
            false,
            Cycle::T0,
            "ACC-SINGLE-2",
        ),
        merchant(
            "100000000000003",
            "New Noodle Bar",
            5812,
            Stage::Certification,
            false,
            Cycle::T1,
            "ACC-SINGLE-3",
        ),
    ]
}

/// The settlement accounts.
#[must_use]
pub fn accounts() -> Vec<Account> {
    let single = |id, owner: &'static [&'static str]| Account {
        id,
        kind: AccountKind::Single,
        owners: owner,
        binding_approvals: 0,
        payout_approvals: 0,
        payout_threshold: None,
    };
    vec![
        Account {
            id: "ACC-JOINT-1",
            kind: AccountKind::Joint,
            owners: &["Li Wei", "Zhang Min"],
            binding_approvals: 2,
            payout_approvals: 1,
            payout_threshold: Some(AmountMinor(5_000_000)),
        },
        single("ACC-SINGLE-2", &["Corner Grocery Ltd"]),
        single("ACC-SINGLE-3", &["New Noodle Bar Ltd"]),
    ]
}

/// The terminals.
#[must_use]
pub fn terminals() -> Vec<Terminal> {
    let terminal = |tid, mid, initial_ksn, mac_required| Terminal {
        tid,
        mid,
        initial_ksn,
        mac_required,
        open_batch: 1,
    };
    vec![
        terminal("T0000001", "100000000000001", "FFFF9876543210E00000", false),
        terminal("T0000002", "100000000000001", "FFFF9876543211000000", true),
        terminal("T0000003", "100000000000002", "FFFF9876543211200000", false),
        terminal("T0000004", "100000000000003", "FFFF9876543211400000", false),
    ]
}

/// The cards.
#[must_use]
pub fn cards() -> Vec<Card> {
    let on_us_debit = |name, pan, expiry, status, available| Card {
        name,
        pan,
        expiry,
        product: CardProduct::Debit,
        on_us: true,
        status,
        available: AmountMinor(available),
        points: 0,
        chip: false,
        program: None,
    };
    let cobrand = |name, pan, points, chip| Card {
        name,
        pan,
        expiry: "3012",
        product: CardProduct::Credit,
        on_us: true,
        status: CardStatus::Active,
        available: AmountMinor(5_000_000),
        points,
        chip,
        program: Some(PROGRAM),
    };
    let network = |name, pan, product| Card {
        name,
        pan,
        expiry: "3012",
        product,
        on_us: false,
        status: CardStatus::Active,
        available: AmountMinor::ZERO,
        points: 0,
        chip: false,
        program: None,
    };
    vec![
        on_us_debit(
            "debit",
            "6217000000000014",
            "3012",
            CardStatus::Active,
            1_000_000,
        ),
        on_us_debit(
            "debit-low",
            "6217000000000022",
            "3012",
            CardStatus::Active,
            1_000,
        ),
        on_us_debit(
            "debit-lost",
            "6217000000000030",
            "3012",
            CardStatus::Lost,
            1_000_000,
        ),
        on_us_debit(
            "debit-expired",
            "6217000000000048",
            "2001",
            CardStatus::Active,
            1_000_000,
        ),
        cobrand("cobrand-chip", "6225880000000019", 0, true),
        cobrand("cobrand", "6225880000000027", 500, false),
        network("visa", "4761739001010010", CardProduct::Credit),
        network("mastercard", "5413330089099130", CardProduct::Debit),
    ]
}

/// The BIN table: on-us ranges of the bank and the network ranges of the
/// sandbox's off-us cards.
#[must_use]
pub fn bin_table() -> BinTable {
    let mut table = BinTable::new();
    let entries = [
        (
            "621700",
            Route::OnUs {
                product: CardProduct::Debit,
                program: None,
            },
        ),
        (
            "622588",
            Route::OnUs {
                product: CardProduct::Credit,
                program: Some(PROGRAM.to_owned()),
            },
        ),
        (
            "476173",
            Route::Network {
                scheme: "VISA".to_owned(),
                product: CardProduct::Credit,
            },
        ),
        (
            "541333",
            Route::Network {
                scheme: "MASTERCARD".to_owned(),
                product: CardProduct::Debit,
            },
        ),
    ];
    for (prefix, route) in entries {
        // The prefixes above are six digits and the table is empty: insert cannot fail.
        let _ = table.insert(prefix, route);
    }
    table
}

/// The STANDARD fee plan.
#[must_use]
pub fn fee_plan() -> FeePlan {
    let rate = |rate_bps, cap: Option<i64>| Rate {
        rate_bps,
        cap: cap.map(AmountMinor),
        minimum: None,
    };
    let rates: HashMap<Channel, Rate> = [
        (Channel::Credit, rate(60, None)),
        (Channel::Debit, rate(50, Some(2_500))),
        (Channel::WalletQr, rate(38, None)),
        (Channel::UnionPayQr, rate(60, None)),
    ]
    .into_iter()
    .collect();
    FeePlan {
        rates,
        mcc_overrides: HashMap::new(),
        refund_policy: RefundPolicy::Keep,
    }
}

/// The DBCOFFEE program's rules.
#[must_use]
pub fn program() -> ProgramRules {
    ProgramRules {
        code: PROGRAM.to_owned(),
        discount_bps: 1_000,
        discount_cap: AmountMinor(2_000),
        points_unit_minor: 100,
        points_per_unit: 1,
        points_per_unit_participating: 2,
        fee_share_bps: 2_000,
        point_value_minor: crate::benefits::POINT_VALUE_MINOR_DEFAULT,
    }
}

/// The API keys.
#[must_use]
pub fn api_keys() -> Vec<ApiKey> {
    let key = |key, role, scope| ApiKey { key, role, scope };
    vec![
        key("sk_sandbox_admin", "operator", None),
        key("sk_sandbox_owner_liwei", "owner", Some("Li Wei")),
        key("sk_sandbox_owner_zhangmin", "owner", Some("Zhang Min")),
        key("sk_sandbox_merchant_1", "merchant", Some("100000000000001")),
        key("sk_sandbox_merchant_2", "merchant", Some("100000000000002")),
        key("sk_sandbox_bank", "bank", Some(BANK)),
        key("sk_sandbox_brand", "brand", Some(BRAND_PARTNER)),
    ]
}

/// Owners of a joint account, as a set for [`crate::approvals::Policy`].
#[must_use]
pub fn owner_set(account: &Account) -> BTreeSet<String> {
    account.owners.iter().map(|o| (*o).to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn luhn_valid(pan: &str) -> bool {
        let mut sum = 0;
        for (i, b) in pan.bytes().rev().enumerate() {
            let mut d = u32::from(b - b'0');
            if i % 2 == 1 {
                d *= 2;
                if d > 9 {
                    d -= 9;
                }
            }
            sum += d;
        }
        sum % 10 == 0
    }

    #[test]
    fn every_card_routes_as_sandbox_md_says() {
        let table = bin_table();
        for card in cards() {
            assert!(luhn_valid(card.pan), "{} Luhn", card.name);
            let route = table.route(card.pan).expect("every sandbox card routes");
            let on_us = matches!(route, Route::OnUs { .. });
            assert_eq!(on_us, card.on_us, "{}", card.name);
            let product = match route {
                Route::OnUs { product, .. } | Route::Network { product, .. } => *product,
            };
            assert_eq!(product, card.product, "{}", card.name);
        }
    }

    #[test]
    fn references_are_consistent() {
        let accounts: Vec<&str> = accounts().iter().map(|a| a.id).collect();
        let merchants = merchants();
        for merchant in &merchants {
            assert!(accounts.contains(&merchant.account));
        }
        for terminal in terminals() {
            assert!(merchants.iter().any(|m| m.mid == terminal.mid));
            assert_eq!(terminal.initial_ksn.len(), 20);
        }
        assert_eq!(fee_plan().validate(), Ok(()));
        assert_eq!(api_keys().len(), 7);
    }
}
