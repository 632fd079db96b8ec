//! The sandbox card-network simulator's rules: the network answers off-us
//! authorizations by the last two digits of the amount in minor units.

use crate::money::AmountMinor;
use crate::response::ResponseCode;

/// What the simulated network does with an authorization request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetworkAnswer {
    /// Answers with this response code.
    Answer(ResponseCode),
    /// Never answers: the host times the network out, answers `91` and
    /// sends a reversal toward the network.
    NoAnswer,
}

/// The sandbox network's answer for an amount (sandbox.md): `51`, `05` and
/// `54` decline with that code, `91` gets no answer, anything else approves.
#[must_use]
pub fn simulated_answer(amount: AmountMinor) -> NetworkAnswer {
    match amount.0.rem_euclid(100) {
        51 => NetworkAnswer::Answer(ResponseCode::InsufficientFunds),
        5 => NetworkAnswer::Answer(ResponseCode::DoNotHonor),
        54 => NetworkAnswer::Answer(ResponseCode::ExpiredCard),
        91 => NetworkAnswer::NoAnswer,
        _ => NetworkAnswer::Answer(ResponseCode::Approved),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_by_last_two_digits() {
        let check = |minor: i64, expected: NetworkAnswer| {
            assert_eq!(simulated_answer(AmountMinor(minor)), expected, "{minor}");
        };
        check(
            10_051,
            NetworkAnswer::Answer(ResponseCode::InsufficientFunds),
        );
        check(51, NetworkAnswer::Answer(ResponseCode::InsufficientFunds));
        check(205, NetworkAnswer::Answer(ResponseCode::DoNotHonor));
        check(154, NetworkAnswer::Answer(ResponseCode::ExpiredCard));
        check(9_991, NetworkAnswer::NoAnswer);
        check(10_000, NetworkAnswer::Answer(ResponseCode::Approved));
        check(150, NetworkAnswer::Answer(ResponseCode::Approved));
        check(515, NetworkAnswer::Answer(ResponseCode::Approved));
    }
}
