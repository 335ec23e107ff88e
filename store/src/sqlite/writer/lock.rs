//! One process appends events to a database file: the premise of [`Tails`](super::tails).
//!
//! Two relays serving one SQLite file would each number and deduplicate from their own
//! memory, and could store a resend twice. So the writer takes an exclusive lock on
//! `<database>-lock` before its first event, and refuses events while another process holds
//! it. Only events: the command line (`agent add`, `site add`) writes beside a running relay
//! and never needs it. Several relay nodes use PostgreSQL, not a shared SQLite file.

use crate::{StoreError, StoreResult};
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

pub(super) struct EventsLock {
    path: PathBuf,
    /// Held until the writer stops (the lock goes with the file handle).
    held: Option<File>,
    /// Refusals are logged once, not once per batch.
    refusing: bool,
}

impl EventsLock {
    pub fn new(database: &Path) -> Self {
        let mut name = database.as_os_str().to_owned();
        name.push("-lock");
        EventsLock {
            path: PathBuf::from(name),
            held: None,
            refusing: false,
        }
    }

    /// Takes the lock unless this writer holds it already.
    pub fn claim(&mut self) -> StoreResult<()> {
        if self.held.is_some() {
            return Ok(());
        }
        let io = |e: std::io::Error| StoreError::Backend(Box::new(e));
        let refused = match File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.path)
        {
            Err(e) => io(e),
            Ok(file) => match file.try_lock() {
                Ok(()) => {
                    self.held = Some(file);
                    if self.refusing {
                        tracing::info!(lock = %self.path.display(), "events accepted again");
                    }
                    return Ok(());
                }
                Err(TryLockError::WouldBlock) => StoreError::InUse(self.path.display().to_string()),
                Err(TryLockError::Error(e)) => io(e),
            },
        };
        if !self.refusing {
            tracing::error!(error = %refused, "refusing events until the lock is free");
        }
        self.refusing = true;
        Err(refused)
    }
}
