//! Keys of the host and the sandbox seeding (sandbox.md): ledger accounts,
//! funding transfers and host records, written in one request.

use cardsec::vault::{Vault, VaultKey};
use cardsec::{Pan, Pin, TdesKey, pinverify};
use domain::issuing::CardStatus;
use domain::onboarding::Stage;
use domain::routing::CardProduct;
use domain::sandbox;
use ledger::{AccountFlags, AccountId, LedgerId, NewAccount, NewTransfer, TransferId};
use store::WriteOp;

use crate::records::{BatchRecord, CardRecord, MerchantRecord, Record, TerminalRecord};

/// The ledger of CNY (one ledger per currency, by ISO 4217 number).
pub const LEDGER_CNY: LedgerId = LedgerId(156);
/// Ledger code of every host transfer and account.
pub const LEDGER_CODE: u16 = 1;
/// The issuer's funding account: on-us balances and credit lines come from it.
pub const ISSUER_FUNDING_ACCOUNT: u128 = 1;
/// The card network's settlement account (off-us captures and refunds).
pub const NETWORK_ACCOUNT: u128 = 2;
/// The co-brand program's funding account (instant discounts, brand partner).
pub const PROGRAM_ACCOUNT: u128 = 3;
/// First merchant payable account (merchant i → this + i).
pub const MERCHANT_ACCOUNT_BASE: u128 = 100;
/// First on-us card account (card i → this + i).
pub const CARD_ACCOUNT_BASE: u128 = 1_000;
/// Funding transfers of seeding: this + card index.
pub const FUNDING_TRANSFER_BASE: u128 = 1 << 100;
/// The acquirer's fee revenue: merchant fees are posted here at capture.
pub const FEE_REVENUE_ACCOUNT: u128 = 4;
/// The brand partner's fee share: its part of the fee of co-brand
/// transactions, moved here from [`FEE_REVENUE_ACCOUNT`] at capture.
pub const BRAND_PARTNER_ACCOUNT: u128 = 5;
/// The operator's adjustments account: the other side of the merchant
/// adjustments posted by `POST /v1/merchants/{mid}/adjustments` (id 7 is
/// the wallet network's, `qr::WALLET_NETWORK_ACCOUNT`).
pub const ADJUSTMENTS_ACCOUNT: u128 = 8;
/// The points ledger: co-brand points are a unit of their own, never money
/// (a ledger id above every ISO 4217 number).
pub const LEDGER_POINTS: LedgerId = LedgerId(1_000);
/// The program's points issuance account (points ledger): points accrued
/// come from it and points taken back return to it.
pub const POINTS_ISSUANCE_ACCOUNT: u128 = 6;
/// Offset of a co-brand card's points account from its money account.
pub const POINTS_ACCOUNT_OFFSET: u128 = 1 << 64;
/// Funding transfers of the cards' initial points: this + card index.
pub const POINTS_FUNDING_TRANSFER_BASE: u128 = FUNDING_TRANSFER_BASE + (1 << 32);

/// The points account (points ledger) of the co-brand card whose money
/// account is `card_account`. Its balance is the card's points balance,
/// which DE 63 `BAL` reports.
#[must_use]
pub fn points_account(card_account: u128) -> u128 {
    POINTS_ACCOUNT_OFFSET + card_account
}

/// The setting marking a database seeded with sandbox data.
pub const SANDBOX_SETTING: &str = "sandbox";

/// Sandbox PIN verification key (a public test key, never for production).
pub const SANDBOX_PVK_HEX: &str = "0123456789ABCDEF0123456789ABCDEF";
/// PIN verification key index of every card.
pub const PVKI: u8 = 1;
/// Sandbox vault token key (public test value).
pub const SANDBOX_VAULT_TOKEN_KEY: [u8; 32] = [0x5A; 32];
/// Sandbox vault encryption key (public test value).
pub const SANDBOX_VAULT_ENCRYPTION_KEY: [u8; 32] = [0xA5; 32];

/// The keys the host works with.
#[derive(Clone, Debug)]
pub struct HostKeys {
    /// Base derivation key of the terminals' DUKPT.
    pub bdk: TdesKey,
    /// PIN verification key.
    pub pvk: TdesKey,
    /// Issuer master key (AC) of the co-brand program's chip cards.
    pub imk: TdesKey,
    /// The PAN vault.
    pub vault: Vault,
}

/// Errors of key set-up and seeding.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// A key or card of the sandbox definition was rejected.
    #[error("sandbox data: {0}")]
    Card(#[from] cardsec::Error),
    /// A production key is not configured (its variable is named).
    #[error("{0} is not set: a host without --sandbox needs its own keys")]
    MissingKey(&'static str),
    /// A configured key is unusable (its variable is named, never its value).
    #[error("{0} is not a valid key")]
    BadKey(&'static str),
}

/// Environment variables of the production keys (hex): BDK, PVK, IMK-AC,
/// and the vault's 32-byte token and encryption keys.
pub const KEY_VARIABLES: [&str; 5] = [
    "POSBRIDGE_BDK",
    "POSBRIDGE_PVK",
    "POSBRIDGE_IMK_AC",
    "POSBRIDGE_VAULT_TOKEN_KEY",
    "POSBRIDGE_VAULT_ENCRYPTION_KEY",
];

fn variable(name: &'static str) -> Result<String, SeedError> {
    std::env::var(name).map_err(|_| SeedError::MissingKey(name))
}

fn tdes(name: &'static str) -> Result<TdesKey, SeedError> {
    TdesKey::from_hex(&variable(name)?).map_err(|_| SeedError::BadKey(name))
}

fn bytes32(name: &'static str) -> Result<Vec<u8>, SeedError> {
    let text = variable(name)?;
    let bytes: Option<Vec<u8>> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect();
    bytes
        .filter(|b| b.len() == 32 && text.len() == 64)
        .ok_or(SeedError::BadKey(name))
}

impl HostKeys {
    /// The sandbox keys of sandbox.md plus the sandbox PVK and vault key.
    ///
    /// # Errors
    /// Never for the built-in values; [`SeedError`] otherwise.
    pub fn sandbox() -> Result<HostKeys, SeedError> {
        Ok(HostKeys {
            bdk: TdesKey::from_hex(sandbox::BDK_HEX)?,
            pvk: TdesKey::from_hex(SANDBOX_PVK_HEX)?,
            imk: TdesKey::from_hex(sandbox::PROGRAM_IMK_AC_HEX)?,
            vault: Vault::new(VaultKey::new(
                1,
                &SANDBOX_VAULT_TOKEN_KEY,
                &SANDBOX_VAULT_ENCRYPTION_KEY,
            )?),
        })
    }
}

impl HostKeys {
    /// The production keys from [`KEY_VARIABLES`].
    ///
    /// # Errors
    /// [`SeedError::MissingKey`] or [`SeedError::BadKey`] naming the variable.
    pub fn from_env() -> Result<HostKeys, SeedError> {
        let [bdk, pvk, imk, token, encryption] = KEY_VARIABLES;
        let (bdk, pvk, imk) = (tdes(bdk)?, tdes(pvk)?, tdes(imk)?);
        let vault_key = VaultKey::new(1, &bytes32(token)?, &bytes32(encryption)?)
            .map_err(|_| SeedError::BadKey(token))?;
        Ok(HostKeys {
            bdk,
            pvk,
            imk,
            vault: Vault::new(vault_key),
        })
    }
}

fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Live => "live",
        Stage::Certification => "certification",
        Stage::Negotiation => "negotiation",
        Stage::TechnicalAssessment => "technical_assessment",
        Stage::SystemIntegration => "system_integration",
        Stage::Marketing => "marketing",
    }
}

/// The write request that seeds the sandbox into an empty database.
///
/// # Errors
/// [`SeedError`] when a sandbox card is rejected by `cardsec`.
pub fn sandbox_seed(keys: &HostKeys) -> Result<Vec<WriteOp>, SeedError> {
    let account = |id: u128, flags| NewAccount {
        flags,
        ..NewAccount::new(AccountId(id), LEDGER_CNY, LEDGER_CODE)
    };
    let mut accounts = vec![
        account(ISSUER_FUNDING_ACCOUNT, AccountFlags::default()),
        account(NETWORK_ACCOUNT, AccountFlags::default()),
        account(PROGRAM_ACCOUNT, AccountFlags::default()),
        account(FEE_REVENUE_ACCOUNT, AccountFlags::default()),
        account(BRAND_PARTNER_ACCOUNT, AccountFlags::default()),
        account(ADJUSTMENTS_ACCOUNT, AccountFlags::default()),
        NewAccount::new(
            AccountId(POINTS_ISSUANCE_ACCOUNT),
            LEDGER_POINTS,
            LEDGER_CODE,
        ),
    ];
    let mut records = vec![Record::Setting(SANDBOX_SETTING.into(), "1".into())];
    for (index, merchant) in (1u128..).zip(sandbox::merchants()) {
        accounts.push(account(
            MERCHANT_ACCOUNT_BASE + index,
            AccountFlags::default(),
        ));
        records.push(Record::Merchant(MerchantRecord {
            mid: merchant.mid.into(),
            name: merchant.name.into(),
            stage: stage_name(merchant.stage).into(),
            account: MERCHANT_ACCOUNT_BASE + index,
            participant: merchant.program_participant,
            mcc: merchant.mcc,
            fee_plan: sandbox::FEE_PLAN.into(),
            cycle: merchant.cycle.as_str().into(),
            cutoff_minute: merchant.cutoff_minute,
        }));
    }
    for terminal in sandbox::terminals() {
        records.push(Record::Terminal(TerminalRecord {
            tid: terminal.tid.into(),
            mid: terminal.mid.into(),
            initial_ksn: terminal.initial_ksn.into(),
            mac_required: terminal.mac_required,
            active: true,
        }));
        records.push(Record::Batch(BatchRecord {
            tid: terminal.tid.into(),
            number: terminal.open_batch,
            closed: false,
        }));
    }
    let mut funding = Vec::new();
    let pin = Pin::new(sandbox::CARD_PIN)?;
    for (index, card) in (1u128..).zip(sandbox::cards().into_iter().filter(|c| c.on_us)) {
        let id = CARD_ACCOUNT_BASE + index;
        accounts.push(account(id, AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS));
        let pan = Pan::new(card.pan)?;
        let token = keys.vault.token(&pan);
        // A nonce from the token: unique per PAN under one key version.
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&token.digest[..12]);
        let encrypted = keys
            .vault
            .encrypt_with_nonce(&pan, keys.vault.current_version(), nonce)?;
        records.push(Record::Card(CardRecord {
            token: token.to_string(),
            encrypted_pan: encrypted.to_string(),
            masked: pan.masked(),
            product: match card.product {
                CardProduct::Debit => "debit",
                CardProduct::Credit => "credit",
            }
            .into(),
            status: match card.status {
                CardStatus::Active => "active",
                CardStatus::Lost => "lost",
                CardStatus::Stolen => "stolen",
            }
            .into(),
            expiry: card.expiry.into(),
            available: card.available.0,
            pin_failures: 0,
            pvv: pinverify::pvv(&keys.pvk, &pan, PVKI, &pin)?,
            chip: card.chip,
            program: card.program.unwrap_or_default().into(),
            account: id,
            points: card.points,
            redeem_points: false,
        }));
        if card.program.is_some() {
            accounts.push(points_account_of(id));
            if card.points > 0 {
                funding.push(points_funding(index, id, card.points));
            }
        }
        let amount = u64::try_from(card.available.0).unwrap_or(0);
        if amount > 0 {
            funding.push(NewTransfer::new(
                TransferId(FUNDING_TRANSFER_BASE + index),
                AccountId(ISSUER_FUNDING_ACCOUNT),
                AccountId(id),
                amount,
                LEDGER_CNY,
                LEDGER_CODE,
            ));
        }
    }
    Ok(vec![
        WriteOp::CreateAccounts(accounts),
        WriteOp::CreateTransfers(funding),
        WriteOp::HostRows(records.iter().map(Record::row).collect()),
    ])
}

/// The points account of a co-brand card (points never go below zero).
fn points_account_of(card_account: u128) -> NewAccount {
    NewAccount {
        flags: AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS,
        ..NewAccount::new(
            AccountId(points_account(card_account)),
            LEDGER_POINTS,
            LEDGER_CODE,
        )
    }
}

/// The transfer giving card `index` its initial points.
fn points_funding(index: u128, card_account: u128, points: u64) -> NewTransfer {
    NewTransfer::new(
        TransferId(POINTS_FUNDING_TRANSFER_BASE + index),
        AccountId(POINTS_ISSUANCE_ACCOUNT),
        AccountId(points_account(card_account)),
        points,
        LEDGER_POINTS,
        LEDGER_CODE,
    )
}

/// The live merchant the bench terminals belong to (sandbox "Corner Grocery").
pub const BENCH_MERCHANT: &str = "100000000000002";
/// The bench card: an on-us debit card of the sandbox's debit BIN, PIN 1234.
pub const BENCH_CARD_PAN: &str = "6217008888888889";
/// The bench card's expiry (YYMM).
pub const BENCH_CARD_EXPIRY: &str = "3012";
/// The bench card's ledger account (past the sandbox's on-us cards).
pub const BENCH_CARD_ACCOUNT: u128 = CARD_ACCOUNT_BASE + 999;

/// The TID of bench terminal `index` (0-based): `B0000001`, `B0000002`, …
#[must_use]
pub fn bench_tid(index: usize) -> String {
    format!("B{:07}", index + 1)
}

/// The initial KSN of bench terminal `index` (0-based), under the sandbox
/// BDK, transaction counter zero.
#[must_use]
pub fn bench_initial_ksn(index: usize) -> String {
    format!("FFFFB{index:09X}E00000")
}

/// The write request that adds `terminals` bench terminals (see
/// [`bench_tid`], [`bench_initial_ksn`]; merchant [`BENCH_MERCHANT`], no
/// MAC, batch 1 open) and the bench card ([`BENCH_CARD_PAN`], PIN 1234,
/// funded with `available` minor units) to a database seeded with
/// [`sandbox_seed`]. For load benchmarks only.
///
/// # Errors
/// [`SeedError`] when the bench card is rejected by `cardsec`.
pub fn bench_seed(
    keys: &HostKeys,
    terminals: usize,
    available: u64,
) -> Result<Vec<WriteOp>, SeedError> {
    let mut records = Vec::with_capacity(2 * terminals + 1);
    for index in 0..terminals {
        let tid = bench_tid(index);
        records.push(Record::Terminal(TerminalRecord {
            tid: tid.clone(),
            mid: BENCH_MERCHANT.into(),
            initial_ksn: bench_initial_ksn(index),
            mac_required: false,
            active: true,
        }));
        records.push(Record::Batch(BatchRecord {
            tid,
            number: 1,
            closed: false,
        }));
    }
    let pan = Pan::new(BENCH_CARD_PAN)?;
    let pin = Pin::new(sandbox::CARD_PIN)?;
    let token = keys.vault.token(&pan);
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&token.digest[..12]);
    let encrypted = keys
        .vault
        .encrypt_with_nonce(&pan, keys.vault.current_version(), nonce)?;
    records.push(Record::Card(CardRecord {
        token: token.to_string(),
        encrypted_pan: encrypted.to_string(),
        masked: pan.masked(),
        product: "debit".into(),
        status: "active".into(),
        expiry: BENCH_CARD_EXPIRY.into(),
        available: i64::try_from(available).unwrap_or(i64::MAX),
        pin_failures: 0,
        pvv: pinverify::pvv(&keys.pvk, &pan, PVKI, &pin)?,
        chip: false,
        program: String::new(),
        account: BENCH_CARD_ACCOUNT,
        points: 0,
        redeem_points: false,
    }));
    let account = NewAccount {
        flags: AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS,
        ..NewAccount::new(AccountId(BENCH_CARD_ACCOUNT), LEDGER_CNY, LEDGER_CODE)
    };
    let funding = NewTransfer::new(
        TransferId(FUNDING_TRANSFER_BASE + 999),
        AccountId(ISSUER_FUNDING_ACCOUNT),
        AccountId(BENCH_CARD_ACCOUNT),
        available,
        LEDGER_CNY,
        LEDGER_CODE,
    );
    Ok(vec![
        WriteOp::CreateAccounts(vec![account]),
        WriteOp::CreateTransfers(vec![funding]),
        WriteOp::HostRows(records.iter().map(Record::row).collect()),
    ])
}
