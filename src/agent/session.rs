//! The agent's own Postgres session: it exports the snapshot `pg_dump`
//! reads (`--snapshot`), so the row counts it takes in the same
//! transaction describe exactly the data in the dump; after a restore it
//! counts the rows of the restored database.

use std::sync::Arc;

use rustls::{
    DigitallySignedStruct, SignatureScheme,
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::{CryptoProvider, ring},
    pki_types::{CertificateDer, ServerName, UnixTime, pem::PemObject},
};
use tokio_postgres::{Client, NoTls, config::SslMode as PgSslMode};

use super::{
    AgentError,
    conninfo::{ConnInfo, SslMode},
};
use crate::backup::manifest::TableRows;

/// Opens a session to the database of `info`.
pub async fn connect(info: &ConnInfo) -> Result<Client, AgentError> {
    let mut config = tokio_postgres::Config::new();
    config
        .host(&info.host)
        .port(info.port)
        .user(&info.user)
        .dbname(&info.dbname)
        .application_name("chatbot-operator-backup-agent")
        .connect_timeout(std::time::Duration::from_secs(15));
    if let Some(password) = info.password() {
        config.password(password);
    }
    let failed = |e: tokio_postgres::Error| {
        AgentError::Database(format!(
            "connecting to {}:{}/{} as {}: {}",
            info.host,
            info.port,
            info.dbname,
            info.user,
            in_words(&e)
        ))
    };
    let client = match info.sslmode {
        SslMode::Disable => {
            config.ssl_mode(PgSslMode::Disable);
            let (client, connection) = config.connect(NoTls).await.map_err(failed)?;
            tokio::spawn(connection);
            client
        }
        mode => {
            config.ssl_mode(if mode == SslMode::Prefer {
                PgSslMode::Prefer
            } else {
                PgSslMode::Require
            });
            let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config(info)?);
            let (client, connection) = config.connect(tls).await.map_err(failed)?;
            tokio::spawn(connection);
            client
        }
    };
    Ok(client)
}

fn tls_config(info: &ConnInfo) -> Result<rustls::ClientConfig, AgentError> {
    let provider = Arc::new(ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| AgentError::Database(format!("TLS: {e}")))?;
    let config = match (&info.sslmode, &info.sslrootcert) {
        (SslMode::Verify, Some(path)) => {
            let mut roots = rustls::RootCertStore::empty();
            let certificates = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| AgentError::Config(format!("sslrootcert {}: {e}", path.display())))?;
            let (added, _) = roots.add_parsable_certificates(certificates);
            if added == 0 {
                return Err(AgentError::Config(format!(
                    "sslrootcert {}: no certificate in it",
                    path.display()
                )));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        _ => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unverified(provider)))
            .with_no_client_auth(),
    };
    Ok(config)
}

/// libpq's `require`: encrypted, the certificate taken as it is, but the
/// handshake's signatures still checked.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A read-only repeatable-read transaction whose snapshot is exported.
pub struct Snapshot {
    client: Client,
    pub id: String,
    pub server_version: i64,
}

impl Snapshot {
    pub async fn open(info: &ConnInfo) -> Result<Self, AgentError> {
        let client = connect(info).await?;
        client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await
            .map_err(query_failed("BEGIN"))?;
        let id: String = client
            .query_one("SELECT pg_export_snapshot()", &[])
            .await
            .map_err(query_failed("pg_export_snapshot()"))?
            .get(0);
        let server_version = server_version(&client).await?;
        Ok(Self {
            client,
            id,
            server_version,
        })
    }

    /// Rows of every table, in the exported snapshot.
    pub async fn row_counts(&self) -> Result<Vec<TableRows>, AgentError> {
        let tables = tables(&self.client).await?;
        count_rows(&self.client, tables).await
    }

    /// Ends the transaction (after `pg_dump` has finished with the snapshot).
    pub async fn close(self) {
        let _ = self.client.batch_execute("COMMIT").await;
    }
}

pub async fn server_version(client: &Client) -> Result<i64, AgentError> {
    let text: String = client
        .query_one("SHOW server_version_num", &[])
        .await
        .map_err(query_failed("SHOW server_version_num"))?
        .get(0);
    text.trim()
        .parse()
        .map_err(|_| AgentError::Database(format!("server_version_num `{text}` is not a number")))
}

/// The tables (plain and partitioned) outside the system schemas.
pub async fn tables(client: &Client) -> Result<Vec<(String, String)>, AgentError> {
    let rows = client
        .query(
            "SELECT n.nspname::text, c.relname::text FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') \
               AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
               AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' \
             ORDER BY 1, 2",
            &[],
        )
        .await
        .map_err(query_failed("listing tables"))?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// `count(*)` of each table; a table that is not there is left out.
pub async fn count_rows(
    client: &Client,
    tables: Vec<(String, String)>,
) -> Result<Vec<TableRows>, AgentError> {
    let mut counts = Vec::with_capacity(tables.len());
    for (schema, name) in tables {
        let sql = format!(
            "SELECT count(*) FROM {}.{}",
            quote_ident(&schema),
            quote_ident(&name)
        );
        let rows: i64 = client
            .query_one(&sql, &[])
            .await
            .map_err(query_failed("counting rows"))?
            .get(0);
        counts.push(TableRows { schema, name, rows });
    }
    Ok(counts)
}

/// Tables of `wanted` that exist in the database of `client`.
pub async fn existing(
    client: &Client,
    wanted: &[TableRows],
) -> Result<Vec<(String, String)>, AgentError> {
    let present = tables(client).await?;
    Ok(wanted
        .iter()
        .map(|t| (t.schema.clone(), t.name.clone()))
        .filter(|t| present.contains(t))
        .collect())
}

/// An SQL identifier, quoted.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn query_failed(what: &'static str) -> impl Fn(tokio_postgres::Error) -> AgentError {
    move |e| AgentError::Database(format!("{what}: {}", in_words(&e)))
}

/// What went wrong, in Postgres's own words: a server's error is its
/// severity, message and SQLSTATE (`tokio_postgres` alone says "db
/// error"), never its detail, which may quote row values; any other
/// error with its cause (a refused connection, a timeout).
pub fn in_words(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return format!(
            "{}: {} (SQLSTATE {})",
            db.severity(),
            db.message(),
            db.code().code()
        );
    }
    match std::error::Error::source(error) {
        Some(cause) => format!("{error}: {cause}"),
        None => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn identifiers_are_quoted_with_their_quotes_doubled() {
        assert_eq!(super::quote_ident("leads"), "\"leads\"");
        assert_eq!(super::quote_ident("we\"ird"), "\"we\"\"ird\"");
    }
}
