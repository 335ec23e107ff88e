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
}

impl EventsLock {
    pub fn new(database: &Path) -> Self {
        let mut name = database.as_os_str().to_owned();
        name.push("-lock");
        EventsLock {
            path: PathBuf::from(name),
            held: None,
        }
    }

    /// Takes the lock unless this writer holds it already.
    pub fn claim(&mut self) -> StoreResult<()> {
        if self.held.is_some() {
            return Ok(());
        }
        let io = |e| StoreError::Database(sqlx::Error::Io(e));
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {
                self.held = Some(file);
                Ok(())
            }
            Err(TryLockError::WouldBlock) => {
                Err(StoreError::InUse(self.path.display().to_string()))
            }
            Err(TryLockError::Error(e)) => Err(io(e)),
        }
    }
}
