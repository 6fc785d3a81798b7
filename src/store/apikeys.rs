//! API keys: one hash per key, named by its id and holding only the SHA-256 of the secret.

use std::collections::HashMap;

use super::{
    Store, StoreError,
    scripts::{self, Call},
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub key_id: String,
    pub actor_id: String,
    /// SHA-256 (hex) of the whole key.
    pub key_hash: String,
    pub label: String,
    pub created_ms: u64,
    pub revoked: bool,
}

impl Store {
    pub async fn api_key_create(&self, record: &ApiKeyRecord) -> Result<(), StoreError> {
        self.command::<()>(
            redis::cmd("HSET")
                .arg(self.keys.api_key(&record.key_id))
                .arg("actor_id")
                .arg(&record.actor_id)
                .arg("key_hash")
                .arg(&record.key_hash)
                .arg("label")
                .arg(&record.label)
                .arg("created_ms")
                .arg(record.created_ms),
        )
        .await
    }

    pub async fn api_key_get(&self, key_id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let fields: HashMap<String, String> = self
            .command(redis::cmd("HGETALL").arg(self.keys.api_key(key_id)))
            .await?;
        if fields.is_empty() {
            return Ok(None);
        }
        let get = |name: &str| fields.get(name).cloned().unwrap_or_default();
        Ok(Some(ApiKeyRecord {
            key_id: key_id.to_owned(),
            actor_id: get("actor_id"),
            key_hash: get("key_hash"),
            label: get("label"),
            created_ms: get("created_ms").parse().unwrap_or(0),
            revoked: fields.contains_key("revoked_at"),
        }))
    }

    /// Returns whether the key existed.
    pub async fn api_key_revoke(&self, key_id: &str, now_ms: u64) -> Result<bool, StoreError> {
        let spec = &scripts::API_KEY_REVOKE;
        let mut call = Call::new(spec);
        call.key(self.keys.api_key(key_id)).arg(now_ms);
        match self.run(&call).await? {
            redis::Value::Int(1) => Ok(true),
            redis::Value::Int(0) => Ok(false),
            other => Err(StoreError::protocol(spec.name, format!("{other:?}"))),
        }
    }
}
