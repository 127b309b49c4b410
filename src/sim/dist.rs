//! Probability distributions of durations, and how to draw from them.
//!
//! Every draw consumes exactly one uniform number from the caller's generator and maps it through
//! the distribution's inverse CDF. One draw per sample keeps runs with different settings
//! aligned draw for draw (common random numbers), and the mapping is written out here rather
//! than taken from a crate so that a seed gives the same numbers across dependency upgrades.
//!
//! Pure functions of their inputs; this module owns no generator.

use crate::time::SimDuration;
use serde::Serialize;

/// A distribution of non-negative durations, parameters in seconds.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dist {
    Constant(f64),
    Uniform {
        low: f64,
        high: f64,
    },
    Exponential {
        mean: f64,
    },
    /// Log-normal with the given mean and standard deviation of the duration itself.
    LogNormal {
        mean: f64,
        sd: f64,
    },
    /// Each listed value equally likely.
    Empirical(Vec<f64>),
}

impl Dist {
    pub const ZERO: Dist = Dist::Constant(0.0);

    pub fn constant_secs(secs: f64) -> Dist {
        Dist::Constant(secs)
    }

    /// The mean, in seconds.
    pub fn mean_secs(&self) -> f64 {
        match self {
            Dist::Constant(value) => *value,
            Dist::Uniform { low, high } => (low + high) / 2.0,
            Dist::Exponential { mean } | Dist::LogNormal { mean, .. } => *mean,
            Dist::Empirical(values) => values.iter().sum::<f64>() / values.len().max(1) as f64,
        }
    }

    /// True when every draw is zero.
    pub fn is_always_zero(&self) -> bool {
        match self {
            Dist::Constant(value) => *value == 0.0,
            Dist::Uniform { low, high } => *low == 0.0 && *high == 0.0,
            Dist::Exponential { mean } | Dist::LogNormal { mean, .. } => *mean == 0.0,
            Dist::Empirical(values) => values.iter().all(|value| *value == 0.0),
        }
    }

    /// Maps a uniform draw `u` in [0, 1) to a duration in seconds.
    pub fn quantile_secs(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0 - f64::EPSILON);
        match self {
            Dist::Constant(value) => *value,
            Dist::Uniform { low, high } => low + u * (high - low),
            Dist::Exponential { mean } => -mean * (1.0 - u).ln(),
            Dist::LogNormal { mean, sd } => {
                if *sd == 0.0 || *mean == 0.0 {
                    return *mean;
                }
                let sigma_squared = (1.0 + (sd * sd) / (mean * mean)).ln();
                let mu = mean.ln() - sigma_squared / 2.0;
                (mu + sigma_squared.sqrt() * standard_normal_quantile(u.max(f64::MIN_POSITIVE)))
                    .exp()
            }
            Dist::Empirical(values) => {
                if values.is_empty() {
                    return 0.0;
                }
                let index = ((u * values.len() as f64) as usize).min(values.len() - 1);
                values[index]
            }
        }
    }

    /// Maps a uniform draw `u` in [0, 1) to a duration.
    pub fn sample(&self, u: f64) -> SimDuration {
        SimDuration::from_secs_f64(self.quantile_secs(u))
    }
}

/// The standard normal quantile Φ⁻¹(p), by Acklam's rational approximation (relative error
/// below 1.2e-9), for 0 < p < 1.
pub fn standard_normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.024_25;
    if p < P_LOW {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - P_LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -standard_normal_quantile(1.0 - p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mean and standard deviation over an evenly spread set of uniform draws.
    fn moments(dist: &Dist) -> (f64, f64) {
        let n = 200_000;
        let draws: Vec<f64> = (0..n)
            .map(|i| dist.quantile_secs((i as f64 + 0.5) / n as f64))
            .collect();
        let mean = draws.iter().sum::<f64>() / n as f64;
        let variance = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        (mean, variance.sqrt())
    }

    #[test]
    fn each_distribution_has_its_stated_moments() {
        let (mean, _) = moments(&Dist::Uniform {
            low: 3.0,
            high: 15.0,
        });
        assert!((mean - 9.0).abs() < 1e-6);
        let (mean, sd) = moments(&Dist::Exponential { mean: 20.0 });
        assert!((mean - 20.0).abs() < 0.05, "{mean}");
        assert!((sd - 20.0).abs() < 0.5, "{sd}");
        let (mean, sd) = moments(&Dist::LogNormal {
            mean: 180.0,
            sd: 60.0,
        });
        assert!((mean - 180.0).abs() < 0.5, "{mean}");
        assert!((sd - 60.0).abs() < 1.0, "{sd}");
        let (mean, _) = moments(&Dist::Empirical(vec![1.0, 2.0, 6.0]));
        assert!((mean - 3.0).abs() < 1e-3);
        assert_eq!(
            Dist::Constant(4.5).sample(0.7),
            SimDuration::from_millis(4500)
        );
    }

    #[test]
    fn normal_quantile_matches_known_values() {
        assert!(standard_normal_quantile(0.5).abs() < 1e-9);
        assert!((standard_normal_quantile(0.975) - 1.959_963_985).abs() < 1e-7);
        assert!((standard_normal_quantile(0.001) + 3.090_232_306).abs() < 1e-7);
    }

    #[test]
    fn extreme_draws_stay_finite() {
        for dist in [
            Dist::Exponential { mean: 1.0 },
            Dist::LogNormal { mean: 1.0, sd: 3.0 },
        ] {
            for u in [0.0, 1e-300, 0.999_999_999, 1.0] {
                let value = dist.quantile_secs(u);
                assert!(
                    value.is_finite() && value >= 0.0,
                    "{dist:?} at {u}: {value}"
                );
            }
        }
    }
}
