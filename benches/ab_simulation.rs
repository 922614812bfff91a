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
//! - Several candidates, through the operator's own round
//!   (`rollout::ab::judge`): three A/A candidates against one baseline,
//!   with the test's α split over the candidates beside the same rule
//!   with each candidate at the whole α; one candidate with the true
//!   effect among two without, up to the horizon at the split α; the
//!   sample-ratio check over four arms.
//!
//! `cargo bench --bench ab_simulation` (seeded: every run prints the same
//! figures). `RUNS=1000` for a quicker look.

use std::time::Instant;

use std::time::Duration;

use chatbot_operator::{
    api::{AbDecision, AbTest, PrimaryMetric},
    rollout::{
        ab::{
            judge::{self, Arm as Round, Clock, Counts},
            sequential::{
                Proportion, compare, conversations_needed, fixed_horizon_conversations,
                sample_ratio_p,
            },
        },
        machine::Comparison,
    },
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
    several_candidates(runs, &percent);
    println!("({:.1} s)", started.elapsed().as_secs_f64());
}

/// A Sequential test of the thumbs-up rate at `alpha`, no guardrails.
fn thumbs_up_test(alpha: f64) -> AbTest {
    AbTest {
        decision: Some(AbDecision::Sequential),
        primary: Some(PrimaryMetric {
            minimum_detectable_effect_percent: 100.0 * MDE,
            baseline_rate_percent: 100.0 * BASELINE,
            ..PrimaryMetric::default()
        }),
        alpha: Some(alpha),
        ..AbTest::default()
    }
}

/// One test of a baseline and candidates with the true `rates` (baseline
/// first) at equal weights, `per_round` conversations each, judged by the
/// operator's round after every round: the first decision taken (before
/// the duration ends) and the conversations per variant by then.
fn run_arms(
    rng: &mut Rng,
    test: &AbTest,
    rates: &[f64],
    per_round: u64,
) -> Option<(Comparison, Option<String>, u64)> {
    let names: Vec<String> = (0..rates.len()).map(|i| format!("v{i}")).collect();
    let weight = 100 / rates.len() as i32;
    let mut arms = vec![Arm::default(); rates.len()];
    let mut previous = None;
    for round in 1..=ROUNDS {
        for (arm, rate) in arms.iter_mut().zip(rates) {
            for _ in 0..per_round {
                arm.conversations += 1;
                arm.rated_up += u64::from(rng.chance(*rate));
            }
        }
        let counts: Vec<Counts> = arms
            .iter()
            .map(|a| Counts {
                conversations: Some(a.conversations as f64),
                primary: Some((a.rated_up as f64, a.conversations as f64)),
                guardrails: Vec::new(),
            })
            .collect();
        let rounds: Vec<Round> = counts
            .iter()
            .zip(&names)
            .enumerate()
            .map(|(i, (counts, name))| Round {
                name,
                weight: if i == 0 {
                    100 - weight * (rates.len() as i32 - 1)
                } else {
                    weight
                },
                counts,
            })
            .collect();
        let clock = Clock {
            elapsed: Duration::from_secs(round * 86_400),
            duration: Duration::from_secs((ROUNDS + 1) * 86_400),
        };
        let judged = judge::judge(test, &rounds, previous.as_ref(), clock).unwrap();
        if let Comparison::Promote(_) | Comparison::RollBack(_) = judged.comparison {
            return Some((judged.comparison, judged.winner, round * per_round));
        }
        previous = Some(chatbot_operator::api::AbReport {
            signals: judged.signals,
            ..Default::default()
        });
    }
    None
}

fn several_candidates(runs: u64, percent: &dyn Fn(u64) -> f64) {
    // A/A: a baseline and three candidates, all at the baseline's rate.
    let aa = [BASELINE; 4];
    let split = thumbs_up_test(ALPHA);
    let whole = thumbs_up_test(ALPHA * 3.0);
    let mut rng = Rng::new(4);
    let split_false = (0..runs)
        .filter(|_| run_arms(&mut rng, &split, &aa, 500).is_some())
        .count() as u64;
    let whole_false = (0..runs)
        .filter(|_| run_arms(&mut rng, &whole, &aa, 500).is_some())
        .count() as u64;
    println!(
        "Several candidates (the operator's round), A/A: a baseline and 3 candidates, {runs} runs of {ROUNDS} rounds x 500 conversations per variant:"
    );
    println!(
        "  alpha {ALPHA} split over the 3 candidates: a decision in {:.2} % of runs",
        percent(split_false)
    );
    println!(
        "  each candidate at the whole alpha {ALPHA}: a decision in {:.2} % of runs",
        percent(whole_false)
    );

    // One candidate with the true effect, two without.
    let horizon = conversations_needed(BASELINE, MDE, ALPHA / 3.0, 0.8).unwrap();
    let per_round = horizon.div_ceil(ROUNDS);
    let rates = [BASELINE, BASELINE, BASELINE * (1.0 + MDE), BASELINE];
    let mut rng = Rng::new(5);
    let (mut right, mut wrong) = (0, 0);
    let mut stops = Vec::new();
    for _ in 0..runs {
        match run_arms(&mut rng, &split, &rates, per_round) {
            Some((Comparison::Promote(_), Some(winner), at)) if winner == "v2" => {
                right += 1;
                stops.push(at);
            }
            Some(_) => wrong += 1,
            None => {}
        }
    }
    println!(
        "  one of 3 candidates at +{:.0} %, up to the planned {horizon} conversations per variant (alpha {ALPHA}/3): that candidate promoted in {:.2} % of runs, a wrong decision in {:.2} %, median stop at {} conversations per variant",
        MDE * 100.0,
        percent(right),
        percent(wrong),
        median(stops)
    );

    // The sample-ratio check over four arms at equal weights: one arm
    // short by a twenty-fifth of its share (as 48 is of 50), or none.
    let srm = |rng: &mut Rng, short: f64| {
        let shares = [0.25, 0.25, 0.25, 0.25 * (1.0 - short)];
        let total: f64 = shares.iter().sum();
        let mut counts = [0u64; 4];
        let mut p_min: f64 = 1.0;
        for _ in 0..ROUNDS {
            for _ in 0..6_000 {
                let mut u = rng.uniform() * total;
                let arm = shares
                    .iter()
                    .position(|s| {
                        u -= s;
                        u < 0.0
                    })
                    .unwrap_or(3);
                counts[arm] += 1;
            }
            p_min = p_min.min(sample_ratio_p(&counts, &[1.0; 4]));
        }
        p_min < SRM_ALPHA
    };
    let mut rng = Rng::new(6);
    let mismatched = (0..runs).filter(|_| srm(&mut rng, 0.04)).count() as u64;
    let matched = (0..runs).filter(|_| srm(&mut rng, 0.0)).count() as u64;
    println!(
        "  sample-ratio check over 4 arms, every round of {ROUNDS} x 6,000 conversations: one arm 4 % short flagged in {:.2} % of runs, a true even split in {:.2} %",
        percent(mismatched),
        percent(matched)
    );
}
