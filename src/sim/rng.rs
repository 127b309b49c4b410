//! Seeded random streams for the simulator, one per purpose and key.
//!
//! A run has one seed. Every consumer of randomness gets its own ChaCha8 stream derived from that
//! seed, a purpose, and keys that name what the randomness is for: the callee behind the *n*-th
//! dial of a number gets the same draws whatever the pacing did before, so two settings are
//! compared on the same callees (common random numbers), and adding a call never shifts anyone
//! else's draws.
//!
//! Two generators, both fixed algorithms so a seed means the same numbers across dependency
//! upgrades: ChaCha8 ([`stream`]) for long streams such as pacing gaps, and SplitMix64
//! ([`CallStream`]; Steele, Lea & Flood 2014, which passes BigCrush) for the dozen draws one
//! callee needs: eight bytes of state and a few instructions a draw, where a ChaCha8 state is
//! 320 bytes and a block to set up.
//!
//! Nothing here reads entropy from the system.

use rand::rngs::ChaCha8Rng;
use rand::{Rng, SeedableRng};
use xxhash_rust::xxh3::xxh3_64;

/// What a stream is for. The values are part of the trace format: changing one changes results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Purpose {
    /// A callee's behaviour on one dial: keys are the number's hash and the dial's ordinal.
    Callee = 1,
    /// Open-loop pacing gaps.
    Pacing = 2,
    /// Injected faults and drift of the world (`[faults]`), drawn only when one is configured.
    Faults = 3,
    /// Injected faults in delivering callbacks and answering originate requests.
    Delivery = 4,
}

/// The 64-bit seed of the stream for `purpose` and keys `a`, `b` under the run's `seed`.
pub fn stream_seed(seed: u64, purpose: Purpose, a: u64, b: u64) -> u64 {
    let mut bytes = [0u8; 32];
    bytes[0..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..16].copy_from_slice(&(purpose as u64).to_le_bytes());
    bytes[16..24].copy_from_slice(&a.to_le_bytes());
    bytes[24..32].copy_from_slice(&b.to_le_bytes());
    xxh3_64(&bytes)
}

/// A generator for one stream.
pub fn stream(seed: u64, purpose: Purpose, a: u64, b: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(stream_seed(seed, purpose, a, b))
}

/// A SplitMix64 stream: the draws of one callee on one dial.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallStream {
    state: u64,
}

impl CallStream {
    pub fn new(seed: u64) -> CallStream {
        CallStream { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform draw in [0, 1) with 53 bits of precision.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// A stable 64-bit key for a text, such as a phone number.
pub fn text_key(text: &str) -> u64 {
    xxh3_64(text.as_bytes())
}

/// A uniform draw in [0, 1) with 53 bits of precision.
pub fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let mut a = stream(7, Purpose::Callee, 1, 1);
        let mut b = stream(7, Purpose::Callee, 1, 1);
        let mut c = stream(7, Purpose::Callee, 1, 2);
        let first = a.next_u64();
        assert_eq!(first, b.next_u64());
        assert_ne!(first, c.next_u64());
        assert_ne!(
            stream_seed(7, Purpose::Callee, 1, 1),
            stream_seed(8, Purpose::Callee, 1, 1)
        );
    }

    #[test]
    fn call_streams_match_the_splitmix64_reference() {
        // SplitMix64 seeded with 1234567, as the published C code computes it.
        let mut stream = CallStream::new(1_234_567);
        assert_eq!(stream.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(stream.next_u64(), 3_203_168_211_198_807_973);
        let mean = (0..100_000).map(|_| stream.unit()).sum::<f64>() / 100_000.0;
        assert!((mean - 0.5).abs() < 0.005, "{mean}");
    }

    #[test]
    fn unit_draws_stay_in_range() {
        let mut rng = stream(1, Purpose::Pacing, 0, 0);
        for _ in 0..10_000 {
            let u = unit(&mut rng);
            assert!((0.0..1.0).contains(&u));
        }
    }
}
