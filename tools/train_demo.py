"""Trains the page's default model: a small member of the InternImage family (the engine's
configuration, DEMO below) on the generated shapes of tools/shapes.py, on the CPU, seeded.

    python3 tools/train_demo.py train     # about 4.5 hours on 2 cores: target/demo/demo-f32.safetensors
    python3 tools/train_demo.py export    # through the converter (`internimage convert --dtype int8`)
                                          # to public/models/shapes-demo.safetensors
    python3 tools/train_demo.py held-out  # PyTorch's held-out accuracy (f32 and int8); writes the
                                          # images for `cargo xtask demo-report` (target/demo/)
    python3 tools/train_demo.py fixtures  # the page's shape samples and tests/fixtures/demo.safetensors

The network is tools/internimage_reference.py's forward (PyTorch's own ops, F.grid_sample for
DCNv3), trained through; the weights carry the official state-dict names, so the engine and the
converter read them like any InternImage checkpoint.
"""

import argparse
import json
import math
import subprocess
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.numpy import load_file as load_numpy, save_file as save_numpy
from safetensors.torch import load_file, save_file

import shapes
from internimage_reference import expected_tensors, forward

DEMO = dict(channels=32, depths=[1, 1, 3, 1], groups=[2, 4, 8, 16], mlp_ratio=4.0, offset_scale=1.0,
            cls_scale=1.5, num_classes=len(shapes.CLASSES))
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "target" / "demo"
SIZE = 224
SEED = 7
HELD_OUT_SEED = 10_007  # the evaluation's images; training streams never use it
DESCRIPTION = ("InternImage demo (channels 32, depths 1-1-3-1, 1.9 M parameters), trained here on the CPU "
               "by tools/train_demo.py to tell ten generated shapes apart: " + ", ".join(shapes.CLASSES) +
               ", drawn at 10-85 % of half the picture, any aspect, rotation and position, on textured, "
               "cluttered backgrounds.")


def initial_weights(cfg, seed):
    """The official initialisation: linears truncated normal (std 0.02), DCNv3's input and output
    projections Xavier uniform, its offset and mask linears zero (so training starts from the
    regular 3x3 grid with equal weights), convolutions PyTorch's default, norms one and zero."""
    gen = torch.Generator().manual_seed(seed)
    weights = {}
    for name, shape in expected_tensors(cfg):
        if name.endswith("running_var") or (len(shape) == 1 and name.endswith("weight")):
            t = torch.ones(shape)
        elif len(shape) == 1 or name.endswith("running_mean"):
            t = torch.zeros(shape)
        elif name.endswith(("dcn.offset.weight", "dcn.mask.weight")):
            t = torch.zeros(shape)
        elif name.endswith(("input_proj.weight", "output_proj.weight")):
            bound = math.sqrt(6 / (shape[0] + shape[1]))
            t = (torch.rand(shape, generator=gen) * 2 - 1) * bound
        elif len(shape) == 2:
            t = (torch.randn(shape, generator=gen) * 0.02).clamp(-0.04, 0.04)
        else:
            bound = 1 / math.sqrt(math.prod(shape[1:]))
            t = (torch.rand(shape, generator=gen) * 2 - 1) * bound
        weights[name] = t
    return weights


def trainable(name):
    return not name.endswith(("running_mean", "running_var"))


def batches(seed, batch, size, ramp, small_share=0.0):
    """Endless training batches; the task's difficulty rises linearly to 1 over `ramp` batches.
    `small_share` of each batch draws its radius from the smallest third of the range (log-uniform
    in SMALL_SCALES), the rest from the whole range."""
    gen = torch.Generator().manual_seed(seed)
    step = 0
    while True:
        difficulty = min(1.0, step / ramp) if ramp > 0 else 1.0
        scales = None  # the earlier stages draw nothing more, as when they were run
        if small_share:
            lo, hi = (math.log(s) for s in SMALL_SCALES)
            small = torch.exp(lo + (hi - lo) * torch.rand(batch, generator=gen))
            lo, hi = (math.log(s) for s in shapes.SCALE_RANGE)
            whole = torch.exp(lo + (hi - lo) * torch.rand(batch, generator=gen))
            scales = torch.where(torch.rand(batch, generator=gen) < small_share, small, whole)
        images, labels, _, masks = shapes.generate(gen, batch, size, scales=scales, difficulty=difficulty,
                                                   with_mask=True)
        step += 1
        yield shapes.normalise(images), labels, masks


# The smallest third of the radii the held-out set draws (log-uniform over shapes.SCALE_RANGE).
SMALL_SCALES = (shapes.SCALE_RANGE[0], shapes.SCALE_RANGE[0] * (shapes.SCALE_RANGE[1] / shapes.SCALE_RANGE[0]) ** (1 / 3))
# (picture side, schedule length, steps at most, peak learning rate, steps over which the task
# ramps to full difficulty, share of each batch drawn from SMALL_SCALES, decay of the running
# average of the weights, 0 for none). Half the page's size
# first, where a step costs a quarter: it learns the large shapes there, but small ones (5 px
# radius at 112) stay out of reach, so the first stage stops once the ramp is done, at 2,000 of
# its 4,500 scheduled steps (measured: 38 % training accuracy, 63 % on large, 12 % on small
# shapes). Then the page's 224 px; then 224 px again with half of every batch small shapes, the
# ones the second stage left at 60 %, until the validation accuracy stops rising; then from the
# best of those at half the rate, three quarters of every batch small (the third stage left them
# at 74 %, the others at 98 % and more). The fifth goes on at a third of that rate and keeps a
# running average of the weights, which is what it validates (on more pictures) and keeps:
# the fourth stage's validation accuracy swung 86-91 % between checks at a steady loss, so the
# single best check it kept was partly chance.
STAGES = [(112, 4500, 2000, 1e-3, 2000, 0.0, 0.0), (224, 2600, 2600, 6e-4, 0, 0.0, 0.0),
          (224, 3600, 3600, 2e-4, 0, 0.5, 0.0), (224, 3000, 3000, 1e-4, 0, 0.75, 0.0),
          (224, 1500, 1500, 3e-5, 0, 0.75, 0.995)]
# Early stopping (the stages with small shapes): every VALIDATE_EVERY steps the accuracy on VALIDATION_COUNT
# pictures of their own seed (never the held-out one) is measured; in the schedule's second half,
# once the learning rate has come down, the stage ends after PATIENCE checks without a new best,
# and it keeps its best weights. (In the first half the rate is high and the accuracy noisy: the
# previous stage's weights, 80.5 % on these pictures, fell to 78 % in the first 500 steps at 3e-4.)
VALIDATION_SEED = 20_011
VALIDATION_COUNT = 400
VALIDATE_EVERY = 250
AVERAGED_VALIDATION_COUNT = 1000  # the averaging stage's differences are smaller: more pictures
PATIENCE = 4


def train(args):
    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    weights = initial_weights(DEMO, SEED) if args.start is None else starting_weights(args.start)
    OUT.mkdir(parents=True, exist_ok=True)
    start = time.time()
    for stage, (size, schedule, steps, lr, ramp, small_share, average) in enumerate(STAGES):
        if stage + 1 < args.from_stage:
            continue
        schedule, steps, ramp = (max(1, round(n * args.steps_scale)) for n in (schedule, steps, ramp))
        print(f"stage {stage + 1}: at most {steps} of {schedule} steps of {args.batch} at {size} px, lr {lr}, "
              f"ramp {ramp}, small shapes {small_share:.0%}, weight average {average}")
        train_stage(weights, size, schedule, steps, lr, ramp, small_share, average, args)
        save(weights, OUT / "demo-f32.safetensors")
        save(weights, OUT / f"stage{stage + 1}.safetensors")
    print(f"trained in {time.time() - start:.0f} s; wrote {OUT / 'demo-f32.safetensors'}")


def starting_weights(path):
    """Weights to go on from: a training file (f32) or an engine file (int8 ones dequantized)."""
    return {n: t.float() for n, t in dequantized(path).items()}


def validation_accuracy(weights, size, count):
    gen = torch.Generator().manual_seed(VALIDATION_SEED)
    images, labels, params = shapes.generate(gen, count, size)
    images = (images * 255).round() / 255
    with torch.no_grad():
        predicted = torch.cat([forward(DEMO, weights, shapes.normalise(images[i:i + 50]))[0].argmax(1)
                               for i in range(0, count, 50)])
    right = predicted == labels
    small = params[:, 2] < SMALL_SCALES[1] * size / 2
    return float(right.float().mean()), float(right[small].float().mean())


def train_stage(weights, size, schedule, steps, lr, ramp, small_share, average, args):
    # Training-only 1x1 heads that predict where the shape is from levels 1 and 2: dense figure /
    # ground supervision gets the network off the plateau the class loss alone sits on for
    # thousands of steps. They are not part of the model and are not exported.
    gen = torch.Generator().manual_seed(SEED + size)
    auxiliary = {level: (torch.randn(1, DEMO["channels"] << level, generator=gen) * 0.02, torch.zeros(1))
                 for level in (1, 2)}
    params = [t.requires_grad_() for n, t in weights.items() if trainable(n)]
    params += [t.requires_grad_() for pair in auxiliary.values() for t in pair]
    optimiser = torch.optim.AdamW([{"params": [t for t in params if t.dim() > 1], "weight_decay": 0.05},
                                   {"params": [t for t in params if t.dim() <= 1], "weight_decay": 0.0}], lr=lr)
    warmup = max(1, schedule // 20)
    cosine = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, schedule) / schedule)))
    # (The averaging stage's seed differs from the fourth's, whose settings are otherwise the same:
    # new pictures, not the fourth's again.)
    stream = batches(SEED + size + round(100 * small_share) + round(1000 * average), args.batch, size, ramp,
                     small_share)
    start, seen, correct, loss_sum = time.time(), 0, 0, 0.0
    best, best_weights, since_best = -1.0, None, 0
    # The running average (every tensor, the BatchNorm statistics too) is what is validated and kept.
    averaged = {n: t.detach().clone() for n, t in weights.items()} if average else weights
    for step in range(steps):
        images, labels, masks = next(stream)
        logits, levels = forward(DEMO, weights, images, training=True)
        loss = torch.nn.functional.cross_entropy(logits, labels, label_smoothing=0.05)
        for level, (w, b) in auxiliary.items():
            where = torch.nn.functional.linear(levels[level], w, b)[..., 0]  # [B,h,w]
            target = torch.nn.functional.adaptive_avg_pool2d(masks, where.shape[1:])[:, 0]
            loss = loss + torch.nn.functional.binary_cross_entropy_with_logits(where, target)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        optimiser.step()
        cosine.step()
        if average:
            with torch.no_grad():
                for n, t in weights.items():
                    averaged[n].lerp_(t, 1 - average)
        seen += len(labels)
        correct += int((logits.argmax(1) == labels).sum())
        loss_sum += loss.item() * len(labels)
        if (step + 1) % args.log_every == 0 or step + 1 == steps:
            print(f"step {step + 1}/{steps}  loss {loss_sum / seen:.3f}  train acc {correct / seen:.3f}  "
                  f"lr {cosine.get_last_lr()[0]:.2e}  {time.time() - start:.0f} s", flush=True)
            seen, correct, loss_sum = 0, 0, 0.0
        if (step + 1) % 250 == 0:
            save(weights, OUT / "demo-f32.safetensors")
        if small_share and ((step + 1) % VALIDATE_EVERY == 0 or step + 1 == steps):
            count = AVERAGED_VALIDATION_COUNT if average else args.validation_count
            overall, small = validation_accuracy(averaged, size, count)
            print(f"  validation at step {step + 1}: {overall:.3f} (small shapes {small:.3f})", flush=True)
            if overall > best:
                best, since_best = overall, 0
                best_weights = {n: t.detach().clone() for n, t in averaged.items()}
            elif 2 * (step + 1) > schedule:
                since_best += 1
                if since_best >= PATIENCE:
                    print(f"  no better for {PATIENCE} checks: stopping at step {step + 1}", flush=True)
                    break
    for t in params:
        t.requires_grad_(False)
    if best_weights is not None:
        print(f"  keeping the best validation accuracy, {best:.3f}", flush=True)
        for n, t in best_weights.items():
            weights[n].copy_(t)


def save(weights, path):
    tensors = {n: t.detach().float().contiguous() for n, t in weights.items()}
    metadata = {"config": json.dumps(DEMO), "labels": json.dumps(shapes.CLASSES), "description": DESCRIPTION}
    save_file(tensors, str(path), metadata=metadata)


SHIPPED = ROOT / "public" / "models" / "shapes-demo.safetensors"
HELD_OUT = OUT / "held-out.safetensors"
ACCURACY = OUT / "held-out-accuracy.txt"
# The page's shape samples: (file, class, radius / half side, seed), a large and a small shape of
# the same class among them for the explorer's screenshots.
SAMPLES = [("star-large.png", "star", 0.7, 1), ("star-small.png", "star", 0.14, 2),
           ("heart.png", "heart", 0.45, 3), ("arrow-small.png", "arrow", 0.2, 4)]


def export(args):
    """The trained weights as a checkpoint like the official release ({'model': state dict}), then
    the same converter as InternImage-T's to int8 safetensors with labels and description."""
    weights = load_file(str(OUT / "demo-f32.safetensors"))
    torch.save({"model": weights}, OUT / "shapes-demo.pth")
    description = DESCRIPTION
    if ACCURACY.exists():  # written by `held-out`; export again after it to name the number
        description += f" Held-out accuracy: {ACCURACY.read_text().strip()}."
    (OUT / "labels.txt").write_text("\n".join(shapes.CLASSES) + "\n")
    SHIPPED.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cargo", "run", "--quiet", "--release", "--package", "internimage-cli", "--", "convert",
                    str(OUT / "shapes-demo.pth"), "-o", str(SHIPPED), "--dtype", "int8",
                    "--labels", str(OUT / "labels.txt"), "--description", description],
                   check=True, cwd=ROOT)


def dequantized(path):
    """The weights of an engine file as float64 tensors, int8 ones times their row scales in f32
    exactly as the shaders do."""
    stored = load_numpy(str(path))
    weights = {}
    for name, values in stored.items():
        if name.endswith(".scale"):
            continue
        if values.dtype == np.int8:
            scale = stored[name + ".scale"].astype(np.float32)
            values = values.astype(np.float32) * scale.reshape((-1,) + (1,) * (values.ndim - 1))
        weights[name] = torch.from_numpy(values.astype(np.float64))
    return weights


def trained():
    return {n: t.double() for n, t in load_file(str(OUT / "demo-f32.safetensors")).items()}


def right(weights, images, labels, batch=50):
    """Per picture, whether the model's first class is its label."""
    with torch.no_grad():
        return torch.cat([forward(DEMO, weights, shapes.normalise(images[i:i + batch]).double())[0].argmax(1)
                          == labels[i:i + batch] for i in range(0, len(labels), batch)])


def held_out(args):
    torch.set_num_threads(2)
    gen = torch.Generator().manual_seed(HELD_OUT_SEED)
    images, labels, params = shapes.generate(gen, args.count, SIZE)
    pixels = (images * 255).round().to(torch.uint8)  # what a PNG of it holds
    images = pixels.float() / 255
    original, shipped = trained(), dequantized(SHIPPED)
    f32 = right(original, images, labels).float().mean()
    int8 = right(shipped, images, labels)
    small = params[:, 2] < SMALL_SCALES[1] * SIZE / 2
    print(f"held-out accuracy on {args.count} images (seed {HELD_OUT_SEED}): PyTorch f32 {f32:.4f}, "
          f"PyTorch with the shipped int8 weights {int8.float().mean():.4f}, on the smallest third of shapes "
          f"({int(small.sum())}) {int8[small].float().mean():.4f}")
    ACCURACY.write_text(f"{100 * int8.float().mean():.1f} % of {args.count} generated pictures, "
                        f"{100 * int8[small].float().mean():.1f} % of the smallest third of shapes (int8 weights)\n")
    # How far int8 moves the sampling locations, in input-image pixels, on the first 100 images.
    with torch.no_grad():
        x = shapes.normalise(images[:100]).double()
        a, b = [], []
        forward(DEMO, original, x, sampling=a)
        forward(DEMO, shipped, x, sampling=b)
    for layer, (ra, rb) in enumerate(zip(a, b)):
        stride = SIZE // ra.shape[2]
        shift = stride * (ra[..., :2] - rb[..., :2]).norm(dim=-1)
        print(f"  layer {layer}: int8 shifts sampling points by {shift.mean():.3f} px on average, "
              f"{shift.max():.2f} px at most (stride {stride})")
    save_numpy({"images": pixels.permute(0, 2, 3, 1).contiguous().numpy(), "labels": labels.int().numpy(),
                "params": params.numpy()}, str(HELD_OUT),
               metadata={"params": "cx, cy (px), radius (px, geometric mean of the semi-axes), aspect, angle, class",
                         "classes": json.dumps(shapes.CLASSES)})
    print(f"wrote {HELD_OUT}")


def fixtures(args):
    """The shape samples as PNG (what the page and the tests read) and, for each, PyTorch's logits
    with the shipped int8 weights dequantized (the engine must match them to 1e-4) and with the
    trained f32 weights (the int8 budget), plus each DCNv3 layer's sampling at the shape's centre."""
    folder = ROOT / "public" / "samples" / "shapes"
    folder.mkdir(parents=True, exist_ok=True)
    tensors, centres = {}, []
    shipped, original = dequantized(SHIPPED), trained()
    for index, (file, name, scale, seed) in enumerate(SAMPLES):
        # The first draw from this seed whose shape lies wholly inside the picture and which the
        # shipped model classifies right: samples to explore, not a measure of accuracy (that is
        # the held-out set's job).
        gen = torch.Generator().manual_seed(HELD_OUT_SEED + 1000 + seed)
        draws = 0
        while True:
            draws += 1
            image, _, params = shapes.generate(gen, 1, SIZE, labels=torch.tensor([shapes.CLASSES.index(name)]),
                                               scales=[scale])
            cx, cy, radius, aspect = (float(v) for v in params[0, :4])
            reach = 1.1 * radius * max(aspect, 1 / aspect) ** 0.5
            if not (min(cx, cy) - reach > 0 and max(cx, cy) + reach < SIZE - 1):
                continue
            pixels = (image[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
            x = shapes.normalise(torch.from_numpy(pixels).permute(2, 0, 1)[None].double() / 255)
            with torch.no_grad():
                records = []
                logits, _ = forward(DEMO, shipped, x, sampling=records)
            if shapes.CLASSES[int(logits.argmax())] == name:
                break
        Image.fromarray(pixels).save(folder / file)
        with torch.no_grad():
            tensors[f"{file}.logits"] = logits[0].numpy().astype(np.float32)
            tensors[f"{file}.logits_trained_f32"] = forward(DEMO, original, x)[0][0].numpy().astype(np.float32)
        for layer, r in enumerate(records):
            stride = SIZE // r.shape[2]
            col = min(max(round(cx / stride), 0), r.shape[2] - 1)
            row = min(max(round(cy / stride), 0), r.shape[1] - 1)
            tensors[f"{file}.sampling{layer}"] = r[0, row, col].numpy().astype(np.float32)  # [G,9,3]
        centres.append(dict(file=file, label=name, centre=[cx, cy], radius=float(params[0, 2])))
        print(f"{file}: {name}, radius {radius:.1f} px, draw {draws} from its seed")
    target = ROOT / "tests" / "fixtures" / "demo.safetensors"
    save_numpy(tensors, str(target), metadata={"samples": json.dumps(centres), "source": "torch " + torch.__version__})
    print(f"wrote {target} ({target.stat().st_size} bytes)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("--batch", type=int, default=32)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--log-every", type=int, default=50)
    t.add_argument("--steps-scale", type=float, default=1.0, help="scale every stage's steps (a quick trial: 0.05)")
    t.add_argument("--from-stage", type=int, default=1, help="start at this stage (1-based) ...")
    t.add_argument("--start", help="... from these weights (e.g. target/demo/stage1.safetensors, or an engine file)")
    t.add_argument("--validation-count", type=int, default=VALIDATION_COUNT)
    sub.add_parser("export")
    h = sub.add_parser("held-out")
    h.add_argument("--count", type=int, default=1000)
    sub.add_parser("fixtures")
    args = parser.parse_args()
    {"train": train, "export": export, "held-out": held_out, "fixtures": fixtures}[args.command](args)


if __name__ == "__main__":
    main()
