//! A connection's secrets: the provider's credential fields, sealed as one JSON object.
//! Not `Serialize`, and `Debug` prints nothing but the field names.

use std::{collections::BTreeMap, fmt};

use base64::{engine::general_purpose::STANDARD as B64, Engine};

use super::CatalogError;
use crate::db::connections::SqlConnection;
use crate::vault::{Sealed, Vault};

pub struct Credentials(BTreeMap<String, String>);

/// Sealed columns ready to store.
pub struct SealedCredentials {
    pub mask: String,
    pub key_id: String,
    pub nonce: String,
    pub ciphertext: String,
}

impl Credentials {
    pub fn new(fields: BTreeMap<String, String>) -> Self {
        Self(fields)
    }

    pub fn fields(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// `…wxyz`: enough to recognise a key, never enough to use it (see [`mask`]).
    pub fn mask(&self, primary_field: &str) -> String {
        let value = self
            .0
            .get(primary_field)
            .map(String::as_str)
            .unwrap_or_default();
        mask(value)
    }

    pub fn seal(
        &self,
        vault: &Vault,
        connection_id: &str,
        primary_field: &str,
    ) -> Result<SealedCredentials, CatalogError> {
        let plain = serde_json::to_vec(&self.0).map_err(|e| CatalogError::Sealed(e.to_string()))?;
        let sealed = vault
            .seal(&plain, connection_id)
            .map_err(|e| CatalogError::Sealed(e.to_string()))?;
        Ok(SealedCredentials {
            mask: self.mask(primary_field),
            key_id: sealed.key_id,
            nonce: B64.encode(&sealed.nonce),
            ciphertext: B64.encode(&sealed.ciphertext),
        })
    }

    pub fn open(vault: &Vault, row: &SqlConnection) -> Result<Self, CatalogError> {
        let decode = |s: &str| {
            B64.decode(s)
                .map_err(|e| CatalogError::Sealed(e.to_string()))
        };
        let sealed = Sealed {
            key_id: row.sealed_key_id.clone(),
            nonce: decode(&row.sealed_nonce)?,
            ciphertext: decode(&row.sealed_credentials)?,
        };
        let plain = vault
            .open(&sealed, &row.id)
            .map_err(|e| CatalogError::Sealed(e.to_string()))?;
        serde_json::from_slice(&plain)
            .map(Credentials)
            .map_err(|e| CatalogError::Sealed(e.to_string()))
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// What the console shows of a stored secret: at most its last four characters, and
/// fewer the shorter it is (a fifth of it at most), so a mask never gives much away.
pub fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let shown = match chars.len() {
        0 => return String::new(),
        n if n >= 20 => 4,
        n if n >= 10 => 2,
        _ => 0,
    };
    let tail: String = chars[chars.len() - shown..].iter().collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_show_little() {
        assert_eq!(mask("sk-proj-abcdefghijklmnopwxyz"), "…wxyz");
        assert_eq!(mask("sk-abcdefghi"), "…hi");
        assert_eq!(mask("short1"), "…");
        assert_eq!(mask("abc"), "…");
        assert_eq!(mask(""), "");
    }

    #[test]
    fn debug_shows_only_field_names() {
        let creds = Credentials::new(BTreeMap::from([(
            "api_key".to_owned(),
            "sk-secret-value".to_owned(),
        )]));
        let shown = format!("{creds:?}");
        assert!(shown.contains("api_key"));
        assert!(!shown.contains("sk-secret"));
    }
}
