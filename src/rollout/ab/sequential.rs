//! The statistics of an A/B test that stay honest when people look at the
//! results every day and stop early: always-valid p-values and confidence
//! sequences for the difference of two proportions (the mixture sequential
//! probability ratio test of Johari et al., "Always Valid Inference",
//! with a normal mixture and plug-in variances, asymptotically valid as
//! Waudby-Smith et al. 2024 show), the always-valid sample-ratio check of
//! Lindon & Malek (2022, a Dirichlet-multinomial mixture), and the
//! conversations a test needs under that sequential test. Pure: a
//! two-week test replays in microseconds.
//!
//! A p-value here is valid at every look: the caller keeps the smallest
//! seen so far (`p_n = min(p_{n-1}, 1/Λ_n)`), and the chance that it ever
//! falls below α under the null is at most α however often it is read.

use statrs::{
    distribution::{ContinuousCDF, Normal},
    function::gamma::ln_gamma,
};

/// The Dirichlet prior's concentration of the sample-ratio check: the
/// mixture is spread over splits a couple of percent away from the
/// configured one (its standard deviation at 50/50 is about 1.6 points),
/// the mismatches that matter in practice.
pub const SRM_CONCENTRATION: f64 = 1000.0;

/// Trials (conversations) and successes of one variant on a proportion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Proportion {
    pub trials: u64,
    pub successes: u64,
}

impl Proportion {
    fn rate(self) -> f64 {
        self.successes as f64 / self.trials as f64
    }

    /// The variance of the rate's estimate, from the rate shrunk towards
    /// one half by one success and one failure: never zero, even when
    /// every trial so far succeeded (or none did).
    fn variance(self) -> f64 {
        let shrunk = (self.successes as f64 + 1.0) / (self.trials as f64 + 2.0);
        shrunk * (1.0 - shrunk) / self.trials as f64
    }
}

/// An always-valid comparison of a candidate's proportion with the
/// baseline's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Comparison {
    /// Candidate's rate minus the baseline's.
    pub difference: f64,
    /// The confidence sequence's bounds on the difference at level α.
    pub low: f64,
    pub high: f64,
    /// This look's always-valid p-value of "no difference" (1/Λ, at most 1).
    pub p_value: f64,
}

/// The mSPRT of `candidate` against `baseline` with a normal mixture of
/// spread `tau` (on the difference of rates; the effect the test is meant
/// to find is a good choice) and the confidence sequence at level `alpha`.
/// `None` until both variants have a trial.
pub fn compare(
    baseline: Proportion,
    candidate: Proportion,
    tau: f64,
    alpha: f64,
) -> Option<Comparison> {
    if baseline.trials == 0 || candidate.trials == 0 || tau <= 0.0 || !(alpha > 0.0 && alpha < 1.0)
    {
        return None;
    }
    let difference = candidate.rate() - baseline.rate();
    let v = baseline.variance() + candidate.variance();
    let t2 = tau * tau;
    let log_ratio = 0.5 * (v / (v + t2)).ln() + t2 * difference * difference / (2.0 * v * (v + t2));
    let half_width =
        (2.0 * v * (v + t2) / t2 * ((1.0 / alpha).ln() + 0.5 * ((v + t2) / v).ln())).sqrt();
    Some(Comparison {
        difference,
        low: difference - half_width,
        high: difference + half_width,
        p_value: (-log_ratio.max(0.0)).exp(),
    })
}

/// This look's always-valid p-value of "conversations split as `weights`
/// say", from the conversations each variant has had (Lindon & Malek's
/// Bayes factor against a Dirichlet(`SRM_CONCENTRATION` × weights)
/// mixture). A variant weighted 0 that had conversations is off for
/// certain (0); one that had none leaves the test to the others. 1 when
/// the counts and the weights do not match in length or a weight is
/// negative or not a number.
pub fn sample_ratio_p(counts: &[u64], weights: &[f64]) -> f64 {
    if counts.len() != weights.len() || weights.iter().any(|w| w.is_nan() || *w < 0.0) {
        return 1.0;
    }
    if counts.iter().zip(weights).any(|(c, w)| *w == 0.0 && *c > 0) {
        return 0.0;
    }
    let (counts, weights): (Vec<u64>, Vec<f64>) = counts
        .iter()
        .zip(weights)
        .filter(|(_, w)| **w > 0.0)
        .map(|(c, w)| (*c, *w))
        .unzip();
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return 1.0;
    }
    let null: Vec<f64> = weights.iter().map(|w| w / total).collect();
    let prior: Vec<f64> = null.iter().map(|p| SRM_CONCENTRATION * p).collect();
    let ln_beta =
        |a: &[f64]| a.iter().map(|x| ln_gamma(*x)).sum::<f64>() - ln_gamma(a.iter().sum());
    let posterior: Vec<f64> = prior
        .iter()
        .zip(&counts)
        .map(|(a, x)| a + *x as f64)
        .collect();
    let ln_likelihood_null: f64 = counts
        .iter()
        .zip(&null)
        .map(|(x, p)| *x as f64 * p.ln())
        .sum();
    let ln_factor = ln_beta(&posterior) - ln_beta(&prior) - ln_likelihood_null;
    (-ln_factor.max(0.0)).exp()
}

/// Conversations per variant a test needs to find a relative change of
/// `mde` on a baseline rate `p0` with probability `power`, under the
/// always-valid test at level `alpha` (mixture spread: the effect itself).
/// The power at each size counts only a stop at that size, so the figure
/// errs long. `None` for a rate outside (0, 1), a zero effect, or a
/// changed rate outside (0, 1).
pub fn conversations_needed(p0: f64, mde: f64, alpha: f64, power: f64) -> Option<u64> {
    let Effect { delta, spread } = Effect::of(p0, mde, alpha, power)?;
    let normal = Normal::standard();
    let t2 = delta * delta;
    let power_at = |n: u64| {
        let v = spread / n as f64;
        let threshold = ((v + t2) / t2 * (2.0 * (1.0 / alpha).ln() + ((v + t2) / v).ln())).sqrt();
        normal.cdf(delta / v.sqrt() - threshold)
    };
    let (mut low, mut high) = (1u64, 1u64);
    while power_at(high) < power {
        low = high;
        high = high.checked_mul(2)?;
    }
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if power_at(middle) >= power {
            high = middle;
        } else {
            low = middle;
        }
    }
    Some(high)
}

/// Conversations per variant a fixed-horizon two-sided test (looked at
/// once) needs for the same effect: what the sequential test is measured
/// against.
pub fn fixed_horizon_conversations(p0: f64, mde: f64, alpha: f64, power: f64) -> Option<u64> {
    let Effect { delta, spread } = Effect::of(p0, mde, alpha, power)?;
    let normal = Normal::standard();
    let z = normal.inverse_cdf(1.0 - alpha / 2.0) + normal.inverse_cdf(power);
    Some((z * z * spread / (delta * delta)).ceil() as u64)
}

/// The effect a test is sized for: a relative change `mde` of a rate `p0`.
struct Effect {
    /// The change of the rate, in rate points (positive).
    delta: f64,
    /// The two rates' Bernoulli variances, summed.
    spread: f64,
}

impl Effect {
    /// `None` for a rate outside (0, 1), a zero effect, a changed rate
    /// outside (0, 1), or a level or power outside (0, 1).
    fn of(p0: f64, mde: f64, alpha: f64, power: f64) -> Option<Self> {
        let p1 = p0 * (1.0 + mde);
        let delta = (p1 - p0).abs();
        let valid = |p: f64| p > 0.0 && p < 1.0;
        if !valid(p0) || !valid(p1) || delta == 0.0 || !valid(alpha) || !valid(power) {
            return None;
        }
        Some(Self {
            delta,
            spread: p0 * (1.0 - p0) + p1 * (1.0 - p1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values computed independently with SciPy 1.17
    /// (`scipy.special.gammaln`, `scipy.stats.norm`) from the same
    /// definitions: within 1e-9, relative.
    fn close(found: f64, expected: f64) -> bool {
        (found - expected).abs() <= 1e-9 * expected.abs().max(1e-300) || found == expected
    }

    #[test]
    fn the_sample_ratio_check_matches_its_reference_values() {
        let cases: [(&[u64], &[f64], f64); 8] = [
            (&[5000, 5000], &[1.0, 1.0], 1.0),
            (&[5200, 4800], &[1.0, 1.0], 0.0022977666452673796),
            (&[520, 480], &[1.0, 1.0], 0.9478792223821141),
            (&[52000, 48000], &[1.0, 1.0], 3.920724156681371e-34),
            (&[3400, 3300, 3300], &[34.0, 33.0, 33.0], 1.0),
            (&[1000, 2100], &[1.0, 2.0], 1.0),
            (&[0, 0], &[1.0, 1.0], 1.0),
            (&[10, 0], &[1.0, 1.0], 0.9564017934028507),
        ];
        for (counts, weights, expected) in cases {
            let found = sample_ratio_p(counts, weights);
            assert!(
                close(found, expected),
                "{counts:?} {weights:?}: {found} against {expected}"
            );
        }
        assert_eq!(sample_ratio_p(&[1, 2], &[1.0]), 1.0, "lengths differ");
        assert_eq!(
            sample_ratio_p(&[1, 2], &[1.0, 0.0]),
            0.0,
            "conversations on a variant weighted 0"
        );
        assert_eq!(
            sample_ratio_p(&[5200, 4800, 0], &[1.0, 1.0, 0.0]),
            sample_ratio_p(&[5200, 4800], &[1.0, 1.0]),
            "a variant weighted 0 and without conversations leaves the test to the others"
        );
        assert_eq!(
            sample_ratio_p(&[1, 2], &[1.0, -1.0]),
            1.0,
            "a negative weight"
        );
    }

    #[test]
    fn the_comparison_matches_its_reference_values() {
        // (baseline trials, successes, candidate trials, successes) at
        // tau 0.02, alpha 0.05: difference, low, high, p.
        let cases = [
            (
                (1000, 200, 1000, 200),
                [0.0, -0.06269102902888023, 0.06269102902888023, 1.0],
            ),
            (
                (1000, 200, 1000, 250),
                [
                    0.04999999999999999,
                    -0.01632391735067655,
                    0.11632391735067653,
                    0.21493076776199554,
                ],
            ),
            (
                (5000, 1000, 5000, 1100),
                [
                    0.01999999999999999,
                    -0.004784842271222604,
                    0.044784842271222584,
                    0.19977248614261323,
                ],
            ),
            (
                (200, 30, 180, 40),
                [
                    0.07222222222222222,
                    -0.1531102445634674,
                    0.2975546890079118,
                    0.8116369351550737,
                ],
            ),
            (
                (20000, 4000, 20000, 4200),
                [
                    0.009999999999999981,
                    -0.002513171030337477,
                    0.02251317103033744,
                    0.26506640119497027,
                ],
            ),
        ];
        for ((na, xa, nb, xb), expected) in cases {
            let found = compare(
                Proportion {
                    trials: na,
                    successes: xa,
                },
                Proportion {
                    trials: nb,
                    successes: xb,
                },
                0.02,
                0.05,
            )
            .unwrap();
            let found = [found.difference, found.low, found.high, found.p_value];
            for (f, e) in found.iter().zip(expected) {
                assert!(
                    close(*f, e),
                    "{na} {xa} {nb} {xb}: {found:?} against {expected:?}"
                );
            }
        }
        let none = Proportion {
            trials: 0,
            successes: 0,
        };
        let some = Proportion {
            trials: 10,
            successes: 1,
        };
        assert_eq!(compare(none, some, 0.02, 0.05), None);
        assert_eq!(compare(some, some, 0.0, 0.05), None);
    }

    #[test]
    fn the_sequential_test_needs_more_conversations_than_one_look_does() {
        // (p0, relative MDE, alpha, power): sequential, fixed horizon.
        let cases = [
            ((0.2, 0.05, 0.05, 0.8), (49572, 25580)),
            ((0.2, 0.10, 0.05, 0.8), (12610, 6507)),
            ((0.6, 0.05, 0.025, 0.8), (9008, 4997)),
            ((0.05, 0.2, 0.05, 0.8), (15804, 8155)),
        ];
        for ((p0, mde, alpha, power), (sequential, fixed)) in cases {
            assert_eq!(
                conversations_needed(p0, mde, alpha, power),
                Some(sequential)
            );
            assert_eq!(
                fixed_horizon_conversations(p0, mde, alpha, power),
                Some(fixed)
            );
        }
        assert_eq!(conversations_needed(0.0, 0.05, 0.05, 0.8), None, "rate 0");
        assert_eq!(conversations_needed(0.2, 0.0, 0.05, 0.8), None, "no effect");
        assert_eq!(
            conversations_needed(0.9, 0.2, 0.05, 0.8),
            None,
            "a rate over 1"
        );
    }
}
