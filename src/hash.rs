//! The short content hash of a child as rendered (`chatbot.dev/spec-hash`)
//! and of a ConfigMap's data: the first 8 bytes of SHA-256, in hex. The
//! ground floor: it imports nothing of this crate.

use sha2::{Digest, Sha256};

/// Hex SHA-256 of `bytes`, shortened to 16 characters: enough to tell two
/// renderings apart, short enough to read in `kubectl describe`.
pub fn hash_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}
