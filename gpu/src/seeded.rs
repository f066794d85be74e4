//! The seeded generator that the fixture script (`tools/make_fixtures.py`) reproduces bit for bit,
//! so large test inputs are regenerated instead of committed.

/// SplitMix64: tiny, fast, and trivial to write identically in numpy.
#[derive(Clone, Debug)]
pub struct SeededRng {
    state: u64,
}

impl SeededRng {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [lo, hi): the top 24 bits make an exact f32 in [0, 1), so numpy gets the same
    /// value after the same affine map in f32.
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        let unit = (self.next_u64() >> 40) as f32 / (1u32 << 24) as f32;
        lo + (hi - lo) * unit
    }

    pub fn uniform_vec(&mut self, len: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..len).map(|_| self.uniform(lo, hi)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_python_generator() {
        // The same two values come out of `splitmix64` in tools/make_fixtures.py.
        let mut rng = SeededRng::new(1_234_567);
        assert_eq!(rng.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(rng.next_u64(), 3_203_168_211_198_807_973);
    }

    #[test]
    fn uniform_stays_in_range() {
        let mut rng = SeededRng::new(7);
        assert!(
            rng.uniform_vec(10_000, -2.0, 3.0)
                .iter()
                .all(|v| (-2.0..3.0).contains(v))
        );
    }
}
