//! Small per-site values in `localStorage` (`switchboard:<site>:<name>`). Storage can be
//! missing or refuse writes (Safari private mode, quota, disabled cookies): then the value
//! lives in memory for this page, and the widget still works, it only forgets on reload.

use std::cell::RefCell;

pub struct Store {
    prefix: String,
    local: Option<web_sys::Storage>,
    /// Values the browser would not store; a short list, so no hash map (WASM size).
    memory: RefCell<Vec<(String, String)>>,
}

impl Store {
    /// Uses `window.localStorage` when the browser lets us.
    pub fn browser(site: &str) -> Self {
        let local = web_sys::window().and_then(|w| w.local_storage().ok().flatten());
        Self::with(site, local)
    }

    /// Memory only (tests, or no browser storage).
    pub fn memory(site: &str) -> Self {
        Self::with(site, None)
    }

    fn with(site: &str, local: Option<web_sys::Storage>) -> Self {
        Store {
            prefix: format!("switchboard:{site}:"),
            local,
            memory: RefCell::new(Vec::new()),
        }
    }

    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    pub fn get(&self, name: &str) -> Option<String> {
        let key = self.key(name);
        if let Some((_, v)) = self.memory.borrow().iter().find(|(k, _)| *k == key) {
            return Some(v.clone());
        }
        self.local.as_ref()?.get_item(&key).ok().flatten()
    }

    pub fn set(&self, name: &str, value: &str) {
        let key = self.key(name);
        let stored = self
            .local
            .as_ref()
            .is_some_and(|l| l.set_item(&key, value).is_ok());
        let mut memory = self.memory.borrow_mut();
        memory.retain(|(k, _)| *k != key);
        if !stored {
            memory.push((key, value.to_string()));
        }
    }

    pub fn remove(&self, name: &str) {
        let key = self.key(name);
        self.memory.borrow_mut().retain(|(k, _)| *k != key);
        if let Some(l) = &self.local {
            let _ = l.remove_item(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_keeps_values_per_site_key() {
        let s = Store::memory("acme");
        assert_eq!(s.key("token"), "switchboard:acme:token");
        assert_eq!(s.get("token"), None);
        s.set("token", "abc");
        assert_eq!(s.get("token").as_deref(), Some("abc"));
        s.remove("token");
        assert_eq!(s.get("token"), None);
    }
}
