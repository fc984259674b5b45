//! Integer names for match keys inside the graph.
//!
//! Every arrangement of the signals graph is keyed by resource, and a `String` key costs a
//! heap copy each time a record moves and a byte compare each time one is sorted; on the
//! per-minute path that was most of the work. Inside the graph a resource is therefore a
//! 64-bit hash of its match key ([`key_hash`], FxHash: fixed, not seeded per process).
//!
//! Two keys sharing a hash must never be merged, and correctness must not rest on that
//! being unlikely, so [`KeyNames`] remembers which key holds each hash and refuses a
//! second one. The metric window refuses such a sample with its row; the job's driver
//! keeps its own registry (it may be fed buckets from elsewhere) and drops what it would
//! merge; and the cost side carries the key string and meets the metric keys on the exact
//! (hash, key) pair, so a billing key never borrows a metric key's hash.

use std::collections::HashMap;
use std::hash::Hasher;

use rustc_hash::FxHasher;

/// The graph's name for a match key.
pub fn key_hash(key: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write(key.as_bytes());
    h.finish()
}

/// Which key holds each hash; the first one keeps it.
#[derive(Debug, Clone)]
pub struct KeyNames {
    hash: fn(&str) -> u64,
    by_hash: HashMap<u64, String>,
}

/// What [`KeyNames::admit`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admitted {
    /// The key already holds this hash.
    Known(u64),
    /// The key is new, and now holds this hash.
    New(u64),
}

impl Admitted {
    pub fn hash(self) -> u64 {
        match self {
            Admitted::Known(h) | Admitted::New(h) => h,
        }
    }
}

impl Default for KeyNames {
    fn default() -> Self {
        KeyNames::with_hash(key_hash)
    }
}

impl KeyNames {
    /// A registry over another hash function (tests use one that collides).
    pub fn with_hash(hash: fn(&str) -> u64) -> KeyNames {
        KeyNames {
            hash,
            by_hash: HashMap::new(),
        }
    }

    /// The hash of `key`, or the other key already holding it.
    pub fn admit(&mut self, key: &str) -> Result<Admitted, &str> {
        let h = (self.hash)(key);
        match self.by_hash.entry(h) {
            std::collections::hash_map::Entry::Occupied(e) => {
                if e.get() == key {
                    Ok(Admitted::Known(h))
                } else {
                    Err(e.into_mut().as_str())
                }
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(key.to_string());
                Ok(Admitted::New(h))
            }
        }
    }

    /// The hash `key` holds, if it was admitted.
    pub fn get(&self, key: &str) -> Option<u64> {
        let h = (self.hash)(key);
        (self.by_hash.get(&h).map(String::as_str) == Some(key)).then_some(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_length(key: &str) -> u64 {
        key.len() as u64
    }

    #[test]
    fn a_second_key_with_the_same_hash_is_refused_and_the_first_keeps_it() {
        let mut names = KeyNames::with_hash(by_length);
        assert_eq!(names.admit("ep-a"), Ok(Admitted::New(4)));
        assert_eq!(names.admit("ep-a"), Ok(Admitted::Known(4)));
        assert_eq!(names.admit("ep-b"), Err("ep-a"));
        assert_eq!(names.get("ep-a"), Some(4));
        assert_eq!(names.get("ep-b"), None);
        assert_eq!(names.admit("ep-bb"), Ok(Admitted::New(5)));
    }
}
