//! A small JSON map kept in one file of the state folder, shared by the threads of one labctl
//! (a mutex) and written atomically (so a killed labctl leaves the old or the new content).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::lab_state::write_atomically;

/// A `String → V` map persisted as JSON.
#[derive(Debug)]
pub struct JsonStore<V> {
    path: PathBuf,
    map: Mutex<BTreeMap<String, V>>,
}

impl<V: Serialize + DeserializeOwned + Clone> JsonStore<V> {
    /// Opens the store (empty when the file is missing or unreadable).
    pub fn open(path: PathBuf) -> Self {
        let map = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Self {
            path,
            map: Mutex::new(map),
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<V> {
        self.map.lock().ok()?.get(key).cloned()
    }

    /// Sets (or with None removes) `key`, and saves.
    pub fn set(&self, key: &str, value: Option<V>) -> std::io::Result<()> {
        let mut map = self
            .map
            .lock()
            .map_err(|_| std::io::Error::other("state store poisoned"))?;
        match value {
            Some(value) => map.insert(key.to_string(), value),
            None => map.remove(key),
        };
        let bytes = serde_json::to_vec_pretty(&*map).map_err(std::io::Error::other)?;
        write_atomically(&self.path, &bytes)
    }

    /// Every key.
    pub fn keys(&self) -> Vec<String> {
        self.map
            .lock()
            .map(|map| map.keys().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persists_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let store: JsonStore<Vec<String>> = JsonStore::open(path.clone());
        store.set("a", Some(vec!["x".into()])).unwrap();
        let again: JsonStore<Vec<String>> = JsonStore::open(path);
        assert_eq!(again.get("a"), Some(vec!["x".to_string()]));
        again.set("a", None).unwrap();
        assert!(again.keys().is_empty());
    }
}
