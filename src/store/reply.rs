//! Decoding of script replies: a script returns a small array, read here item by item into
//! typed values; anything unexpected is a [`StoreError::Protocol`] naming the script.

use redis::{FromRedisValue, Value};

use super::StoreError;

pub struct Reply {
    script: &'static str,
    items: std::vec::IntoIter<Value>,
}

impl Reply {
    pub fn new(script: &'static str, value: Value) -> Result<Self, StoreError> {
        match value {
            Value::Array(items) => Ok(Self {
                script,
                items: items.into_iter(),
            }),
            other => Err(StoreError::protocol(
                script,
                format!("expected an array, got {other:?}"),
            )),
        }
    }

    /// The next item, converted.
    pub fn next<T: FromRedisValue>(&mut self) -> Result<T, StoreError> {
        let item = self
            .items
            .next()
            .ok_or_else(|| StoreError::protocol(self.script, "reply is too short"))?;
        redis::from_redis_value(item).map_err(|e| StoreError::protocol(self.script, e.to_string()))
    }

    /// Whether items remain.
    pub fn has_more(&self) -> bool {
        self.items.len() > 0
    }

    /// An error for an outcome tag the script should not return.
    pub fn unexpected(&self, tag: &str) -> StoreError {
        StoreError::protocol(self.script, format!("unknown outcome {tag:?}"))
    }
}
