//! QR payments: which QR scheme a consumer's payment code belongs to, and
//! the sandbox wallet network simulator's rules.
//!
//! A consumer-presented payment code is 16 to 24 digits; codes starting
//! `62` are UnionPay QR (fee channel `unionpay_qr`), every other code is an
//! Alipay-style or WeChat-style wallet code (`wallet_qr`).
//!
//! The sandbox wallet network answers like the card network simulator
//! ([`crate::network`]), by the last two digits of the amount in minor
//! units: `51` → insufficient funds, `05` → declined (do not honor),
//! anything else approved. It always answers (no time-out case).

use crate::fees::Channel;
use crate::money::AmountMinor;
use crate::response::ResponseCode;

/// Fewest digits of a payment code.
pub const PAYMENT_CODE_DIGITS_MIN: usize = 16;
/// Most digits of a payment code.
pub const PAYMENT_CODE_DIGITS_MAX: usize = 24;
/// Prefix of UnionPay QR payment codes.
pub const UNIONPAY_PREFIX: &str = "62";

/// The fee channel of a consumer's payment code; `None` when it is not
/// 16–24 digits.
#[must_use]
pub fn channel_of_code(code: &str) -> Option<Channel> {
    let digits = code.len();
    if !(PAYMENT_CODE_DIGITS_MIN..=PAYMENT_CODE_DIGITS_MAX).contains(&digits)
        || !code.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some(if code.starts_with(UNIONPAY_PREFIX) {
        Channel::UnionPayQr
    } else {
        Channel::WalletQr
    })
}

/// A payment code as it may be kept: the first 4 and last 4 digits, the
/// rest `*` (a code of fewer than 16 digits is never masked: it is refused).
#[must_use]
pub fn mask_code(code: &str) -> String {
    let digits = code.len();
    code.char_indices()
        .map(|(i, c)| if i < 4 || i + 4 >= digits { c } else { '*' })
        .collect()
}

/// The sandbox wallet network's answer for a QR payment of `amount`:
/// `51` and `05` decline with that code, anything else approves.
#[must_use]
pub fn simulated_answer(amount: AmountMinor) -> ResponseCode {
    match amount.0.rem_euclid(100) {
        51 => ResponseCode::InsufficientFunds,
        5 => ResponseCode::DoNotHonor,
        _ => ResponseCode::Approved,
    }
}

/// The reason of a wallet decline as the API names it.
#[must_use]
pub fn decline_reason(code: ResponseCode) -> &'static str {
    match code {
        ResponseCode::Approved => "",
        ResponseCode::InsufficientFunds => "insufficient_funds",
        _ => "declined",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_by_last_two_digits() {
        let check = |minor: i64, expected: ResponseCode| {
            assert_eq!(simulated_answer(AmountMinor(minor)), expected, "{minor}");
        };
        check(51, ResponseCode::InsufficientFunds);
        check(10_051, ResponseCode::InsufficientFunds);
        check(205, ResponseCode::DoNotHonor);
        check(5, ResponseCode::DoNotHonor);
        check(154, ResponseCode::Approved);
        check(191, ResponseCode::Approved);
        check(10_000, ResponseCode::Approved);
        check(515, ResponseCode::Approved);
    }

    #[test]
    fn codes_choose_the_channel() {
        let check = |code: &str, expected: Option<Channel>| {
            assert_eq!(channel_of_code(code), expected, "{code}");
        };
        check("6212345678901234", Some(Channel::UnionPayQr));
        check("281234567890123456", Some(Channel::WalletQr));
        check("134567890123456789012345", Some(Channel::WalletQr));
        check("123456789012345", None);
        check("1345678901234567890123456", None);
        check("28123456789012345x", None);
        check("", None);
    }

    #[test]
    fn masks_keep_four_and_four() {
        assert_eq!(mask_code("281234567890123456"), "2812**********3456");
        assert_eq!(mask_code("6212345678901234"), "6212********1234");
    }
}
