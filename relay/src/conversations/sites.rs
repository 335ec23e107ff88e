//! Sites as every visitor `hello` needs them, read from the store at most once per
//! [`SITE_TTL`] per site instead of once per connection.
//!
//! A profile of 19,000 visitors connecting put a quarter of the relay's samples on sqlx's
//! SQLite threads, for this one read. Changes made through this relay (`PATCH /sites`) are
//! seen at once; changes made through another relay node sharing the database, within
//! [`SITE_TTL`]. Only sites that exist are kept, so the map is as large as the site table.

use super::{Chat, ChatResult};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use switchboard_store::SiteRecord;

/// How long a site read from the store is used without reading it again.
pub const SITE_TTL: Duration = Duration::from_secs(5);

#[derive(Default)]
pub(crate) struct SiteCache {
    /// std mutex: held for a map lookup or insert, never across `.await`.
    entries: Mutex<HashMap<String, (Instant, Arc<SiteRecord>)>>,
}

impl SiteCache {
    fn fresh(&self, id: &str) -> Option<Arc<SiteRecord>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(id)
            .filter(|(read_at, _)| read_at.elapsed() < SITE_TTL)
            .map(|(_, site)| site.clone())
    }

    fn put(&self, site: Arc<SiteRecord>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.insert(site.id.clone(), (Instant::now(), site));
    }
}

impl Chat {
    /// The site `id`, at most [`SITE_TTL`] old; `None` when there is no such site.
    pub async fn site(&self, id: &str) -> ChatResult<Option<Arc<SiteRecord>>> {
        if let Some(site) = self.inner.sites.fresh(id) {
            return Ok(Some(site));
        }
        let Some(site) = self.store().site(id).await? else {
            return Ok(None);
        };
        let site = Arc::new(site);
        self.inner.sites.put(site.clone());
        Ok(Some(site))
    }

    /// An admin changed `site` through this relay: the next hello sees it.
    pub fn site_changed(&self, site: SiteRecord) {
        self.inner.sites.put(Arc::new(site));
    }
}
