//! What a backup is, as written beside its dump: the manifest, where both
//! objects live, and whether a finished dump is good enough to be called a
//! backup. Pure: the agent feeds it what it measured.
//!
//! A backup exists when its manifest exists. The agent writes the manifest
//! last, after the dump's upload completed and the dump was judged good, so
//! a failed or interrupted run never leaves anything that lists as a backup.

use serde::{Deserialize, Serialize};

use jiff::Timestamp;

/// The manifest's format, so a later agent can read an older one.
pub const FORMAT: &str = "chatbot.dev/backup-manifest/v1";

/// Name of the dump object inside a backup's folder.
pub const DUMP_FILE: &str = "dump.pgcustom";
/// Name of the manifest object inside a backup's folder.
pub const MANIFEST_FILE: &str = "manifest.json";

/// A dump smaller than this share of the previous backup's is refused,
/// unless the rows shrank as much (data was deleted) or the run was told to
/// expect it.
pub const SHRINK_RATIO: f64 = 0.1;

/// The manifest of one backup.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub format: String,
    pub id: String,
    pub namespace: String,
    pub deployment: String,
    /// Revision of the app that was serving (or about to roll out) when the
    /// backup was taken.
    pub revision: Option<i64>,
    pub spec_hash: Option<String>,
    /// Why it was taken: `scheduled`, `pre-rollout`, `on-demand`, `safety`.
    pub reason: String,
    pub database: String,
    /// `SHOW server_version_num`, e.g. 150018.
    pub server_version: i64,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub dump: Dump,
    /// Rows per table, counted in the snapshot the dump was taken from.
    pub tables: Vec<TableRows>,
}

/// The dump object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dump {
    pub bytes: u64,
    pub sha256: String,
    /// Entries in `pg_restore --list` of the dump.
    pub toc_entries: u64,
    pub parts: u32,
}

/// Rows of one table.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TableRows {
    pub schema: String,
    pub name: String,
    pub rows: i64,
}

impl Manifest {
    /// Total rows over all tables.
    pub fn rows(&self) -> i64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

/// Where the objects of backup `id` of a deployment live, under the
/// destination's prefix: `<prefix>/<namespace>/<deployment>/<id>/…`.
pub fn folder(prefix: &str, namespace: &str, deployment: &str, id: &str) -> String {
    format!("{}{id}/", deployment_folder(prefix, namespace, deployment))
}

/// The folder holding every backup of a deployment.
pub fn deployment_folder(prefix: &str, namespace: &str, deployment: &str) -> String {
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        format!("{namespace}/{deployment}/")
    } else {
        format!("{prefix}/{namespace}/{deployment}/")
    }
}

/// A backup id: the UTC start time to the second, sortable as text, and the
/// revision it belongs to (`20261201-020000-r7`). Lower case and dashes
/// only, so it also names the backup's Job.
pub fn backup_id(started_at: Timestamp, revision: Option<i64>) -> String {
    let time = started_at.strftime("%Y%m%d-%H%M%S").to_string();
    match revision {
        Some(revision) => format!("{time}-r{revision}"),
        None => time,
    }
}

/// Entries of a `pg_restore --list` listing: every line that is not a
/// comment or blank.
pub fn toc_entries(listing: &str) -> u64 {
    listing
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with(';'))
        .count() as u64
}

/// What a finished dump run measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Measured {
    /// `pg_dump`'s exit: `None` when it was killed by a signal.
    pub exit_code: Option<i32>,
    pub bytes: u64,
    pub toc_entries: u64,
    pub rows: i64,
}

/// The previous good backup, for the size check.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Previous {
    pub bytes: u64,
    pub rows: i64,
}

/// Whether a finished dump is a backup. `expect_shrink` is the run's word
/// that a much smaller dump is expected (a database emptied on purpose).
pub fn judge(
    measured: &Measured,
    previous: Option<Previous>,
    expect_shrink: bool,
) -> Result<(), String> {
    match measured.exit_code {
        Some(0) => {}
        Some(code) => return Err(format!("pg_dump exited with status {code}")),
        None => return Err("pg_dump was killed before it finished".into()),
    }
    if measured.bytes == 0 {
        return Err("the dump is empty (0 bytes)".into());
    }
    if measured.toc_entries == 0 {
        return Err(
            "the dump's table of contents is empty (pg_restore --list lists nothing)".into(),
        );
    }
    if let Some(previous) = previous
        && !expect_shrink
        && previous.bytes > 0
        && (measured.bytes as f64) < previous.bytes as f64 * SHRINK_RATIO
    {
        let rows_shrank =
            previous.rows > 0 && (measured.rows as f64) < previous.rows as f64 * SHRINK_RATIO * 2.0;
        if !rows_shrank {
            return Err(format!(
                "the dump is {} bytes, {:.1} % of the previous backup's {} bytes, while the \
                 database holds {} rows against {} then: refused as an incomplete dump \
                 (a Backup action with expectShrink: true accepts it)",
                measured.bytes,
                measured.bytes as f64 * 100.0 / previous.bytes as f64,
                previous.bytes,
                measured.rows,
                previous.rows,
            ));
        }
    }
    Ok(())
}

/// A difference between a restored database and its manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mismatch {
    Rows {
        schema: String,
        name: String,
        expected: i64,
        found: Option<i64>,
    },
    TocEntries {
        expected: u64,
        found: u64,
    },
    Sha256 {
        expected: String,
        found: String,
    },
    Bytes {
        expected: u64,
        found: u64,
    },
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mismatch::Rows {
                schema,
                name,
                expected,
                found: Some(found),
            } => write!(
                f,
                "table {schema}.{name}: {found} rows, the manifest says {expected}"
            ),
            Mismatch::Rows {
                schema,
                name,
                expected,
                found: None,
            } => write!(
                f,
                "table {schema}.{name} is missing (the manifest says {expected} rows)"
            ),
            Mismatch::TocEntries { expected, found } => write!(
                f,
                "the dump lists {found} entries, the manifest says {expected}"
            ),
            Mismatch::Sha256 { expected, found } => write!(
                f,
                "the dump's sha256 is {found}, the manifest says {expected}: the object is corrupted"
            ),
            Mismatch::Bytes { expected, found } => write!(
                f,
                "the dump is {found} bytes, the manifest says {expected}: the object is truncated or corrupted"
            ),
        }
    }
}

/// What a restore read and found, against what the manifest promised.
pub fn compare(
    manifest: &Manifest,
    bytes: u64,
    sha256: &str,
    toc_entries: u64,
    rows: &[TableRows],
) -> Vec<Mismatch> {
    let mut mismatches = Vec::new();
    if bytes != manifest.dump.bytes {
        mismatches.push(Mismatch::Bytes {
            expected: manifest.dump.bytes,
            found: bytes,
        });
    }
    if sha256 != manifest.dump.sha256 {
        mismatches.push(Mismatch::Sha256 {
            expected: manifest.dump.sha256.clone(),
            found: sha256.to_string(),
        });
    }
    if toc_entries != manifest.dump.toc_entries {
        mismatches.push(Mismatch::TocEntries {
            expected: manifest.dump.toc_entries,
            found: toc_entries,
        });
    }
    for table in &manifest.tables {
        let found = rows
            .iter()
            .find(|r| r.schema == table.schema && r.name == table.name)
            .map(|r| r.rows);
        if found != Some(table.rows) {
            mismatches.push(Mismatch::Rows {
                schema: table.schema.clone(),
                name: table.name.clone(),
                expected: table.rows,
                found,
            });
        }
    }
    mismatches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(exit_code: Option<i32>, bytes: u64, toc_entries: u64, rows: i64) -> Measured {
        Measured {
            exit_code,
            bytes,
            toc_entries,
            rows,
        }
    }

    #[test]
    fn a_dump_is_a_backup_only_when_pg_dump_succeeded_and_listed_something() {
        let previous = Some(Previous {
            bytes: 1_000_000,
            rows: 10_000,
        });
        let cases = [
            (measured(Some(0), 900_000, 12, 9_000), Ok(())),
            (
                measured(Some(1), 900_000, 12, 9_000),
                Err("pg_dump exited with status 1"),
            ),
            (
                measured(None, 400_000, 12, 9_000),
                Err("pg_dump was killed before it finished"),
            ),
            (
                measured(Some(0), 0, 0, 9_000),
                Err("the dump is empty (0 bytes)"),
            ),
            (
                measured(Some(0), 900, 0, 9_000),
                Err("the dump's table of contents is empty (pg_restore --list lists nothing)"),
            ),
        ];
        for (measured, expected) in cases {
            assert_eq!(
                judge(&measured, previous, false),
                expected.map_err(str::to_string),
                "{measured:?}"
            );
        }
    }

    #[test]
    fn a_far_smaller_dump_is_refused_unless_the_rows_shrank_as_much_or_it_was_expected() {
        let previous = Some(Previous {
            bytes: 1_000_000,
            rows: 10_000,
        });
        let small_same_rows = measured(Some(0), 50_000, 12, 10_000);
        let error = judge(&small_same_rows, previous, false).unwrap_err();
        assert!(
            error.contains("5.0 % of the previous backup's 1000000 bytes"),
            "{error}"
        );
        assert!(error.contains("10000 rows against 10000"), "{error}");
        assert_eq!(judge(&small_same_rows, previous, true), Ok(()));
        // The rows went down as much: data was deleted, the dump is right.
        assert_eq!(
            judge(&measured(Some(0), 50_000, 12, 500), previous, false),
            Ok(())
        );
        // No previous backup, or a previous one of 0 bytes: nothing to compare.
        assert_eq!(judge(&small_same_rows, None, false), Ok(()));
        // At the ratio exactly it is accepted.
        assert_eq!(
            judge(&measured(Some(0), 100_000, 12, 10_000), previous, false),
            Ok(())
        );
    }

    #[test]
    fn the_listing_counts_entries_not_comments() {
        let listing = ";\n; Archive created at 2026-12-01 13:10:00 UTC\n;     dbname: app\n;\n\
                       215; 1259 16384 TABLE public t postgres\n\
                       3335; 0 16384 TABLE DATA public t postgres\n\n\
                       3188; 2606 16389 CONSTRAINT public t t_pkey postgres\n";
        assert_eq!(toc_entries(listing), 3);
        assert_eq!(toc_entries(";\n; nothing\n"), 0);
    }

    #[test]
    fn ids_sort_by_time_and_name_their_revision() {
        let at: Timestamp = "2026-12-01T02:00:07Z".parse().unwrap();
        assert_eq!(backup_id(at, Some(7)), "20261201-020007-r7");
        assert_eq!(backup_id(at, None), "20261201-020007");
        let later: Timestamp = "2026-12-01T10:00:00Z".parse().unwrap();
        assert!(backup_id(at, Some(70)) < backup_id(later, Some(7)));
        assert_eq!(
            folder("backups/", "brigade", "sales", "20261201-020007-r7"),
            "backups/brigade/sales/20261201-020007-r7/"
        );
        assert_eq!(folder("", "b", "s", "x"), "b/s/x/");
    }

    fn manifest() -> Manifest {
        Manifest {
            format: FORMAT.into(),
            id: "x".into(),
            namespace: "ns".into(),
            deployment: "d".into(),
            revision: Some(3),
            spec_hash: None,
            reason: "scheduled".into(),
            database: "app".into(),
            server_version: 150018,
            started_at: Timestamp::UNIX_EPOCH,
            finished_at: Timestamp::UNIX_EPOCH,
            dump: Dump {
                bytes: 100,
                sha256: "ab".into(),
                toc_entries: 4,
                parts: 1,
            },
            tables: vec![
                TableRows {
                    schema: "public".into(),
                    name: "leads".into(),
                    rows: 10,
                },
                TableRows {
                    schema: "public".into(),
                    name: "notes".into(),
                    rows: 0,
                },
            ],
        }
    }

    #[test]
    fn a_restore_is_compared_with_every_promise_of_the_manifest() {
        let manifest = manifest();
        let rows = manifest.tables.clone();
        assert_eq!(compare(&manifest, 100, "ab", 4, &rows), vec![]);
        let found = compare(&manifest, 99, "cd", 3, &rows[..1]);
        let text: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "the dump is 99 bytes, the manifest says 100: the object is truncated or corrupted",
                "the dump's sha256 is cd, the manifest says ab: the object is corrupted",
                "the dump lists 3 entries, the manifest says 4",
                "table public.notes is missing (the manifest says 0 rows)",
            ]
        );
    }
}
