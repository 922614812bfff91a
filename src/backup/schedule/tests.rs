use jiff::{SignedDuration, Timestamp};

use super::*;

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn daily() -> Schedule {
    Schedule::parse("0 3 * * *", None).unwrap()
}

#[test]
fn a_window_is_due_once_then_not_until_the_next() {
    let created = at("2026-11-30T12:00:00Z");
    // Before the first window after creation: nothing owed.
    assert_eq!(
        daily().due(None, created, at("2026-11-30T20:00:00Z")),
        Due::Later {
            next: at("2026-12-01T03:00:00Z")
        }
    );
    // The window has come.
    let now = at("2026-12-01T03:00:20Z");
    let window = at("2026-12-01T03:00:00Z");
    assert_eq!(
        daily().due(None, created, now),
        Due::Now { window, missed: 0 }
    );
    // Taken for that window: nothing more until tomorrow.
    assert_eq!(
        daily().due(Some(window), created, now),
        Due::Later {
            next: at("2026-12-02T03:00:00Z")
        }
    );
}

#[test]
fn windows_missed_while_down_run_once_not_as_a_backlog() {
    let created = at("2026-01-01T00:00:00Z");
    let last = at("2026-11-20T03:00:00Z");
    let now = at("2026-12-01T10:00:00Z");
    // Ten days down: one backup for the newest window, the ten before it
    // reported missed.
    assert_eq!(
        daily().due(Some(last), created, now),
        Due::Now {
            window: at("2026-12-01T03:00:00Z"),
            missed: 10
        }
    );
    // An hourly schedule a year behind counts at most a thousand, and still
    // asks for one backup.
    let hourly = Schedule::parse("@hourly", None).unwrap();
    let Due::Now { missed, window } = hourly.due(Some(at("2025-12-01T00:00:00Z")), created, now)
    else {
        panic!("due");
    };
    assert_eq!(window, at("2026-12-01T10:00:00Z"));
    assert_eq!(missed, 1_000);
}

#[test]
fn the_schedule_runs_in_its_time_zone_across_daylight_saving() {
    let berlin = Schedule::parse("0 3 * * *", Some("Europe/Berlin")).unwrap();
    // 03:00 in Berlin is 02:00 UTC in winter, 01:00 UTC in summer.
    assert_eq!(
        berlin.next_after(at("2026-01-10T12:00:00Z")),
        Some(at("2026-01-11T02:00:00Z"))
    );
    assert_eq!(
        berlin.next_after(at("2026-07-10T12:00:00Z")),
        Some(at("2026-07-11T01:00:00Z"))
    );
    // The night clocks go back, the day is 25 hours long.
    assert_eq!(
        berlin.period(at("2026-10-25T12:00:00Z")),
        SignedDuration::from_hours(24)
    );
    assert_eq!(
        berlin.period(at("2026-10-25T00:30:00Z")),
        SignedDuration::from_hours(25)
    );
}

#[test]
fn a_backup_is_stale_after_one_and_a_half_periods_or_when_there_is_none() {
    let now = at("2026-12-01T12:00:00Z");
    assert!(daily().stale(None, now));
    assert!(!daily().stale(Some(at("2026-11-30T03:00:00Z")), now)); // 33 h
    assert!(daily().stale(Some(at("2026-11-29T23:00:00Z")), now)); // 37 h
    let weekly = Schedule::parse("@weekly", None).unwrap();
    assert!(!weekly.stale(Some(at("2026-11-23T00:00:00Z")), now)); // 8.5 days
    assert!(weekly.stale(Some(at("2026-11-20T00:00:00Z")), now)); // 11.5 days
}

#[test]
fn a_bad_schedule_or_zone_names_its_field() {
    let error = Schedule::parse("every night", None).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("spec.backup.schedule: \"every night\""),
        "{error}"
    );
    let error = Schedule::parse("0 3 * * *", Some("Mars/Olympus")).unwrap_err();
    assert_eq!(
        error.to_string(),
        "spec.backup.timeZone: \"Mars/Olympus\" is not a time zone name such as Europe/Berlin"
    );
    let error = Schedule::parse("0 3 31 2 *", None).unwrap_err();
    assert!(matches!(error, ScheduleError::Never { .. }), "{error}");
}
