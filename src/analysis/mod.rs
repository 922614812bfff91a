//! Analysis of a candidate revision: which Prometheus queries to run, with
//! which thresholds, and how measurements add up to a verdict. Pure; the
//! queries themselves go through [`prometheus`].
//!
//! Honest by construction, avoiding the known failures of mature tools: an
//! empty result or NaN is *inconclusive* (never a pass, never a crash); a
//! round that could not be measured (Prometheus did not answer) is never a
//! pass and does not count toward the rounds a run needs — it is measured
//! again, and too many such rounds in a row pause the run as inconclusive;
//! every measurement keeps the resolved query, the value and the
//! threshold, so a status can say exactly why.

mod checks;
pub mod prometheus;
mod verdict;

pub use checks::{BUILTINS, Check, CheckError, Selector, builtin, checks, window};
pub use verdict::{
    Measurement, QueryResult, RunPolicy, RunVerdict, Verdict, judge, measured_rounds,
    round_verdict, run_verdict, shown,
};

#[cfg(test)]
mod tests;
