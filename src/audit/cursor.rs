//! Feed page cursors: opaque to clients, so a page boundary cannot be tampered with unnoticed
//! and one user's cursor is worthless to another.
//!
//! A cursor is base64url (no padding) of `version ‖ event id (8 bytes, big-endian) ‖ tag`, where
//! the tag is HMAC-SHA256 over a domain label, the user id and the event id. The key is derived
//! from the secret every instance shares (`totp.encryption_key`), so cursors survive restarts
//! and move between instances; after that secret changes, a client that gets `404` for a cursor
//! starts again from the newest page. Paging
//! is keyset by id, so the tag protects integrity, not secrecy — event ids are in the events.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The only cursor layout so far; a new layout gets a new byte, old cursors then 404.
const VERSION: u8 = 1;
/// Separates this use of the key from any other it might ever get.
const LABEL: &[u8] = b"nod feed cursor v1\0";
const ID_LEN: usize = 8;
const TAG_LEN: usize = 32;
const CURSOR_LEN: usize = 1 + ID_LEN + TAG_LEN;

/// A cursor this codec did not issue to this user, whatever is wrong with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadCursor;

/// Encodes and checks feed cursors.
#[derive(Clone)]
pub struct CursorCodec {
    key: hmac::Key,
}

impl CursorCodec {
    /// A codec with the given key: instances with the same key accept each other's cursors.
    pub fn with_key(key: &[u8; 32]) -> Self {
        CursorCodec {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
        }
    }

    /// The cursor that continues `user_id`'s feed below event `id`.
    pub fn encode(&self, user_id: &str, id: i64) -> String {
        let id_bytes = id.to_be_bytes();
        let tag = hmac::sign(&self.key, &signed_message(user_id, &id_bytes));
        let mut raw = Vec::with_capacity(CURSOR_LEN);
        raw.push(VERSION);
        raw.extend_from_slice(&id_bytes);
        raw.extend_from_slice(tag.as_ref());
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The event id of a cursor issued to `user_id` by this process. Anything else — garbage,
    /// a flipped character, another user's cursor, one from before a restart — is the same
    /// [`BadCursor`] (answered `404`): the caller learns nothing about why.
    pub fn decode(&self, user_id: &str, cursor: &str) -> Result<i64, BadCursor> {
        let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| BadCursor)?;
        if raw.len() != CURSOR_LEN || raw[0] != VERSION {
            return Err(BadCursor);
        }
        let (id_bytes, tag) = raw[1..].split_at(ID_LEN);
        hmac::verify(&self.key, &signed_message(user_id, id_bytes), tag).map_err(|_| BadCursor)?;
        let id_bytes: [u8; ID_LEN] = id_bytes.try_into().map_err(|_| BadCursor)?;
        Ok(i64::from_be_bytes(id_bytes))
    }
}

/// `LABEL ‖ user id ‖ NUL ‖ id`: the NUL keeps (user, id) pairs from running into each other.
fn signed_message(user_id: &str, id_bytes: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(LABEL.len() + user_id.len() + 1 + id_bytes.len());
    message.extend_from_slice(LABEL);
    message.extend_from_slice(user_id.as_bytes());
    message.push(0);
    message.extend_from_slice(id_bytes);
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec() -> CursorCodec {
        CursorCodec::with_key(&[7; 32])
    }

    #[test]
    fn a_cursor_round_trips_for_its_user() {
        let cursor = codec().encode("alice", 42);
        assert_eq!(codec().decode("alice", &cursor).ok(), Some(42));
        assert_eq!(cursor.len(), 55);
    }

    #[test]
    fn another_users_cursor_is_not_found() {
        let cursor = codec().encode("alice", 42);
        assert!(matches!(codec().decode("bob", &cursor), Err(BadCursor)));
    }

    #[test]
    fn every_single_character_change_is_detected() {
        let cursor = codec().encode("alice", 42);
        for i in 0..cursor.len() {
            for replacement in ['A', 'z', '-', '_', '0'] {
                let mut tampered: Vec<char> = cursor.chars().collect();
                if tampered[i] == replacement {
                    continue;
                }
                tampered[i] = replacement;
                let tampered: String = tampered.into_iter().collect();
                assert!(
                    codec().decode("alice", &tampered).is_err(),
                    "{tampered} accepted"
                );
            }
        }
    }

    #[test]
    fn garbage_and_other_keys_are_not_found() {
        for garbage in ["", "x", "!!!", "AAAA", &"A".repeat(55)] {
            assert!(codec().decode("alice", garbage).is_err(), "{garbage}");
        }
        let other = CursorCodec::with_key(&[8; 32]).encode("alice", 42);
        assert!(codec().decode("alice", &other).is_err());
    }
}
