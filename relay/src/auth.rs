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

/// Runs argon2 on a small pool of dedicated threads. Each argon2id call needs 19 MiB and
/// tens of milliseconds of CPU: on the async workers it would stall other connections, and
/// on tokio's blocking pool every thread that ever hashed keeps its 19 MiB arena resident
/// (the load bench saw RSS grow by ~19 MB per agent login). A fixed pool bounds both; the
/// login throttle (`ratelimit::LoginThrottle`) lets one address hold at most one of its
/// threads, so others' logins never queue behind an attacker's guesses.
#[derive(Clone)]
pub struct PasswordWorker {
    jobs: std::sync::mpsc::Sender<PasswordJob>,
}

enum PasswordJob {
    /// `None`: no account (or a disabled one); verify against the dummy hash anyway, so the
    /// answer takes as long as for a real account and timing does not tell which exist.
    Verify(String, Option<String>, tokio::sync::oneshot::Sender<bool>),
    Hash(
        String,
        tokio::sync::oneshot::Sender<Result<String, AuthError>>,
    ),
}

/// Threads in the password pool: two, so one busy thread never blocks the next login.
pub const PASSWORD_THREADS: usize = 2;

impl PasswordWorker {
    /// Starts the threads; they end when the last handle is dropped.
    pub fn start() -> Result<Self, AuthError> {
        let (jobs, rx) = std::sync::mpsc::channel::<PasswordJob>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        let dummy = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
        for n in 0..PASSWORD_THREADS {
            let rx = rx.clone();
            let dummy = dummy.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    // The first thread prepares the dummy hash before any login arrives.
                    if n == 0 {
                        dummy_hash(&dummy);
                    }
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        match job {
                            PasswordJob::Verify(pw, phc, reply) => {
                                let ok = match phc {
                                    Some(phc) => verify_password(&pw, &phc),
                                    None => {
                                        verify_password(&pw, dummy_hash(&dummy));
                                        false
                                    }
                                };
                                let _ = reply.send(ok);
                            }
                            PasswordJob::Hash(pw, reply) => {
                                let _ = reply.send(hash_password(&pw));
                            }
                        }
                    }
                })
                .map_err(|e| AuthError::Hash(format!("cannot start a password thread: {e}")))?;
        }
        Ok(Self { jobs })
    }

    /// False for a wrong password, an unparsable hash, a missing account (`phc` `None`,
    /// checked against a dummy for equal time), or a stopped worker.
    pub async fn verify(&self, password: &str, phc: Option<&str>) -> bool {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job = PasswordJob::Verify(password.to_string(), phc.map(str::to_string), tx);
        self.jobs.send(job).is_ok() && rx.await.unwrap_or(false)
    }

    pub async fn hash(&self, password: &str) -> Result<String, AuthError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let stopped = || AuthError::Hash("the password thread has stopped".into());
        self.jobs
            .send(PasswordJob::Hash(password.to_string(), tx))
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }
}

/// A hash of a random password with the same parameters as real ones (made once).
fn dummy_hash(cell: &std::sync::OnceLock<String>) -> &str {
    cell.get_or_init(|| {
        let mut raw = [0u8; 16];
        let _ = getrandom::fill(&mut raw);
        hash_password(&hex::encode(raw)).unwrap_or_default()
    })
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

    #[tokio::test]
    async fn the_password_worker_hashes_and_verifies_off_the_runtime() {
        let worker = PasswordWorker::start().unwrap();
        let h = worker.hash("Feuerlöscher-2026").await.unwrap();
        assert!(worker.verify("Feuerlöscher-2026", Some(&h)).await);
        assert!(!worker.verify("falsch", Some(&h)).await);
        assert!(!worker.verify("Feuerlöscher-2026", None).await);
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
