//! Connection Secrets of the data stores: the generated credential, the
//! URL the app reads, and annotations that let a reconcile see, from the
//! key names and annotations alone (values are never cached), whether the
//! URL is current.

use std::collections::BTreeMap;

use super::{Endpoint, rds};

/// Annotation keys on a connection Secret.
pub mod keys {
    /// `host:port` the URL in the Secret points at.
    pub const ENDPOINT: &str = "chatbot.dev/endpoint";
    /// Identifier of the store whose credential the Secret holds.
    pub const CREDENTIALS_FOR: &str = "chatbot.dev/credentials-for";
}

/// Key holding the generated password or auth token.
pub const PASSWORD_KEY: &str = "password";
/// Key holding the user name, where there is one.
pub const USERNAME_KEY: &str = "username";

/// The kind of store a connection Secret is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    Database,
    Cache,
}

impl StoreKind {
    /// The environment variable (and Secret key) the app reads.
    pub fn url_key(self) -> &'static str {
        match self {
            StoreKind::Database => "DATABASE_URL",
            StoreKind::Cache => "REDIS_URL",
        }
    }

    /// `database` or `cache`, as in the spec and status.
    pub fn field(self) -> &'static str {
        match self {
            StoreKind::Database => "database",
            StoreKind::Cache => "cache",
        }
    }

    /// The connection URL; `password` is hex, so it needs no escaping.
    pub fn url(self, endpoint: &Endpoint, password: &str) -> String {
        match self {
            StoreKind::Database => format!(
                "postgresql://{}:{password}@{}:{}/{}?sslmode=require",
                rds::MASTER_USERNAME,
                endpoint.host,
                endpoint.port,
                rds::DATABASE_NAME
            ),
            // In-transit encryption is on: `rediss`.
            StoreKind::Cache => {
                format!("rediss://:{password}@{}:{}/0", endpoint.host, endpoint.port)
            }
        }
    }

    /// Keys of a new connection Secret: the credential, no URL yet.
    pub fn initial_data(self, password: String) -> BTreeMap<String, String> {
        let mut data = BTreeMap::from([(PASSWORD_KEY.to_string(), password)]);
        if self == StoreKind::Database {
            data.insert(USERNAME_KEY.into(), rds::MASTER_USERNAME.into());
        }
        data
    }
}

/// What the cache shows of a connection Secret: key names and annotations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecretView {
    pub keys: Vec<String>,
    pub annotations: BTreeMap<String, String>,
}

impl SecretView {
    /// Whether the Secret holds a URL for `endpoint` with the credential
    /// of `identifier`: nothing to write.
    pub fn is_current(&self, kind: StoreKind, identifier: &str, endpoint: &Endpoint) -> bool {
        self.keys.iter().any(|k| k == kind.url_key())
            && self.annotations.get(keys::ENDPOINT) == Some(&endpoint.to_string())
            && self.has_credentials_for(identifier)
    }

    /// Whether the Secret's password is known to be the store's.
    pub fn has_credentials_for(&self, identifier: &str) -> bool {
        self.annotations
            .get(keys::CREDENTIALS_FOR)
            .map(String::as_str)
            == Some(identifier)
    }

    pub fn has_password(&self) -> bool {
        self.keys.iter().any(|k| k == PASSWORD_KEY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> Endpoint {
        Endpoint {
            host: "db.example".into(),
            port: 5432,
        }
    }

    #[test]
    fn urls_carry_user_database_and_tls() {
        assert_eq!(
            StoreKind::Database.url(&endpoint(), "ab12"),
            "postgresql://chatbot:ab12@db.example:5432/chatbot?sslmode=require"
        );
        assert_eq!(
            StoreKind::Cache.url(
                &Endpoint {
                    host: "master.x".into(),
                    port: 6379
                },
                "ff"
            ),
            "rediss://:ff@master.x:6379/0"
        );
    }

    #[test]
    fn a_secret_is_current_only_with_url_endpoint_and_credentials() {
        let mut view = SecretView {
            keys: vec!["password".into(), "DATABASE_URL".into()],
            annotations: BTreeMap::from([
                (keys::ENDPOINT.to_string(), "db.example:5432".to_string()),
                (keys::CREDENTIALS_FOR.to_string(), "chatbot-a-b".to_string()),
            ]),
        };
        assert!(view.is_current(StoreKind::Database, "chatbot-a-b", &endpoint()));
        assert!(!view.is_current(StoreKind::Database, "chatbot-other", &endpoint()));
        let moved = Endpoint {
            host: "db2.example".into(),
            port: 5432,
        };
        assert!(!view.is_current(StoreKind::Database, "chatbot-a-b", &moved));
        view.keys.retain(|k| k != "DATABASE_URL");
        assert!(!view.is_current(StoreKind::Database, "chatbot-a-b", &endpoint()));
    }
}
