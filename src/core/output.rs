//! What tasks produce and what a run answers: the same in every model and runtime.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The result of one task. `value` is the number most workloads produce; `extra` carries
/// anything else (bytes, status codes, digests) for the workload's own `combine`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskOutput {
    /// Written as a decimal string: serde's tagged enums (our events) cannot carry u128.
    #[serde(with = "u128_as_string")]
    pub value: u128,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub extra: Value,
}

mod u128_as_string {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        String::deserialize(d)?.parse().map_err(D::Error::custom)
    }
}

impl TaskOutput {
    pub fn value(value: u128) -> Self {
        TaskOutput {
            value,
            extra: Value::Null,
        }
    }
}

/// A run's checkable answer: the same in every model, or something is wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The headline value, e.g. "148933".
    pub value: String,
    /// A few words on what it counts, e.g. "primes below 22,000,000".
    pub meaning: String,
}
