"""Writes tests/fixtures/dcnv3.safetensors: DCNv3 outputs computed with PyTorch's own
F.grid_sample (the official model's PyTorch semantics), in float64, on seeded random inputs.

The inputs are not stored: gpu/src/seeded.rs regenerates them from each case's seed. Run from the
repository root: `python3 tools/make_fixtures.py` (needs torch, numpy, safetensors).
"""

import json
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import save_file

from dcnv3_reference import dcnv3_core, dcnv3_direct
from seeded import SeededRng

# name: (height, width, groups, group_channels, offset_scale, offset_amplitude, seed)
CASES = {
    "g4_9x11": (9, 11, 4, 16, 1.0, 2.5, 11),
    "g8_7x5": (7, 5, 8, 16, 1.0, 1.5, 12),
    "g16_6x6": (6, 6, 16, 16, 1.0, 3.0, 13),
    "g32_3x4": (3, 4, 32, 16, 1.0, 1.0, 14),
    "g2_1x1": (1, 1, 2, 16, 1.0, 1.2, 15),
    "leaves_map_5x6": (5, 6, 4, 16, 1.0, 12.0, 16),
    "scale_half_8x8": (8, 8, 4, 16, 0.5, 3.0, 17),
    "scale_two_4x13": (4, 13, 4, 16, 2.0, 2.0, 18),
    "cg32_5x5": (5, 5, 2, 32, 1.0, 2.0, 19),
    "g4_17x19": (17, 19, 4, 16, 1.0, 4.0, 20),
}
LOGIT_RANGE = 3.0


def inputs(h, w, g, cg, amplitude, seed):
    """X [H,W,G*Cg], offsets [H,W,G,9,2], mask logits [H,W,G,9], drawn in this order."""
    rng = SeededRng(seed)
    x = rng.uniform(h * w * g * cg, -1.0, 1.0).reshape(h, w, g * cg)
    offsets = rng.uniform(h * w * g * 18, -amplitude, amplitude).reshape(h, w, g, 9, 2)
    logits = rng.uniform(h * w * g * 9, -LOGIT_RANGE, LOGIT_RANGE).reshape(h, w, g, 9)
    return x, offsets, logits


def main():
    tensors, cases = {}, {}
    for name, (h, w, g, cg, scale, amplitude, seed) in CASES.items():
        x, offsets, logits = (torch.from_numpy(a.astype(np.float64)) for a in inputs(h, w, g, cg, amplitude, seed))
        out, records = (t.numpy() for t in dcnv3_core(x, offsets, logits, scale))
        direct = dcnv3_direct(x, offsets, logits, scale)
        agreement = np.linalg.norm(out - direct) / np.linalg.norm(direct)
        assert agreement < 1e-12, f"{name}: grid_sample and direct formula disagree ({agreement})"
        tensors[f"{name}.output"] = np.ascontiguousarray(out, dtype=np.float32)
        tensors[f"{name}.sampling"] = np.ascontiguousarray(records, dtype=np.float32)
        # The first values drawn, so a generator mismatch fails loudly before any comparison.
        tensors[f"{name}.input_head"] = x.reshape(-1)[:8].numpy().astype(np.float32)
        cases[name] = dict(height=h, width=w, groups=g, group_channels=cg, offset_scale=scale,
                           offset_amplitude=amplitude, logit_range=LOGIT_RANGE, seed=seed)
        print(f"{name}: {h}x{w} G{g} Cg{cg} s={scale}: grid_sample vs direct {agreement:.1e}")
    target = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "dcnv3.safetensors"
    save_file(tensors, str(target), metadata={"cases": json.dumps(cases), "source": "torch " + torch.__version__})
    print(f"wrote {target} ({target.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
