//! Which configurations the user trusts to relax checks. A downloaded model or a cloned
//! repository can carry an `aigate.toml`; its `[scan] allow` could clear its own payload. As
//! `direnv allow` and `mise trust` do, a configuration relaxes nothing until the user trusts it:
//! named with `--config`, or recorded once with `aigate trust`, by its absolute path and the
//! SHA-256 of its text, in the user's configuration folder. Editing the file withdraws the trust.
//! Stricter settings always apply.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use aigate_integrity::hash::{Algorithm, hash_reader};

/// The trust store's file name, in the user's configuration folder.
const STORE_FILE: &str = "trusted.toml";
/// Largest store read.
const MAX_STORE_BYTES: u64 = 16 << 20;

/// The user's configuration folder: `AIGATE_CONFIG_DIR`, else `$XDG_CONFIG_HOME/aigate`, else
/// `~/.config/aigate` (`%APPDATA%\aigate` on Windows).
pub fn user_dir() -> Option<PathBuf> {
    let env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = env("AIGATE_CONFIG_DIR") {
        return Some(dir);
    }
    if cfg!(windows) {
        return env("APPDATA").map(|d| d.join("aigate"));
    }
    env("XDG_CONFIG_HOME")
        .or_else(|| env("HOME").map(|h| h.join(".config")))
        .map(|d| d.join("aigate"))
}

/// The user's cache folder: `AIGATE_CACHE_DIR`, else `$XDG_CACHE_HOME/aigate`, else
/// `~/.cache/aigate` (`%LOCALAPPDATA%\\aigate` on Windows). The advisory database lives there.
pub fn cache_dir() -> Option<PathBuf> {
    let env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = env("AIGATE_CACHE_DIR") {
        return Some(dir);
    }
    if cfg!(windows) {
        return env("LOCALAPPDATA").map(|d| d.join("aigate"));
    }
    env("XDG_CACHE_HOME")
        .or_else(|| env("HOME").map(|h| h.join(".cache")))
        .map(|d| d.join("aigate"))
}

/// One trusted configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub struct Entry {
    /// Its absolute path.
    pub path: String,
    /// The SHA-256 of its text when it was trusted.
    pub sha256: String,
    /// When it was trusted (RFC 3339).
    pub trusted_at: String,
}

/// The trust store.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Store {
    /// Every trusted configuration.
    #[serde(default, rename = "config")]
    pub entries: Vec<Entry>,
}

fn store_path() -> Result<PathBuf> {
    user_dir()
        .map(|d| d.join(STORE_FILE))
        .context("no folder for user settings: set AIGATE_CONFIG_DIR or HOME")
}

fn digest_of(text: &str) -> String {
    hash_reader(text.as_bytes(), Algorithm::Sha256)
        .map(|h| h.digest.hex())
        .unwrap_or_default()
}

/// The absolute, symlink-free spelling of `path`, as the store records it.
pub fn canonical(path: &Path) -> Result<String> {
    let path = std::fs::canonicalize(path)
        .with_context(|| format!("cannot resolve {}", path.display()))?;
    Ok(path.to_string_lossy().into_owned())
}

impl Store {
    /// The user's store (empty when there is none).
    pub fn load() -> Result<Store> {
        let path = store_path()?;
        if std::fs::symlink_metadata(&path).is_err() {
            return Ok(Store::default());
        }
        let text = aigate_integrity::files::read_regular(&path, MAX_STORE_BYTES)
            .with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid trust store {}", path.display()))
    }

    /// Writes the store atomically.
    pub fn save(&self) -> Result<PathBuf> {
        let path = store_path()?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let text = toml::to_string(self).context("cannot write the trust store")?;
        aigate_integrity::files::write_atomic(&path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }

    /// Whether the configuration at `path` with this `text` is trusted as it is now.
    pub fn trusts(&self, path: &Path, text: &str) -> bool {
        let Ok(path) = canonical(path) else {
            return false;
        };
        let digest = digest_of(text);
        self.entries
            .iter()
            .any(|e| e.path == path && e.sha256 == digest)
    }

    /// Records `path` with `text` as trusted (replacing an earlier entry for it).
    pub fn trust(&mut self, path: &Path, text: &str, now: String) -> Result<Entry> {
        let path = canonical(path)?;
        self.entries.retain(|e| e.path != path);
        let entry = Entry {
            path,
            sha256: digest_of(text),
            trusted_at: now,
        };
        self.entries.push(entry.clone());
        self.entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(entry)
    }

    /// Withdraws trust from `path`; whether it was trusted.
    pub fn revoke(&mut self, path: &Path) -> Result<bool> {
        let path = canonical(path)?;
        let before = self.entries.len();
        self.entries.retain(|e| e.path != path);
        Ok(self.entries.len() != before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_binds_the_path_and_the_text() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("aigate.toml");
        std::fs::write(&config, "[scan]\n").unwrap();
        let mut store = Store::default();
        assert!(!store.trusts(&config, "[scan]\n"));
        store.trust(&config, "[scan]\n", "now".into()).unwrap();
        assert!(store.trusts(&config, "[scan]\n"));
        assert!(
            !store.trusts(&config, "[scan]\nallow = [\"x.*\"]\n"),
            "an edit withdraws trust"
        );
        let other = dir.path().join("other.toml");
        std::fs::write(&other, "[scan]\n").unwrap();
        assert!(!store.trusts(&other, "[scan]\n"), "trust is per file");
        assert!(store.revoke(&config).unwrap());
        assert!(!store.trusts(&config, "[scan]\n"));
    }
}
