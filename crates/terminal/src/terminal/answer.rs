//! Reading the host's answer: the operation's outcome, the open batch's
//! record of it, the receipt, and the chip card's verdict on the ARPC.

use super::*;

impl Terminal {
    pub(super) fn outcome(
        &self,
        operation: &str,
        pending: &Pending,
        answer: Option<&[u8]>,
        amount_minor: u64,
    ) -> Outcome {
        let message = answer.and_then(|body| Message::decode(&ISO87, body).ok());
        let text = |field: usize| {
            message
                .as_ref()
                .and_then(|m| m.field(field))
                .and_then(|value| value.as_text())
                .map(str::to_owned)
        };
        let response_code = text(de::RESPONSE_CODE);
        let approved = response_code.as_deref() == Some("00");
        let reason = match &response_code {
            Some(code) => reason(code).to_owned(),
            None => "no answer from the host".to_owned(),
        };
        Outcome {
            operation: operation.to_owned(),
            mti: pending.message.mti().as_str().to_owned(),
            stan: pending.stan.clone(),
            response_code,
            approved,
            reason,
            rrn: text(de::RRN),
            auth_code: text(de::AUTHORIZATION_CODE),
            amount_minor,
            benefits: text(de::BENEFITS).and_then(|de63| parse_benefits(&de63)),
            available_balance_minor: text(de::ADDITIONAL_AMOUNTS)
                .and_then(|de54| parse_available_balance(&de54)),
            terminal_totals: None,
            host_totals: message.as_ref().and_then(host_totals),
            batch: String::new(),
            reversal_queued: false,
            card_declined: false,
            receipt: None,
        }
    }

    /// Books an approved transaction into the open batch.
    pub(super) fn record(
        &mut self,
        kind: TransactionKind,
        card: &Card,
        outcome: &Outcome,
        original: Option<&str>,
    ) {
        let amount = i64::try_from(outcome.amount_minor).unwrap_or(i64::MAX);
        let totals = &mut self.state.totals;
        match kind {
            TransactionKind::Balance => return,
            TransactionKind::Void => {
                let voided = self.state.entries.iter_mut().find(|entry| {
                    Some(entry.rrn.as_str()) == original
                        && !entry.voided
                        && matches!(entry.kind.as_str(), "sale" | "completion")
                });
                if let Some(entry) = voided {
                    entry.voided = true;
                    totals.debit_count = totals.debit_count.saturating_sub(1);
                    totals.debit_amount_minor -= entry.amount_minor;
                }
                return;
            }
            TransactionKind::Sale | TransactionKind::Completion => {
                totals.debit_count += 1;
                totals.debit_amount_minor += amount;
            }
            TransactionKind::Refund => {
                totals.credit_count += 1;
                totals.credit_amount_minor += amount;
            }
            TransactionKind::Preauth => {}
        }
        self.state.entries.push(BatchEntry {
            rrn: outcome.rrn.clone().unwrap_or_default(),
            auth_code: outcome.auth_code.clone().unwrap_or_default(),
            kind: kind.name().to_owned(),
            amount_minor: amount,
            masked_pan: card.masked_pan(),
            voided: false,
        });
    }

    pub(super) fn receipt(
        &self,
        kind: TransactionKind,
        read: CardRead<'_>,
        outcome: &Outcome,
        local: &DateTime,
    ) -> Receipt {
        let (response_code, reason) = match &outcome.response_code {
            _ if outcome.card_declined => ("--".to_owned(), "declined by card".to_owned()),
            Some(code) => (code.clone(), outcome.reason.clone()),
            None => ("--".to_owned(), "no answer; reversal queued".to_owned()),
        };
        Receipt {
            merchant_name: self.state.merchant_name.clone(),
            tid: self.state.tid.clone(),
            mid: self.state.mid.clone(),
            title: kind.title().to_owned(),
            masked_pan: read.card.masked_pan(),
            entry_mode: read.entry.label().to_owned(),
            amount_minor: i64::try_from(outcome.amount_minor).unwrap_or(i64::MAX),
            currency: self.config.currency_alpha.clone(),
            benefits: outcome.benefits.clone(),
            auth_code: outcome.auth_code.clone(),
            rrn: outcome.rrn.clone(),
            date_time: local.receipt(),
            response_code,
            reason,
        }
    }
}

/// What the chip card says of the host's answer: `None` without tag 91.
pub(super) fn card_verdict(card: &Card, pending: &Pending, answer: &[u8]) -> Option<bool> {
    let response = Message::decode(&ISO87, answer).ok()?;
    let tag_91 = find_tag(response.icc_data()?, 0x91)?;
    let request = pending.message.get(de::ICC_DATA)?;
    let arqc: [u8; 8] = find_tag(request, 0x9F26)?.try_into().ok()?;
    let atc: [u8; 2] = find_tag(request, 0x9F36)?.try_into().ok()?;
    card.accepts_arpc(atc, &arqc, tag_91)
}

fn find_tag(icc: &[u8], number: u32) -> Option<&[u8]> {
    let tag = Tag::from_u32(number)?;
    TlvIter::new(icc)
        .map_while(Result::ok)
        .find(|tlv| tlv.tag == tag)
        .map(|tlv| tlv.value)
}

fn host_totals(message: &Message<'_>) -> Option<Totals> {
    let amount = |value: u64| i64::try_from(value).ok();
    Some(Totals {
        credit_count: message.credits_number()?,
        credit_amount_minor: amount(message.credits_amount()?)?,
        debit_count: message.debits_number()?,
        debit_amount_minor: amount(message.debits_amount()?)?,
    })
}
