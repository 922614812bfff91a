//! Simulated A/B tests with known truth, looked at every round, for the
//! sequential statistics in `rollout::ab::sequential`:
//!
//! - A/A tests (no difference): how often the always-valid test declares
//!   a winner or a loser, beside — in the same runs — the naive rule
//!   "test every round, stop at p < 0.05", on conversations and on
//!   requests. A conversation is a cluster of correlated requests (its
//!   outcome colours each of its messages), as real chat traffic is; an
//!   iid simulation would hide what clustering adds to the naive rule.
//! - Tests with a true effect equal to the MDE, run up to the horizon
//!   `conversations_needed` gives: how often the right decision is
//!   reached, and the median conversations at the stop against the
//!   fixed-horizon size.
//! - The sample-ratio check: a 52/48 split under 50/50 weights, and a true
//!   50/50, checked every round.
//!
//! `cargo bench --bench ab_simulation` (seeded: every run prints the same
//! figures). `RUNS=1000` for a quicker look.

use std::time::Instant;

use chatbot_operator::rollout::ab::sequential::{
    Proportion, compare, conversations_needed, fixed_horizon_conversations, sample_ratio_p,
};
use statrs::distribution::{ContinuousCDF, Normal};

/// The test's level, split as the operator splits it: the primary metric
/// gets it all here (no guardrails in this simulation).
const ALPHA: f64 = 0.05;
/// Level of the sample-ratio check.
const SRM_ALPHA: f64 = 0.001;
/// Baseline share of conversations a user rates up, and the relative
/// change the test is meant to find.
const BASELINE: f64 = 0.20;
const MDE: f64 = 0.10;
const ROUNDS: u64 = 14;

/// xoshiro256**: a small seeded generator, the same figures on every run.
struct Rng([u64; 4]);

impl Rng {
    fn new(seed: u64) -> Self {
        let mut z = seed;
        let mut next = || {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut x = z;
            x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            x ^ (x >> 31)
        };
        Self([next(), next(), next(), next()])
    }

    fn next(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// Messages in a conversation: 1 + geometric, 5 on average.
    fn messages(&mut self) -> u64 {
        let u = self.uniform().max(f64::MIN_POSITIVE);
        1 + (u.ln() / (1.0 - 1.0 / 4.0_f64).ln()).floor() as u64
    }
}

/// One variant's running totals.
#[derive(Default, Clone, Copy)]
struct Arm {
    conversations: u64,
    rated_up: u64,
    requests: u64,
    requests_up: u64,
}

impl Arm {
    /// `n` conversations, each rated up with probability `rate`; each of
    /// its messages is a success with probability 0.9 when it was, 0.1
    /// when not.
    fn add(&mut self, rng: &mut Rng, n: u64, rate: f64) {
        for _ in 0..n {
            let up = rng.chance(rate);
            self.conversations += 1;
            self.rated_up += u64::from(up);
            for _ in 0..rng.messages() {
                self.requests += 1;
                self.requests_up += u64::from(rng.chance(if up { 0.9 } else { 0.1 }));
            }
        }
    }

    fn conversations(&self) -> Proportion {
        Proportion {
            trials: self.conversations,
            successes: self.rated_up,
        }
    }
}

/// The naive two-proportion z-test's two-sided p-value.
fn naive_p(normal: &Normal, a: (u64, u64), b: (u64, u64)) -> f64 {
    let (na, xa, nb, xb) = (a.0 as f64, a.1 as f64, b.0 as f64, b.1 as f64);
    let pooled = (xa + xb) / (na + nb);
    let se = (pooled * (1.0 - pooled) * (1.0 / na + 1.0 / nb)).sqrt();
    if se == 0.0 {
        return 1.0;
    }
    2.0 * (1.0 - normal.cdf(((xb / nb - xa / na) / se).abs()))
}

struct Outcome {
    /// The sequential test stopped: with the candidate ahead (`true`) or behind.
    sequential: Option<(bool, u64)>,
    naive_conversations: bool,
    naive_requests: bool,
}

/// One test: `per_round` conversations per variant each round, the
/// candidate's true rate `candidate`, looked at after every round.
fn run(rng: &mut Rng, normal: &Normal, per_round: u64, candidate: f64) -> Outcome {
    let tau = BASELINE * MDE;
    let (mut a, mut b) = (Arm::default(), Arm::default());
    let mut p_min: f64 = 1.0;
    let mut outcome = Outcome {
        sequential: None,
        naive_conversations: false,
        naive_requests: false,
    };
    for _ in 0..ROUNDS {
        a.add(rng, per_round, BASELINE);
        b.add(rng, per_round, candidate);
        if outcome.sequential.is_none() {
            let comparison = compare(a.conversations(), b.conversations(), tau, ALPHA).unwrap();
            p_min = p_min.min(comparison.p_value);
            if p_min < ALPHA {
                outcome.sequential = Some((comparison.difference > 0.0, a.conversations));
            }
        }
        outcome.naive_conversations |= naive_p(
            normal,
            (a.conversations, a.rated_up),
            (b.conversations, b.rated_up),
        ) < 0.05;
        outcome.naive_requests |= naive_p(
            normal,
            (a.requests, a.requests_up),
            (b.requests, b.requests_up),
        ) < 0.05;
    }
    outcome
}

fn median(mut values: Vec<u64>) -> u64 {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or(0)
}

fn main() {
    let runs: u64 = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(10_000);
    let normal = Normal::standard();
    let started = Instant::now();
    let percent = |count: u64| 100.0 * count as f64 / runs as f64;

    // A/A: 14 rounds of 500 conversations per variant.
    let mut rng = Rng::new(1);
    let (mut sequential, mut naive_conversations, mut naive_requests) = (0, 0, 0);
    for _ in 0..runs {
        let outcome = run(&mut rng, &normal, 500, BASELINE);
        sequential += u64::from(outcome.sequential.is_some());
        naive_conversations += u64::from(outcome.naive_conversations);
        naive_requests += u64::from(outcome.naive_requests);
    }
    println!(
        "A/A tests, {runs} runs of {ROUNDS} rounds x 500 conversations per variant, looked at every round:"
    );
    println!(
        "  always-valid test (alpha {ALPHA}): a winner or a loser declared in {:.2} % of runs",
        percent(sequential)
    );
    println!(
        "  naive 'stop at p < 0.05' on conversations: {:.2} %",
        percent(naive_conversations)
    );
    println!(
        "  naive 'stop at p < 0.05' on requests (clustered): {:.2} %",
        percent(naive_requests)
    );

    // A true effect of the MDE, up to the horizon the plan gives.
    let horizon = conversations_needed(BASELINE, MDE, ALPHA, 0.8).unwrap();
    let fixed = fixed_horizon_conversations(BASELINE, MDE, ALPHA, 0.8).unwrap();
    let per_round = horizon.div_ceil(ROUNDS);
    let mut rng = Rng::new(2);
    let (mut right, mut wrong) = (0, 0);
    let mut stops = Vec::new();
    for _ in 0..runs {
        match run(&mut rng, &normal, per_round, BASELINE * (1.0 + MDE)).sequential {
            Some((true, at)) => {
                right += 1;
                stops.push(at);
            }
            Some((false, _)) => wrong += 1,
            None => {}
        }
    }
    println!(
        "True effect of +{:.0} % on a {:.0} % rate, {runs} runs up to the planned {horizon} conversations per variant ({ROUNDS} rounds of {per_round}):",
        MDE * 100.0,
        BASELINE * 100.0
    );
    println!(
        "  the right decision (candidate wins) in {:.2} % of runs, the wrong one in {:.2} %",
        percent(right),
        percent(wrong)
    );
    println!(
        "  median stop at {} conversations per variant; a fixed-horizon test needs {fixed} ({:.2}x)",
        median(stops.clone()),
        median(stops) as f64 / fixed as f64
    );

    // The sample-ratio check, every round of 14 x 3,000 conversations.
    let srm = |rng: &mut Rng, share: f64| {
        let mut counts = [0u64, 0u64];
        let mut p_min: f64 = 1.0;
        for _ in 0..ROUNDS {
            for _ in 0..3_000 {
                counts[usize::from(!rng.chance(share))] += 1;
            }
            p_min = p_min.min(sample_ratio_p(&counts, &[1.0, 1.0]));
        }
        p_min < SRM_ALPHA
    };
    let mut rng = Rng::new(3);
    let mismatched = (0..runs).filter(|_| srm(&mut rng, 0.52)).count() as u64;
    let matched = (0..runs).filter(|_| srm(&mut rng, 0.50)).count() as u64;
    println!(
        "Sample-ratio check at p < {SRM_ALPHA}, every round of {ROUNDS} x 3,000 conversations, {runs} runs:"
    );
    println!(
        "  a 52/48 split under 50/50 weights flagged in {:.2} % of runs",
        percent(mismatched)
    );
    println!(
        "  a true 50/50 split flagged in {:.2} % of runs",
        percent(matched)
    );
    println!("({:.1} s)", started.elapsed().as_secs_f64());
}
