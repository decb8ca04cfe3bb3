//! Secret rows: age ciphertext and metadata. Encryption lives in `crate::secrets`;
//! the store never sees a plaintext value.

use chrono::{DateTime, NaiveDate, Utc};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::schema::{SECRET_META, SECRET_VALUES};
use super::{Result, Store, StoreError, decode, encode};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretMeta {
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: Option<NaiveDate>,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct SecretRow {
    pub name: String,
    pub ciphertext: Vec<u8>,
    pub meta: SecretMeta,
}

impl Store {
    pub fn secret(&self, name: &str) -> Result<Option<SecretRow>> {
        let txn = self.read()?;
        let values = txn.open_table(SECRET_VALUES)?;
        let metas = txn.open_table(SECRET_META)?;
        let (Some(ciphertext), Some(meta)) = (values.get(name)?, metas.get(name)?) else {
            return Ok(None);
        };
        Ok(Some(SecretRow {
            name: name.to_owned(),
            ciphertext: ciphertext.value().to_vec(),
            meta: decode(meta.value(), || format!("metadata of secret {name}"))?,
        }))
    }

    /// Every secret's name and metadata, by name.
    pub fn secret_metas(&self) -> Result<Vec<(String, SecretMeta)>> {
        let txn = self.read()?;
        let metas = txn.open_table(SECRET_META)?;
        metas
            .iter()?
            .map(|entry| {
                let (name, meta) = entry?;
                let name = name.value().to_owned();
                let meta = decode(meta.value(), || format!("metadata of secret {name}"))?;
                Ok((name, meta))
            })
            .collect()
    }

    pub fn put_secret(&self, row: &SecretRow) -> Result<()> {
        self.put_secrets(std::slice::from_ref(row))
    }

    /// Writes every row in one transaction: a key rotation either re-encrypts all
    /// secrets or none.
    pub fn put_secrets(&self, rows: &[SecretRow]) -> Result<()> {
        self.write(|txn| {
            let mut values = txn.open_table(SECRET_VALUES)?;
            let mut metas = txn.open_table(SECRET_META)?;
            for row in rows {
                values.insert(row.name.as_str(), row.ciphertext.as_slice())?;
                metas.insert(row.name.as_str(), encode(&row.meta).as_slice())?;
            }
            Ok(())
        })
    }

    /// Every secret row, for re-encryption.
    pub fn secret_rows(&self) -> Result<Vec<SecretRow>> {
        let names: Vec<String> = self
            .secret_metas()?
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        names
            .into_iter()
            .map(|name| {
                self.secret(&name)?.ok_or_else(|| StoreError::Corrupt {
                    what: format!("secret {name}"),
                    detail: "metadata without a value".to_owned(),
                })
            })
            .collect()
    }

    /// Removes a secret; `false` if there was none by that name.
    pub fn remove_secret(&self, name: &str) -> Result<bool> {
        self.write(|txn| {
            let removed = txn.open_table(SECRET_VALUES)?.remove(name)?.is_some();
            txn.open_table(SECRET_META)?.remove(name)?;
            Ok(removed)
        })
    }

    pub fn touch_secret(&self, name: &str, at: DateTime<Utc>) -> Result<()> {
        self.write(|txn| {
            let mut metas = txn.open_table(SECRET_META)?;
            let meta = metas
                .get(name)?
                .map(|bytes| {
                    decode::<SecretMeta>(bytes.value(), || format!("metadata of secret {name}"))
                })
                .transpose()?;
            if let Some(mut meta) = meta {
                meta.last_used_at = Some(at);
                metas.insert(name, encode(&meta).as_slice())?;
            }
            Ok(())
        })
    }
}
