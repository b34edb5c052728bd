//! Sealing of provider credentials with AES-256-GCM under the installation's master key.
//! A random 96-bit nonce per seal; the owning record's id is the associated data, so a
//! sealed value copied onto another record does not open. The master key id is stored
//! beside each ciphertext so keys can be rotated.

use std::{io::Write, path::Path};

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
    #[error("could not read or create the master key file {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
    #[error("sealed with master key {0}, which this installation does not have")]
    UnknownKey(String),
    #[error("credential could not be decrypted (wrong key or tampered data)")]
    Corrupt,
}

/// A ciphertext as stored. Deliberately not `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

pub struct Vault {
    key_id: String,
    cipher: Aes256Gcm,
}

impl Vault {
    pub fn from_key_bytes(bytes: &[u8]) -> Result<Self, VaultError> {
        if bytes.len() != 32 {
            return Err(VaultError::BadMasterKey);
        }
        let key_id = hex::encode(&Sha256::digest(bytes)[..4]);
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(bytes));
        Ok(Self { key_id, cipher })
    }

    pub fn from_base64(encoded: &str) -> Result<Self, VaultError> {
        let bytes = B64
            .decode(encoded.trim())
            .map_err(|_| VaultError::BadMasterKey)?;
        Self::from_key_bytes(&bytes)
    }

    /// The key from `LANGMART_MASTER_KEY` when given, else `<data_dir>/master.key`,
    /// generated on first start and readable by the owner only.
    pub fn load(explicit: Option<&str>, data_dir: &Path) -> Result<Self, VaultError> {
        if let Some(encoded) = explicit {
            return Self::from_base64(encoded);
        }
        let path = data_dir.join(MASTER_KEY_FILE);
        let file_err = |source| VaultError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(encoded) => Self::from_base64(&encoded),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Aes256Gcm::generate_key(OsRng);
                write_private(&path, B64.encode(key).as_bytes()).map_err(file_err)?;
                tracing::info!(path = %path.display(), "generated a new master key");
                Self::from_key_bytes(&key)
            }
            Err(e) => Err(file_err(e)),
        }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn seal(&self, plaintext: &[u8], associated: &str) -> Result<Sealed, VaultError> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: associated.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Corrupt)?;
        Ok(Sealed {
            key_id: self.key_id.clone(),
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    pub fn open(&self, sealed: &Sealed, associated: &str) -> Result<Vec<u8>, VaultError> {
        if sealed.key_id != self.key_id {
            return Err(VaultError::UnknownKey(sealed.key_id.clone()));
        }
        if sealed.nonce.len() != 12 {
            return Err(VaultError::Corrupt);
        }
        self.cipher
            .decrypt(
                Nonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: associated.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Corrupt)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(contents)
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
            Vault::from_base64("c2hvcnQ="),
            Err(VaultError::BadMasterKey)
        ));
    }

    #[test]
    fn key_file_is_created_once_with_owner_only_mode() {
        let dir = tempfile::tempdir().unwrap();
        let first = Vault::load(None, dir.path()).unwrap();
        let second = Vault::load(None, dir.path()).unwrap();
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
}
