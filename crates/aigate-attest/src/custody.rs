//! Signatures of custody-log events: each event signed by the project's key as it is
//! appended, over the DSSE pre-authentication encoding of [`EVENT_PAYLOAD_TYPE`] and the event
//! without its signature, with ECDSA (the curve's own hash), as a DSSE envelope's signature is made.
//! The key id is model-signing's key hint, so the same public key file (`[trust] keys`) checks
//! the lock's signature and the log's.

use aigate_integrity::custody::{EVENT_PAYLOAD_TYPE, Event, EventSignature, EventSigner};

use crate::bundle::{decode_b64, encode_b64};
use crate::dsse::pae;
use crate::keys::SigHash;
use crate::{SigningKey, VerifyingKey};

/// Signs events with a private key.
pub struct KeyEventSigner {
    key: SigningKey,
    keyid: String,
}

impl KeyEventSigner {
    /// A signer with `key`.
    pub fn new(key: SigningKey) -> KeyEventSigner {
        let keyid = key.verifying_key().hint();
        KeyEventSigner { key, keyid }
    }

    /// The id its signatures carry.
    pub fn keyid(&self) -> &str {
        &self.keyid
    }
}

impl EventSigner for KeyEventSigner {
    fn sign(&self, event: &Event) -> Result<EventSignature, String> {
        let message = pae(EVENT_PAYLOAD_TYPE, &event.unsigned_json());
        let der = self.key.sign(&message).map_err(|e| e.to_string())?;
        Ok(EventSignature {
            keyid: self.keyid.clone(),
            sig: encode_b64(&der),
        })
    }
}

/// What an event's signature shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventCheck {
    /// It has none.
    Unsigned,
    /// It verifies with the trusted key of this id.
    Valid {
        /// The key's id.
        keyid: String,
    },
    /// It names a key that is not trusted, or verifies with none of them.
    UnknownKey {
        /// The id it names.
        keyid: String,
    },
    /// A trusted key's id, and the signature does not verify: the event changed after it
    /// was signed, or the signature was forged or damaged.
    Invalid {
        /// The id it names.
        keyid: String,
    },
}

/// Checks `event`'s signature against the `trusted` keys.
pub fn check_event(event: &Event, trusted: &[VerifyingKey]) -> EventCheck {
    let Some(signature) = &event.signature else {
        return EventCheck::Unsigned;
    };
    let keyid = signature.keyid.clone();
    let Some(key) = trusted.iter().find(|k| k.hint() == keyid) else {
        return EventCheck::UnknownKey { keyid };
    };
    let Ok(der) = decode_b64("signature.sig", &signature.sig) else {
        return EventCheck::Invalid { keyid };
    };
    let message = pae(EVENT_PAYLOAD_TYPE, &event.unsigned_json());
    if key.verify(&message, &der, SigHash::Curve) {
        EventCheck::Valid { keyid }
    } else {
        EventCheck::Invalid { keyid }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use aigate_integrity::custody::Action;

    use super::*;

    fn event() -> Event {
        Event {
            seq: 3,
            prev: Some(aigate_integrity::hash::Digest([7; 32])),
            at: "2026-12-04T10:00:00Z".into(),
            by: "alice".into(),
            action: Action::Approve,
            artifact: Some("m".into()),
            version: Some(2),
            digest: Some(aigate_integrity::hash::Digest([2; 32])),
            details: BTreeMap::new(),
            signature: None,
        }
    }

    #[test]
    fn a_signed_event_verifies_and_any_change_to_it_does_not() {
        let key = SigningKey::generate_p256();
        let public = key.verifying_key();
        let signer = KeyEventSigner::new(key);
        let mut signed = event();
        signed.signature = Some(signer.sign(&signed).unwrap());
        assert!(matches!(
            check_event(&signed, &[public]),
            EventCheck::Valid { .. }
        ));
        for change in [
            (|e: &mut Event| e.by = "mallory".into()) as fn(&mut Event),
            |e| e.seq = 4,
            |e| e.prev = None,
            |e| e.action = Action::Revoke,
            |e| {
                e.details.insert("reason".into(), "x".into());
            },
        ] {
            let mut changed = signed.clone();
            change(&mut changed);
            assert!(
                matches!(check_event(&changed, &[public]), EventCheck::Invalid { .. }),
                "{changed:?}"
            );
        }
    }

    #[test]
    fn another_key_is_unknown_and_no_signature_is_unsigned() {
        let key = SigningKey::generate_p256();
        let public = key.verifying_key();
        let signer = KeyEventSigner::new(key);
        let other = SigningKey::generate_p256().verifying_key();
        let mut signed = event();
        signed.signature = Some(signer.sign(&signed).unwrap());
        assert_eq!(
            check_event(&signed, &[other]),
            EventCheck::UnknownKey {
                keyid: signer.keyid().to_owned()
            }
        );
        assert_eq!(check_event(&event(), &[other]), EventCheck::Unsigned);
        // A signature copied from another event does not carry over.
        let mut other_event = event();
        other_event.seq = 9;
        other_event.signature = signed.signature.clone();
        assert!(matches!(
            check_event(&other_event, &[other, public]),
            EventCheck::Invalid { .. }
        ));
    }
}
