//! How the on-call reports write values: ages, dollars, numbers.

use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp};

/// How long ago `time` was, as people say it: `45s`, `12m`, `5h`, `3d`.
pub fn age(time: Option<&Time>, now: &Timestamp) -> String {
    let Some(time) = time else {
        return "-".into();
    };
    let seconds = now.as_second() - time.0.as_second();
    match seconds {
        s if s < 0 => "0s".into(),
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s if s < 2 * 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// Whole dollars; never "-0".
pub fn dollars(value: f64) -> String {
    format!("${:.0}", if value.abs() < 0.5 { 0.0 } else { value })
}

/// A number, or `-` when there is none.
pub fn number(value: Option<i64>) -> String {
    value.map_or_else(|| "-".into(), |v| v.to_string())
}

/// A measured value as the reports show it, or `-` when there is none.
pub fn measured(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), crate::analysis::shown)
}
