//! Secrets: agent passwords (argon2id) and bearer tokens (256 random bits, stored as SHA-256).
//!
//! Tokens are high-entropy random values, so a fast hash is enough at rest: a leaked database
//! does not reveal usable tokens, and lookups stay a single indexed query.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("could not hash the password: {0}")]
    Hash(String),
    #[error("the operating system's random source failed: {0}")]
    Random(String),
}

pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).map_err(|e| AuthError::Random(e.to_string()))?;
    let salt = SaltString::encode_b64(&raw).map_err(|e| AuthError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// False for a wrong password and for a stored hash that cannot be parsed.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A new random token (hex text for the client) and its hash (for the store).
pub fn new_token() -> Result<(String, [u8; 32]), AuthError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AuthError::Random(e.to_string()))?;
    let text = hex::encode(bytes);
    let hash = token_hash(&text);
    Ok((text, hash))
}

pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_only_against_its_own_hash() {
        let h = hash_password("Feuerlöscher-2026").unwrap();
        assert!(verify_password("Feuerlöscher-2026", &h));
        assert!(!verify_password("feuerlöscher-2026", &h));
        assert!(!verify_password("x", "not a phc string"));
    }

    #[test]
    fn tokens_are_256_bit_and_distinct() {
        let (a, ha) = new_token().unwrap();
        let (b, _) = new_token().unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(token_hash(&a), ha);
    }
}
