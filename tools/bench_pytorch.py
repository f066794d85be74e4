"""PyTorch's CPU forward of the same InternImage-T (the seeded weights of the engine's bench,
tools/internimage_reference.py's network from PyTorch's own ops, F.grid_sample for DCNv3) at 224,
batch 1, f32: the reference `cargo xtask bench model` divides by. Prints one JSON line.

    python3 tools/bench_pytorch.py [--runs 20] [--threads N] [--device cpu|cuda] [--profile]

`--profile` prints instead where PyTorch's pass goes: the time of each aten op per pass
(torch.profiler, 5 passes) and, for the matrix products, their GFLOP/s.

`--device cuda` times the same on a GPU (tools/device/h200-bench.sh), waiting for the device
after each pass so that a pass is timed whole, as the engine's pass with its read-back is.
"""

import argparse
import json
import os
import statistics
import time

import numpy as np
import torch

from internimage_reference import INTERNIMAGE_T, SIZE, forward, seeded_image, seeded_weights


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    started = time.perf_counter()
    weights = {k: torch.from_numpy(v).to(device) for k, v in seeded_weights(INTERNIMAGE_T, 1).items()}
    image = torch.from_numpy(seeded_image(2).astype(np.float32)).permute(2, 0, 1)[None].contiguous().to(device)
    build_ms = (time.perf_counter() - started) * 1e3

    def finished():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    if args.profile:
        profile(weights, image)
        return
    times = []
    with torch.inference_mode():
        for run in range(args.runs + 3):
            started = time.perf_counter()
            forward(INTERNIMAGE_T, weights, image)
            finished()
            if run >= 3:  # warm-up: allocator, oneDNN primitive caches
                times.append((time.perf_counter() - started) * 1e3)
            elif run == 0:
                first_ms = (time.perf_counter() - started) * 1e3
    print(json.dumps({"framework": f"torch {torch.__version__}", "device": str(device),
                      "threads": args.threads,
                      "build_ms": build_ms, "first_ms": first_ms,
                      "steady_median_ms": statistics.median(times), "steady_fastest_ms": min(times),
                      "runs": args.runs}))


def profile(weights, image, passes=5):
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as profiler

    with torch.inference_mode():
        for _ in range(3):
            forward(INTERNIMAGE_T, weights, image)
        with profiler(activities=[ProfilerActivity.CPU], with_flops=True) as recorded:
            for _ in range(passes):
                forward(INTERNIMAGE_T, weights, image)
    rows = sorted(recorded.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total_ms = sum(e.self_cpu_time_total for e in rows) / 1e3 / passes
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads: {total_ms:.1f} ms a pass "
          f"under the profiler, by op (self time; GFLOP/s where the profiler counts FLOPs)")
    for e in rows[:16]:
        ms = e.self_cpu_time_total / 1e3 / passes
        rate = f"{e.flops / passes / ms / 1e6:8.1f}" if e.flops else ""
        print(f"  {e.key:<28} {e.count // passes:>5} calls {ms:8.2f} ms {100 * ms / total_ms:5.1f} % {rate}")


if __name__ == "__main__":
    main()
