//! Text that reaches a status, an Event or a notification, with what must
//! never be there taken out: credentials (in URLs, in `password=…`-style
//! assignments, long tokens) and, in what Postgres's tools print, the
//! lines that may quote row values.

use std::sync::LazyLock;

use regex::Regex;

static URL_CREDENTIALS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)([a-z][a-z0-9+.-]*://)[^/\s@]*@").expect("valid regex"));
static ASSIGNMENTS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b([a-z0-9_]*(?:password|passwd|secret|token|api[_-]?key)[a-z0-9_]*)(["']?\s*[=:]\s*["']?)[^\s"',;]+"#)
        .expect("valid regex")
});
/// Generated passwords and most keys: long runs of hex or base64.
static LONG_TOKENS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[A-Za-z0-9+/_-]{32,}={0,2}").expect("valid regex"));

/// `text` with URL credentials, `password=…`-style assignments and long
/// tokens replaced by `[redacted]`.
pub fn credentials(text: &str) -> String {
    let text = URL_CREDENTIALS.replace_all(text, "${1}[redacted]@");
    let text = ASSIGNMENTS.replace_all(&text, "${1}${2}[redacted]");
    LONG_TOKENS.replace_all(&text, "[redacted]").into_owned()
}

/// Labels of the lines Postgres and its tools print that may quote row
/// values or the statement that carried them (`DETAIL:  Key (email)=(…)`,
/// `CONTEXT:  COPY leads, line 5: "…"`, `Command was: INSERT …`).
static ROW_VALUE_LINES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?im)^((?:pg_[a-z]+:\s*)?(?:detail|context|command was|query was|line \d+)\s*:).*$",
    )
    .expect("valid regex")
});

/// What `pg_dump`, `pg_restore` or a server printed, with the lines that
/// may quote row values cut to their label, then credentials taken out.
pub fn postgres_output(text: &str) -> String {
    let text = ROW_VALUE_LINES.replace_all(text, "${1} [left out: it may quote row values]");
    credentials(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_a_log_line_are_redacted() {
        let password = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let line = format!(
            "sqlalchemy.exc.OperationalError: could not connect to postgresql://chatbot:{password}@db:5432/chatbot"
        );
        let out = credentials(&line);
        assert!(!out.contains(password), "{out}");
        assert!(
            out.contains("postgresql://[redacted]@db:5432/chatbot"),
            "{out}"
        );

        let out = credentials("settings: DB_PASSWORD=hunter2 OPENAI_API_KEY: 'sk-abc' user=alice");
        assert!(!out.contains("hunter2") && !out.contains("sk-abc"), "{out}");
        assert!(out.contains("user=alice"), "ordinary words stay: {out}");

        let out = credentials(&format!("token {password} rejected"));
        assert_eq!(out, "token [redacted] rejected");
    }

    #[test]
    fn an_ordinary_error_reads_as_it_was() {
        let line = "alembic.util.exc.CommandError: Can't locate revision identified by 'a1b2c3'";
        assert_eq!(credentials(line), line);
    }

    #[test]
    fn what_postgres_prints_loses_the_lines_that_quote_rows() {
        let stderr = "pg_restore: error: could not execute query: ERROR:  duplicate key value violates unique constraint \"leads_pkey\"\nDETAIL:  Key (email)=(asha@example.in) already exists.\nCONTEXT:  COPY leads, line 5: \"5\tasha@example.in\t+91 98200 00000\"\npg_restore: detail: Command was: INSERT INTO leads VALUES (5, 'asha@example.in');\npg_restore: warning: errors ignored on restore: 1";
        let out = postgres_output(stderr);
        for value in ["asha@example.in", "98200", "INSERT INTO"] {
            assert!(!out.contains(value), "{value} in {out}");
        }
        assert!(
            out.contains("duplicate key value violates unique constraint"),
            "{out}"
        );
        assert!(
            out.contains("DETAIL: [left out: it may quote row values]"),
            "{out}"
        );
        assert!(out.contains("errors ignored on restore: 1"), "{out}");
        let password = "x".repeat(40);
        assert!(
            !postgres_output(&format!(
                "pg_dump: connection to postgresql://team:{password}@db failed"
            ))
            .contains(&password)
        );
    }
}
