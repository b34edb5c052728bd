//! Sealing of provider credentials with AES-256-GCM under the installation's master key.
//! A random 96-bit nonce per seal; the owning record's id is the associated data, so a
//! sealed value copied onto another record does not open. Each ciphertext stores the id
//! of the key that sealed it, so keys can be rotated: the vault holds a key ring (the
//! current key seals, every key opens) and re-reads its key file when it meets a key id
//! it does not know, so running servers keep reading while `rotate-master-key` re-seals.

use std::{
    collections::HashMap,
    io::Write,
    path::{Path, PathBuf},
    sync::RwLock,
};

use aes_gcm::{
    aead::{Aead, AeadCore, KeyInit, OsRng, Payload},
    Aes256Gcm, Key, Nonce,
};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use sha2::{Digest, Sha256};

pub const MASTER_KEY_FILE: &str = "master.key";

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("master key must be base64 of exactly 32 bytes")]
    BadMasterKey,
    #[error("could not read or write the master key file {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
    #[error("sealed with master key {0}, which this installation does not have")]
    UnknownKey(String),
    #[error("credential could not be decrypted (wrong key or tampered data)")]
    Corrupt,
    #[error("the master key comes from LANGMART_MASTER_KEY: set it to the new key and LANGMART_MASTER_KEY_PREVIOUS to the old one, then re-seal")]
    KeyFromEnvironment,
}

/// A ciphertext as stored. Deliberately not `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

struct Ring {
    current: String,
    ciphers: HashMap<String, Aes256Gcm>,
}

impl Ring {
    /// The first key is the current one; the rest still open what they sealed.
    fn from_keys(keys: &[Vec<u8>]) -> Result<Self, VaultError> {
        let mut ciphers = HashMap::new();
        let mut current = None;
        for bytes in keys {
            if bytes.len() != 32 {
                return Err(VaultError::BadMasterKey);
            }
            let id = key_id(bytes);
            current.get_or_insert_with(|| id.clone());
            ciphers.insert(id, Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(bytes)));
        }
        let current = current.ok_or(VaultError::BadMasterKey)?;
        Ok(Ring { current, ciphers })
    }
}

fn key_id(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..4])
}

fn decode_keys(text: &str) -> Result<Vec<Vec<u8>>, VaultError> {
    text.split(['\n', ','])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| B64.decode(l).map_err(|_| VaultError::BadMasterKey))
        .collect()
}

pub struct Vault {
    ring: RwLock<Ring>,
    /// The key file, when keys come from one (re-read on unknown key ids, rewritten on rotation).
    file: Option<PathBuf>,
}

impl Vault {
    pub fn from_key_bytes(bytes: &[u8]) -> Result<Self, VaultError> {
        Ok(Self {
            ring: RwLock::new(Ring::from_keys(&[bytes.to_vec()])?),
            file: None,
        })
    }

    /// The key from `LANGMART_MASTER_KEY` (plus `LANGMART_MASTER_KEY_PREVIOUS`, comma-separated)
    /// when given, else `<data_dir>/master.key`, generated on first start, owner-only.
    pub fn load(
        explicit: Option<&str>,
        previous: Option<&str>,
        data_dir: &Path,
    ) -> Result<Self, VaultError> {
        if let Some(encoded) = explicit {
            let mut keys = decode_keys(encoded)?;
            keys.truncate(1);
            keys.extend(decode_keys(previous.unwrap_or_default())?);
            return Ok(Self {
                ring: RwLock::new(Ring::from_keys(&keys)?),
                file: None,
            });
        }
        let path = data_dir.join(MASTER_KEY_FILE);
        let keys = match std::fs::read_to_string(&path) {
            Ok(text) => decode_keys(&text)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Aes256Gcm::generate_key(OsRng).to_vec();
                write_key_file(&path, std::slice::from_ref(&key), true)?;
                tracing::info!(path = %path.display(), "generated a new master key");
                vec![key]
            }
            Err(source) => return Err(file_error(&path, source)),
        };
        Ok(Self {
            ring: RwLock::new(Ring::from_keys(&keys)?),
            file: Some(path),
        })
    }

    /// The id of the key new seals use.
    pub fn key_id(&self) -> String {
        self.read().current.clone()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Ring> {
        self.ring
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn seal(&self, plaintext: &[u8], associated: &str) -> Result<Sealed, VaultError> {
        let ring = self.read();
        let cipher = ring
            .ciphers
            .get(&ring.current)
            .ok_or(VaultError::BadMasterKey)?;
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: associated.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Corrupt)?;
        Ok(Sealed {
            key_id: ring.current.clone(),
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    pub fn open(&self, sealed: &Sealed, associated: &str) -> Result<Vec<u8>, VaultError> {
        match self.open_with_ring(sealed, associated) {
            Err(VaultError::UnknownKey(_)) if self.file.is_some() => {
                // Another process may have rotated the key: read the file again.
                self.reload()?;
                self.open_with_ring(sealed, associated)
            }
            other => other,
        }
    }

    fn open_with_ring(&self, sealed: &Sealed, associated: &str) -> Result<Vec<u8>, VaultError> {
        let ring = self.read();
        let cipher = ring
            .ciphers
            .get(&sealed.key_id)
            .ok_or_else(|| VaultError::UnknownKey(sealed.key_id.clone()))?;
        if sealed.nonce.len() != 12 {
            return Err(VaultError::Corrupt);
        }
        cipher
            .decrypt(
                Nonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: associated.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Corrupt)
    }

    fn reload(&self) -> Result<(), VaultError> {
        let Some(path) = &self.file else {
            return Ok(());
        };
        let text = std::fs::read_to_string(path).map_err(|e| file_error(path, e))?;
        let ring = Ring::from_keys(&decode_keys(&text)?)?;
        *self
            .ring
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = ring;
        Ok(())
    }

    /// Makes a new key current, keeping the old ones for opening; returns the new key id.
    /// The key file is replaced atomically, so readers see the old or the new ring.
    pub fn rotate(&self) -> Result<String, VaultError> {
        let path = self.file.as_ref().ok_or(VaultError::KeyFromEnvironment)?;
        let text = std::fs::read_to_string(path).map_err(|e| file_error(path, e))?;
        let mut keys = vec![Aes256Gcm::generate_key(OsRng).to_vec()];
        keys.extend(decode_keys(&text)?);
        write_key_file(path, &keys, false)?;
        self.reload()?;
        Ok(self.key_id())
    }
}

fn file_error(path: &Path, source: std::io::Error) -> VaultError {
    VaultError::KeyFile {
        path: path.display().to_string(),
        source,
    }
}

/// Writes the key ring, one base64 key per line, readable by the owner only.
fn write_key_file(path: &Path, keys: &[Vec<u8>], create_new: bool) -> Result<(), VaultError> {
    let contents: String = keys.iter().map(|k| B64.encode(k) + "\n").collect();
    let target = if create_new {
        path.to_path_buf()
    } else {
        path.with_extension("key.tmp")
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&target).map_err(|e| file_error(&target, e))?;
    file.write_all(contents.as_bytes())
        .map_err(|e| file_error(&target, e))?;
    file.sync_all().map_err(|e| file_error(&target, e))?;
    if !create_new {
        std::fs::rename(&target, path).map_err(|e| file_error(path, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_round_trip_with_fresh_nonces() {
        let vault = Vault::from_key_bytes(&[7u8; 32]).unwrap();
        let a = vault.seal(b"sk-provider-secret", "conn-1").unwrap();
        let b = vault.seal(b"sk-provider-secret", "conn-1").unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
        assert_eq!(vault.open(&a, "conn-1").unwrap(), b"sk-provider-secret");
    }

    #[test]
    fn associated_data_binds_the_owner() {
        let vault = Vault::from_key_bytes(&[7u8; 32]).unwrap();
        let sealed = vault.seal(b"secret", "conn-1").unwrap();
        assert!(matches!(
            vault.open(&sealed, "conn-2"),
            Err(VaultError::Corrupt)
        ));
    }

    #[test]
    fn another_key_cannot_open() {
        let sealed = Vault::from_key_bytes(&[1u8; 32])
            .unwrap()
            .seal(b"secret", "c")
            .unwrap();
        let other = Vault::from_key_bytes(&[2u8; 32]).unwrap();
        assert!(matches!(
            other.open(&sealed, "c"),
            Err(VaultError::UnknownKey(_))
        ));
    }

    #[test]
    fn rejects_short_keys() {
        assert!(matches!(
            Vault::load(Some("c2hvcnQ="), None, Path::new("/nonexistent")),
            Err(VaultError::BadMasterKey)
        ));
    }

    #[test]
    fn environment_keys_include_previous_ones() {
        let old = B64.encode([1u8; 32]);
        let new = B64.encode([2u8; 32]);
        let sealed = Vault::load(Some(&old), None, Path::new("/x"))
            .unwrap()
            .seal(b"s", "c")
            .unwrap();
        let vault = Vault::load(Some(&new), Some(&old), Path::new("/x")).unwrap();
        assert_eq!(vault.open(&sealed, "c").unwrap(), b"s");
        assert_ne!(vault.seal(b"s", "c").unwrap().key_id, sealed.key_id);
        assert!(matches!(
            vault.rotate(),
            Err(VaultError::KeyFromEnvironment)
        ));
    }

    #[test]
    fn key_file_is_created_once_with_owner_only_mode() {
        let dir = tempfile::tempdir().unwrap();
        let first = Vault::load(None, None, dir.path()).unwrap();
        let second = Vault::load(None, None, dir.path()).unwrap();
        assert_eq!(first.key_id(), second.key_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(MASTER_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn rotation_keeps_old_ciphertexts_readable_even_for_a_running_reader() {
        let dir = tempfile::tempdir().unwrap();
        let reader = Vault::load(None, None, dir.path()).unwrap();
        let old = reader.seal(b"secret", "c").unwrap();

        let rotator = Vault::load(None, None, dir.path()).unwrap();
        let new_id = rotator.rotate().unwrap();
        assert_ne!(new_id, old.key_id);
        let resealed = rotator.seal(b"secret", "c").unwrap();
        assert_eq!(resealed.key_id, new_id);
        assert_eq!(rotator.open(&old, "c").unwrap(), b"secret");

        // The reader has never seen the new key: it re-reads the file and opens both.
        assert_eq!(reader.open(&resealed, "c").unwrap(), b"secret");
        assert_eq!(reader.open(&old, "c").unwrap(), b"secret");
        assert_eq!(reader.key_id(), new_id);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(MASTER_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
