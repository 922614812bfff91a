//! Identifiers and tags of managed stores, derived from the owning
//! resource alone: the same resource always names the same store, so a
//! restart or a lost response looks it up instead of creating another.

use sha2::{Digest, Sha256};

/// Tag keys on every managed store.
pub mod tags {
    /// Namespace of the owning ChatbotDeployment.
    pub const NAMESPACE: &str = "chatbot.dev/namespace";
    /// Name of the owning ChatbotDeployment.
    pub const NAME: &str = "chatbot.dev/name";
    /// Uid of the owning ChatbotDeployment: present while it owns the store.
    pub const UID: &str = "chatbot.dev/uid";
    /// `chatbot-operator` while the operator manages the store.
    pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
    /// The snapshot an RDS instance was restored from by a restore.
    pub const RESTORED_FROM: &str = "chatbot.dev/restored-from";
    /// The restore that made an RDS instance.
    pub const RESTORE: &str = "chatbot.dev/restore";
}

/// The resource a managed store belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

impl Owner {
    /// An owner for tests: `namespace/name` with the uid `uid-1`.
    #[cfg(test)]
    pub fn example(namespace: &str, name: &str) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
            uid: "uid-1".into(),
        }
    }

    /// `namespace/name`.
    pub fn reference(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The RDS instance identifier: at most 63 characters.
    pub fn database_identifier(&self) -> String {
        identifier(&self.namespace, &self.name, 63)
    }

    /// The ElastiCache replication group id: at most 40 characters.
    pub fn cache_identifier(&self) -> String {
        identifier(&self.namespace, &self.name, 40)
    }

    /// Tags that tie a store to this resource.
    pub fn tags(&self) -> Vec<(String, String)> {
        vec![
            (tags::NAMESPACE.into(), self.namespace.clone()),
            (tags::NAME.into(), self.name.clone()),
            (tags::UID.into(), self.uid.clone()),
            (tags::MANAGED_BY.into(), crate::names::MANAGER.into()),
        ]
    }

    /// Tags removed when a store is retained: the store no longer belongs
    /// to a live resource, but still says where it came from.
    pub fn ownership_tag_keys() -> Vec<String> {
        vec![tags::UID.into(), tags::MANAGED_BY.into()]
    }
}

/// Whether a store with `store_tags` may be managed for `owner`: its uid
/// tag is ours, or it has none (created by hand or retained by an earlier
/// resource of the same namespace and name) and is adopted. Otherwise the
/// reference of the resource that owns it.
pub fn claim(owner: &Owner, store_tags: &[(String, String)]) -> Result<Claim, String> {
    let tag = |key: &str| {
        store_tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    match tag(tags::UID) {
        Some(uid) if uid == owner.uid => Ok(Claim::Owned),
        Some(uid) => Err(format!(
            "{}/{} (uid {uid})",
            tag(tags::NAMESPACE).unwrap_or("?"),
            tag(tags::NAME).unwrap_or("?")
        )),
        None => Ok(Claim::Adopt),
    }
}

/// How a found store relates to the resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    Owned,
    /// Not tagged for any live resource: tag it and manage it.
    Adopt,
}

/// `chatbot-<namespace>-<name>`, lower case, letters, digits and single
/// hyphens, starting with a letter; cut to `max` with a hash of the full
/// name so that two long names never meet.
fn identifier(namespace: &str, name: &str, max: usize) -> String {
    let raw = format!("chatbot-{namespace}-{name}");
    let mut cleaned = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '-'
        };
        if !(c == '-' && cleaned.ends_with('-')) {
            cleaned.push(c);
        }
    }
    let cleaned = cleaned.trim_end_matches('-').to_string();
    if cleaned.len() <= max {
        return cleaned;
    }
    let digest = Sha256::digest(format!("{namespace}/{name}").as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let keep = max - hash.len() - 1;
    format!("{}-{hash}", cleaned[..keep].trim_end_matches('-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(namespace: &str, name: &str) -> Owner {
        Owner::example(namespace, name)
    }

    fn valid(id: &str, max: usize) -> bool {
        id.len() <= max
            && id.starts_with(|c: char| c.is_ascii_lowercase())
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !id.contains("--")
            && !id.ends_with('-')
    }

    #[test]
    fn identifiers_are_stable_and_readable() {
        let o = owner("mindmitra", "mindmitra");
        assert_eq!(o.database_identifier(), "chatbot-mindmitra-mindmitra");
        assert_eq!(o.cache_identifier(), "chatbot-mindmitra-mindmitra");
        assert_eq!(
            o.database_identifier(),
            owner("mindmitra", "mindmitra").database_identifier()
        );
    }

    #[test]
    fn long_names_are_cut_with_a_hash_and_stay_valid_and_distinct() {
        let a = owner(
            "team-finance-production",
            "personal-finance-assistant-websocket-a",
        );
        let b = owner(
            "team-finance-production",
            "personal-finance-assistant-websocket-b",
        );
        for o in [&a, &b] {
            assert!(
                valid(&o.database_identifier(), 63),
                "{}",
                o.database_identifier()
            );
            assert!(valid(&o.cache_identifier(), 40), "{}", o.cache_identifier());
        }
        assert_ne!(a.cache_identifier(), b.cache_identifier());
        assert_ne!(a.database_identifier(), b.database_identifier());
    }

    #[test]
    fn dots_become_single_hyphens() {
        assert_eq!(
            owner("a.b", "c..d").database_identifier(),
            "chatbot-a-b-c-d"
        );
    }

    #[test]
    fn a_store_tagged_for_another_uid_is_not_claimed() {
        let o = owner("ns", "bot");
        let mine = o.tags();
        assert_eq!(claim(&o, &mine), Ok(Claim::Owned));
        let retained = vec![(tags::NAMESPACE.to_string(), "ns".to_string())];
        assert_eq!(claim(&o, &retained), Ok(Claim::Adopt));
        let other = vec![
            (tags::NAMESPACE.to_string(), "ns".to_string()),
            (tags::NAME.to_string(), "bot".to_string()),
            (tags::UID.to_string(), "uid-2".to_string()),
        ];
        assert_eq!(claim(&o, &other), Err("ns/bot (uid uid-2)".to_string()));
    }
}
