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
    /// The database the URLs lead to, when a restore switched it from the
    /// one the operator created.
    pub const DATABASE: &str = "chatbot.dev/database";
}

/// Key holding the generated password or auth token.
pub const PASSWORD_KEY: &str = "password";
/// Key holding the user name, where there is one.
pub const USERNAME_KEY: &str = "username";
/// Key holding the database URL that bypasses the pooler.
pub const DIRECT_URL_KEY: &str = "DIRECT_DATABASE_URL";

/// Where the URLs of a connection Secret lead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The store's endpoint.
    pub store: Endpoint,
    /// The store speaks TLS (RDS, ElastiCache) or not (in-cluster).
    pub tls: bool,
    /// PgBouncer in front of the database, when enabled.
    pub pooler: Option<Endpoint>,
    /// The database on the server, when not the one the operator created
    /// (a restore switched to it).
    pub database: Option<String>,
}

impl Route {
    /// A store reached directly.
    pub fn direct(store: Endpoint, tls: bool) -> Self {
        Self {
            store,
            tls,
            pooler: None,
            database: None,
        }
    }
}

/// What the `chatbot.dev/endpoint` annotation records: the store, and the
/// pooler in front of it.
impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.store)?;
        if let Some(database) = &self.database {
            write!(f, "/{database}")?;
        }
        match &self.pooler {
            Some(pooler) => write!(f, " via {pooler}"),
            None => Ok(()),
        }
    }
}

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

    /// The Secret's URL keys for `route`; `password` is hex, so it needs
    /// no escaping. A database gets `DATABASE_URL` (through the pooler when
    /// there is one) and `DIRECT_DATABASE_URL` (the store itself, for
    /// migrations and the pooler).
    pub fn urls(self, route: &Route, password: &str) -> BTreeMap<String, String> {
        match self {
            StoreKind::Database => {
                let database = route.database.as_deref().unwrap_or(rds::DATABASE_NAME);
                let url = |endpoint: &Endpoint, tls: bool| {
                    format!(
                        "postgresql://{}:{password}@{}:{}/{database}?sslmode={}",
                        rds::MASTER_USERNAME,
                        endpoint.host,
                        endpoint.port,
                        if tls { "require" } else { "disable" }
                    )
                };
                let direct = url(&route.store, route.tls);
                // PgBouncer speaks TLS to RDS, plain TCP inside the cluster.
                let app = route
                    .pooler
                    .as_ref()
                    .map(|pooler| url(pooler, false))
                    .unwrap_or_else(|| direct.clone());
                BTreeMap::from([
                    (self.url_key().to_string(), app),
                    (DIRECT_URL_KEY.to_string(), direct),
                ])
            }
            StoreKind::Cache => {
                let scheme = if route.tls { "rediss" } else { "redis" };
                let url = format!(
                    "{scheme}://:{password}@{}:{}/0",
                    route.store.host, route.store.port
                );
                BTreeMap::from([(self.url_key().to_string(), url)])
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
    /// Whether the Secret holds URLs for `route` with the credential of
    /// `identifier`: nothing to write.
    pub fn is_current(&self, kind: StoreKind, identifier: &str, route: &Route) -> bool {
        self.keys.iter().any(|k| k == kind.url_key())
            && self.annotations.get(keys::ENDPOINT) == Some(&route.to_string())
            && self.has_credentials_for(identifier)
    }

    /// Whether the Secret's password is known to be the store's.
    pub fn has_credentials_for(&self, identifier: &str) -> bool {
        self.annotations
            .get(keys::CREDENTIALS_FOR)
            .map(String::as_str)
            == Some(identifier)
    }

    /// The store the Secret's password (and URLs) are for.
    pub fn credentials_for(&self) -> Option<&str> {
        self.annotations
            .get(keys::CREDENTIALS_FOR)
            .map(String::as_str)
    }

    /// The database the Secret's URLs lead to, when a restore switched it.
    pub fn database(&self) -> Option<&str> {
        self.annotations.get(keys::DATABASE).map(String::as_str)
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
        let urls = StoreKind::Database.urls(&Route::direct(endpoint(), true), "ab12");
        assert_eq!(
            urls["DATABASE_URL"],
            "postgresql://chatbot:ab12@db.example:5432/chatbot?sslmode=require"
        );
        assert_eq!(urls["DATABASE_URL"], urls["DIRECT_DATABASE_URL"]);
        let cache = Endpoint {
            host: "master.x".into(),
            port: 6379,
        };
        assert_eq!(
            StoreKind::Cache.urls(&Route::direct(cache.clone(), true), "ff")["REDIS_URL"],
            "rediss://:ff@master.x:6379/0"
        );
        assert_eq!(
            StoreKind::Cache.urls(&Route::direct(cache, false), "ff")["REDIS_URL"],
            "redis://:ff@master.x:6379/0"
        );
    }

    #[test]
    fn a_pooled_database_url_leads_to_pgbouncer_and_the_direct_one_to_the_store() {
        let route = Route {
            store: endpoint(),
            tls: true,
            pooler: Some(Endpoint {
                host: "bot-pgbouncer".into(),
                port: 5432,
            }),
            database: None,
        };
        let urls = StoreKind::Database.urls(&route, "ab12");
        assert_eq!(
            urls["DATABASE_URL"],
            "postgresql://chatbot:ab12@bot-pgbouncer:5432/chatbot?sslmode=disable"
        );
        assert_eq!(
            urls["DIRECT_DATABASE_URL"],
            "postgresql://chatbot:ab12@db.example:5432/chatbot?sslmode=require"
        );
        assert_eq!(route.to_string(), "db.example:5432 via bot-pgbouncer:5432");

        // After a restore both lead to the restored database, and the
        // endpoint annotation changes with them.
        let restored = Route {
            database: Some("chatbot_20261201_031500_ab12cd".into()),
            ..route
        };
        let urls = StoreKind::Database.urls(&restored, "ab12");
        assert!(
            urls["DATABASE_URL"].contains("@bot-pgbouncer:5432/chatbot_20261201_031500_ab12cd?")
        );
        assert!(
            urls["DIRECT_DATABASE_URL"]
                .contains("@db.example:5432/chatbot_20261201_031500_ab12cd?")
        );
        assert_eq!(
            restored.to_string(),
            "db.example:5432/chatbot_20261201_031500_ab12cd via bot-pgbouncer:5432"
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
        let route = Route::direct(endpoint(), true);
        assert!(view.is_current(StoreKind::Database, "chatbot-a-b", &route));
        assert!(!view.is_current(StoreKind::Database, "chatbot-other", &route));
        let moved = Route::direct(
            Endpoint {
                host: "db2.example".into(),
                port: 5432,
            },
            true,
        );
        assert!(!view.is_current(StoreKind::Database, "chatbot-a-b", &moved));
        let pooled = Route {
            pooler: Some(Endpoint {
                host: "bot-pgbouncer".into(),
                port: 5432,
            }),
            ..route.clone()
        };
        assert!(
            !view.is_current(StoreKind::Database, "chatbot-a-b", &pooled),
            "turning the pooler on rewrites the URL"
        );
        view.keys.retain(|k| k != "DATABASE_URL");
        assert!(!view.is_current(StoreKind::Database, "chatbot-a-b", &route));
    }
}
