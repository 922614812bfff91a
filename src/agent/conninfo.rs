//! A Postgres URL from a Secret, taken apart once: the agent's own session
//! connects with it, and `pg_dump`/`pg_restore` get it as libpq's
//! environment (`PGHOST`, `PGPASSWORD`, …), never as an argument a process
//! listing would show. Its `Debug` and every error leave the password out.

use std::{fmt, path::PathBuf};

use super::AgentError;

/// How the connection is encrypted, as libpq's `sslmode` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    /// TLS when the server offers it.
    Prefer,
    /// TLS, the certificate not checked (libpq's `require`).
    Require,
    /// TLS, the certificate checked against `sslrootcert`, host name included.
    Verify,
}

#[derive(Clone, PartialEq, Eq)]
pub struct ConnInfo {
    pub host: String,
    pub port: u16,
    pub user: String,
    password: Option<String>,
    pub dbname: String,
    pub sslmode: SslMode,
    sslmode_text: String,
    pub sslrootcert: Option<PathBuf>,
}

impl fmt::Debug for ConnInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnInfo")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("dbname", &self.dbname)
            .field("sslmode", &self.sslmode)
            .finish()
    }
}

impl ConnInfo {
    /// Reads `postgres://user:password@host:port/db?sslmode=…&sslrootcert=…`
    /// from the variable `var`. Errors name the variable and the part that
    /// is wrong, never the value.
    pub fn parse(text: &str, var: &str) -> Result<Self, AgentError> {
        let bad = |what: &str| AgentError::Config(format!("{var}: {what}"));
        let url = url::Url::parse(text.trim()).map_err(|e| bad(&format!("not a URL ({e})")))?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(bad("the scheme must be postgres:// or postgresql://"));
        }
        let decode = |s: &str| {
            percent_decode(s).ok_or_else(|| bad("a percent-escape in the URL is not UTF-8"))
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?
            .trim_matches(['[', ']'])
            .to_string();
        let user = decode(url.username())?;
        if user.is_empty() {
            return Err(bad("no user"));
        }
        let password = url.password().map(decode).transpose()?;
        let dbname = decode(url.path().trim_start_matches('/'))?;
        if dbname.is_empty() {
            return Err(bad("no database name in the path"));
        }
        let mut sslmode_text = "prefer".to_string();
        let mut sslrootcert = None;
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "sslmode" => sslmode_text = value.into_owned(),
                "sslrootcert" => sslrootcert = Some(PathBuf::from(value.as_ref())),
                "connect_timeout" | "application_name" | "options" => {}
                other => return Err(bad(&format!("unsupported parameter `{other}`"))),
            }
        }
        let sslmode = match sslmode_text.as_str() {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" | "verify-full" => SslMode::Verify,
            other => {
                return Err(bad(&format!(
                    "sslmode `{other}` is not one of disable, allow, prefer, require, verify-ca, verify-full"
                )));
            }
        };
        if sslmode == SslMode::Verify && sslrootcert.is_none() {
            return Err(bad(&format!(
                "sslmode={sslmode_text} needs sslrootcert=<path of the CA bundle> in the URL"
            )));
        }
        Ok(Self {
            host,
            port: url.port().unwrap_or(5432),
            user,
            password,
            dbname,
            sslmode,
            sslmode_text,
            sslrootcert,
        })
    }

    /// The same server and credentials, another database.
    pub fn with_dbname(&self, dbname: &str) -> Self {
        Self {
            dbname: dbname.to_string(),
            ..self.clone()
        }
    }

    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The same connection as libpq's environment, for `pg_dump` and
    /// `pg_restore`.
    pub fn libpq_env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("PGHOST", self.host.clone()),
            ("PGPORT", self.port.to_string()),
            ("PGUSER", self.user.clone()),
            ("PGDATABASE", self.dbname.clone()),
            ("PGSSLMODE", self.sslmode_text.clone()),
        ];
        if let Some(password) = &self.password {
            env.push(("PGPASSWORD", password.clone()));
        }
        if let Some(cert) = &self.sslrootcert {
            env.push(("PGSSLROOTCERT", cert.display().to_string()));
        }
        env
    }
}

fn percent_decode(text: &str) -> Option<String> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(|text| text.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_becomes_libpq_environment_with_escapes_undone() {
        let info = ConnInfo::parse(
            "postgresql://chat%40bot:p%2Fss%3Aw@db.example:6432/app?sslmode=require",
            "DIRECT_DATABASE_URL",
        )
        .unwrap();
        assert_eq!(info.user, "chat@bot");
        assert_eq!(info.password(), Some("p/ss:w"));
        assert_eq!(info.sslmode, SslMode::Require);
        assert_eq!(
            info.libpq_env(),
            [
                ("PGHOST", "db.example".to_string()),
                ("PGPORT", "6432".to_string()),
                ("PGUSER", "chat@bot".to_string()),
                ("PGDATABASE", "app".to_string()),
                ("PGSSLMODE", "require".to_string()),
                ("PGPASSWORD", "p/ss:w".to_string()),
            ]
        );
        assert!(!format!("{info:?}").contains("p/ss"), "{info:?}");
    }

    #[test]
    fn bad_urls_name_the_variable_and_the_part_never_the_password() {
        let cases = [
            (
                "mysql://u:hunter2@h/db",
                "DIRECT_DATABASE_URL: the scheme must be postgres:// or postgresql://",
            ),
            (
                "postgres://u:hunter2@h",
                "DIRECT_DATABASE_URL: no database name in the path",
            ),
            ("postgres://:hunter2@h/db", "DIRECT_DATABASE_URL: no user"),
            (
                "postgres://u:hunter2@h/db?sslmode=verify-full",
                "DIRECT_DATABASE_URL: sslmode=verify-full needs sslrootcert=<path of the CA bundle> in the URL",
            ),
            (
                "postgres://u:hunter2@h/db?sslmode=sometimes",
                "DIRECT_DATABASE_URL: sslmode `sometimes` is not one of disable, allow, prefer, require, verify-ca, verify-full",
            ),
            (
                "postgres://u:hunter2@h/db?target_session_attrs=any",
                "DIRECT_DATABASE_URL: unsupported parameter `target_session_attrs`",
            ),
        ];
        for (url, expected) in cases {
            let error = ConnInfo::parse(url, "DIRECT_DATABASE_URL")
                .unwrap_err()
                .to_string();
            assert_eq!(error, expected);
            assert!(!error.contains("hunter2"));
        }
        let error = ConnInfo::parse("not a url hunter2", "X")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("X: not a URL"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }
}
