//! The audit log's hash chain: the canonical bytes of an event and the link
//! hash. Changing either makes every stored chain fail verification, so a
//! known-answer test pins both.

use sha2::{Digest, Sha256};

use super::{AuditEntry, Hash};

/// The canonical bytes of an event: seq and time as u64 big-endian, then
/// role, scope, action, resource and details, each as a u32 big-endian
/// length and UTF-8 bytes.
#[must_use]
pub fn canonical_bytes(seq: u64, entry: &AuditEntry) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(64 + entry.details.len());
    bytes.extend_from_slice(&seq.to_be_bytes());
    bytes.extend_from_slice(&entry.time_ns.to_be_bytes());
    for field in [
        &entry.actor_role,
        &entry.actor_scope,
        &entry.action,
        &entry.resource,
        &entry.details,
    ] {
        let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
        bytes.extend_from_slice(&len.to_be_bytes());
        bytes.extend_from_slice(field.as_bytes());
    }
    bytes
}

/// `SHA-256(previous || canonical_bytes(seq, entry))`.
#[must_use]
pub fn chain_hash(previous: &Hash, seq: u64, entry: &AuditEntry) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(previous);
    hasher.update(canonical_bytes(seq, entry));
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> AuditEntry {
        AuditEntry {
            time_ns: 1_767_225_600_000_000_000,
            actor_role: "operator".into(),
            actor_scope: String::new(),
            action: "fee_plan.create".into(),
            resource: "fee-plans/STANDARD".into(),
            details: r#"{"code":"STANDARD"}"#.into(),
        }
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Pins the canonical form: changing it would make every stored chain
    /// fail verification.
    #[test]
    fn chain_hash_known_answer() {
        let bytes = canonical_bytes(1, &entry());
        assert_eq!(
            hex(&bytes[..16]),
            "000000000000000118867251edfa0000",
            "seq then time, big-endian"
        );
        assert_eq!(&bytes[16..28], b"\0\0\0\x08operator");
        let first = chain_hash(&[0; 32], 1, &entry());
        assert_eq!(hex(&first), KNOWN_FIRST);
        let second = chain_hash(&first, 2, &entry());
        assert_ne!(first, second, "the seq and the link are hashed");
    }

    /// Computed independently (Python: hashlib.sha256 over struct.pack of the
    /// same fields).
    const KNOWN_FIRST: &str = "40e9428041257d5ff1550886512e6da9911c2ea4ed651d1724ab62886b58d9f9";
}
