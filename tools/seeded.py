"""The seeded generator of gpu/src/seeded.rs, in numpy: same seed, same f32 values, bit for bit."""

import numpy as np

GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def splitmix64(seed: int, count: int) -> np.ndarray:
    """The first `count` outputs of SplitMix64 from `seed`, as uint64."""
    with np.errstate(over="ignore"):
        state = np.uint64(seed) + GOLDEN * np.arange(1, count + 1, dtype=np.uint64)
        z = state
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


class SeededRng:
    def __init__(self, seed: int):
        self.seed = seed
        self.drawn = 0

    def uniform(self, count: int, lo: float, hi: float) -> np.ndarray:
        """Uniform f32 in [lo, hi), continuing the stream like SeededRng::uniform_vec."""
        bits = splitmix64(self.seed, self.drawn + count)[self.drawn:]
        self.drawn += count
        unit = (bits >> np.uint64(40)).astype(np.float32) / np.float32(1 << 24)
        lo, hi = np.float32(lo), np.float32(hi)
        return lo + (hi - lo) * unit
