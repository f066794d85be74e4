"""InternImage built from PyTorch's own ops (F.conv2d, F.layer_norm, F.grid_sample, ...), written
from the spec (shared/docs/internimage-spec.md), with the seeded weights of gpu/src/model/weights.rs.

Writes tests/fixtures/internimage.safetensors: for each variant, the logits and each level's output
(after the level norm) at 224x224, computed in float64. The tiny test variant stores its level
outputs whole; InternImage-T stores every 61st element of them. Inputs and weights are not stored:
the Rust tests regenerate them from the seeds. Run from anywhere: `python3 tools/internimage_reference.py`.

`--sampling` writes tests/fixtures/sampling.safetensors instead: the tiny variant's sampling
records (p_x, p_y, m) at every pixel of the DCNv3 layers in SAMPLING_LAYERS, in float64 and stored
as f32, for the same seeded weights and image.
"""

import sys

import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.numpy import save_file

from dcnv3_reference import dcnv3_core
from seeded import SeededRng

INTERNIMAGE_T = dict(channels=64, depths=[4, 4, 18, 4], groups=[4, 8, 16, 32], mlp_ratio=4.0,
                     offset_scale=1.0, cls_scale=1.5, num_classes=1000)
TEST_TINY = dict(INTERNIMAGE_T, channels=16, depths=[1, 1, 2, 1], groups=[1, 2, 4, 8], num_classes=10)
# name: (config, weight seed, image seed, level-output stride)
VARIANTS = {"tiny": (TEST_TINY, 1000, 2000, 1), "t": (INTERNIMAGE_T, 3000, 4000, 61)}
SIZE = 224
# The tiny variant's DCNv3 layers whose sampling is stored whole: the first (56 x 56, 1 group), one
# of level 2 (14 x 14, 4 groups) and the last (7 x 7, 8 groups).
SAMPLING_LAYERS = [0, 2, 4]


def expected_tensors(cfg):
    """(name, shape) of every tensor, as in the official state dict (spec section 5)."""
    c, half = cfg["channels"], cfg["channels"] // 2
    t = [("patch_embed.conv1.weight", [half, 3, 3, 3]), ("patch_embed.conv1.bias", [half]),
         ("patch_embed.norm1.1.weight", [half]), ("patch_embed.norm1.1.bias", [half]),
         ("patch_embed.conv2.weight", [c, half, 3, 3]), ("patch_embed.conv2.bias", [c]),
         ("patch_embed.norm2.1.weight", [c]), ("patch_embed.norm2.1.bias", [c])]
    levels = len(cfg["depths"])
    for i in range(levels):
        ci, g = c << i, cfg["groups"][i]
        hidden = int(ci * cfg["mlp_ratio"])
        for b in range(cfg["depths"][i]):
            p = f"levels.{i}.blocks.{b}."
            t += [(p + "norm1.0.weight", [ci]), (p + "norm1.0.bias", [ci]),
                  (p + "dcn.dw_conv.0.weight", [ci, 1, 3, 3]), (p + "dcn.dw_conv.0.bias", [ci]),
                  (p + "dcn.dw_conv.1.1.weight", [ci]), (p + "dcn.dw_conv.1.1.bias", [ci]),
                  (p + "dcn.offset.weight", [18 * g, ci]), (p + "dcn.offset.bias", [18 * g]),
                  (p + "dcn.mask.weight", [9 * g, ci]), (p + "dcn.mask.bias", [9 * g]),
                  (p + "dcn.input_proj.weight", [ci, ci]), (p + "dcn.input_proj.bias", [ci]),
                  (p + "dcn.output_proj.weight", [ci, ci]), (p + "dcn.output_proj.bias", [ci]),
                  (p + "norm2.0.weight", [ci]), (p + "norm2.0.bias", [ci]),
                  (p + "mlp.fc1.weight", [hidden, ci]), (p + "mlp.fc1.bias", [hidden]),
                  (p + "mlp.fc2.weight", [ci, hidden]), (p + "mlp.fc2.bias", [ci])]
        t += [(f"levels.{i}.norm.0.weight", [ci]), (f"levels.{i}.norm.0.bias", [ci])]
        if i + 1 < levels:
            t += [(f"levels.{i}.downsample.conv.weight", [2 * ci, ci, 3, 3]),
                  (f"levels.{i}.downsample.norm.1.weight", [2 * ci]),
                  (f"levels.{i}.downsample.norm.1.bias", [2 * ci])]
    last = c << (levels - 1)
    head = int(last * cfg["cls_scale"])
    t += [("conv_head.0.weight", [head, last, 1, 1])]
    t += [(f"conv_head.1.0.{s}", [head]) for s in ("weight", "bias", "running_mean", "running_var")]
    t += [("head.weight", [cfg["num_classes"], head]), ("head.bias", [cfg["num_classes"]])]
    return t


def seeded_range(name, shape):
    """The rule of gpu/src/model/weights.rs::seeded_range, in f32."""
    if name.endswith("running_var"):
        return 0.5, 1.5
    if name.endswith("running_mean") or (len(shape) == 1 and name.endswith("bias")):
        return -0.1, 0.1
    if len(shape) == 1:
        return 0.8, 1.2
    fan_in = math.prod(shape[1:])
    gain = np.float32(2.0 if name.endswith("dcn.offset.weight") else 1.0)
    bound = gain * np.sqrt(np.float32(3.0) / np.float32(fan_in))
    return -bound, bound


def seeded_weights(cfg, seed):
    shapes = dict(expected_tensors(cfg))
    weights = {}
    for index, name in enumerate(sorted(shapes)):
        shape = shapes[name]
        lo, hi = seeded_range(name, shape)
        weights[name] = SeededRng(seed + index).uniform(math.prod(shape), lo, hi).reshape(shape)
    return weights


def layer_norm(x, w, name, eps=1e-6):
    return F.layer_norm(x, (x.shape[-1],), w[name + ".weight"], w[name + ".bias"], eps=eps)


def gelu(x):
    return F.gelu(x)  # exact erf form, PyTorch's default


def forward(cfg, w, image, training=False, sampling=None):
    """image [B,3,H,W] -> (logits [B,classes], [level outputs [B,h,w,C]]).

    `training` runs the head's BatchNorm on batch statistics (updating the running ones), as the
    demo model's training does; `sampling`, a list, receives each DCNv3 layer's records
    [B,h,w,G,9,3] = (p_x, p_y, m) in block order."""
    x = F.conv2d(image, w["patch_embed.conv1.weight"], w["patch_embed.conv1.bias"], stride=2, padding=1)
    x = gelu(layer_norm(x.permute(0, 2, 3, 1), w, "patch_embed.norm1.1")).permute(0, 3, 1, 2)
    x = F.conv2d(x, w["patch_embed.conv2.weight"], w["patch_embed.conv2.bias"], stride=2, padding=1)
    x = layer_norm(x.permute(0, 2, 3, 1), w, "patch_embed.norm2.1")  # [B,H,W,C] channels last
    outputs = []
    levels = len(cfg["depths"])
    for i in range(levels):
        for b in range(cfg["depths"][i]):
            p = f"levels.{i}.blocks.{b}."
            x = x + dcn(cfg, w, p + "dcn.", layer_norm(x, w, p + "norm1.0"), cfg["groups"][i], sampling)
            h = gelu(F.linear(layer_norm(x, w, p + "norm2.0"), w[p + "mlp.fc1.weight"], w[p + "mlp.fc1.bias"]))
            x = x + F.linear(h, w[p + "mlp.fc2.weight"], w[p + "mlp.fc2.bias"])
        x = layer_norm(x, w, f"levels.{i}.norm.0")
        outputs.append(x)
        if i + 1 < levels:
            d = F.conv2d(x.permute(0, 3, 1, 2), w[f"levels.{i}.downsample.conv.weight"], stride=2, padding=1)
            x = layer_norm(d.permute(0, 2, 3, 1), w, f"levels.{i}.downsample.norm.1")
    y = F.conv2d(x.permute(0, 3, 1, 2), w["conv_head.0.weight"])
    y = F.batch_norm(y, w["conv_head.1.0.running_mean"], w["conv_head.1.0.running_var"],
                     w["conv_head.1.0.weight"], w["conv_head.1.0.bias"], training=training, eps=1e-5)
    y = gelu(y).mean(dim=(2, 3))
    return F.linear(y, w["head.weight"], w["head.bias"]), outputs


def dcn(cfg, w, p, u, groups, sampling=None):
    """The DCNv3 module (spec section 3) on u [B,H,W,C]."""
    b, h, wd, c = u.shape
    projected = F.linear(u, w[p + "input_proj.weight"], w[p + "input_proj.bias"])
    v = F.conv2d(u.permute(0, 3, 1, 2), w[p + "dw_conv.0.weight"], w[p + "dw_conv.0.bias"], padding=1, groups=c)
    v = gelu(layer_norm(v.permute(0, 2, 3, 1), w, p + "dw_conv.1.1"))
    offsets = F.linear(v, w[p + "offset.weight"], w[p + "offset.bias"]).reshape(b, h, wd, groups, 9, 2)
    logits = F.linear(v, w[p + "mask.weight"], w[p + "mask.bias"]).reshape(b, h, wd, groups, 9)
    y, records = dcnv3_core(projected, offsets, logits, cfg["offset_scale"])
    if sampling is not None:
        sampling.append(records.detach())
    return F.linear(y, w[p + "output_proj.weight"], w[p + "output_proj.bias"])


def seeded_image(seed):
    """A normalised-looking input [H,W,3] channels last, as the engine takes it."""
    return SeededRng(seed).uniform(SIZE * SIZE * 3, -2.0, 2.0).reshape(SIZE, SIZE, 3)


def main():
    torch.set_num_threads(2)
    tensors, meta = {}, {}
    for name, (cfg, weight_seed, image_seed, stride) in VARIANTS.items():
        weights = {k: torch.from_numpy(v.astype(np.float64)) for k, v in seeded_weights(cfg, weight_seed).items()}
        image = torch.from_numpy(seeded_image(image_seed).astype(np.float64))
        with torch.no_grad():
            logits, outputs = forward(cfg, weights, image.permute(2, 0, 1)[None])
        tensors[f"{name}.logits"] = logits[0].numpy().astype(np.float32)
        for level, out in enumerate(outputs):
            tensors[f"{name}.level{level}"] = np.ascontiguousarray(out[0].numpy().reshape(-1)[::stride], dtype=np.float32)
        meta[name] = dict(config=cfg, weight_seed=weight_seed, image_seed=image_seed, level_stride=stride)
        print(f"{name}: logits[:4] {logits[0, :4].numpy()}, level shapes {[tuple(o.shape[1:]) for o in outputs]}")
    target = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "internimage.safetensors"
    save_file(tensors, str(target), metadata={"variants": json.dumps(meta), "source": "torch " + torch.__version__})
    print(f"wrote {target} ({target.stat().st_size} bytes)")


def main_sampling():
    torch.set_num_threads(2)
    cfg, weight_seed, image_seed, _ = VARIANTS["tiny"]
    weights = {k: torch.from_numpy(v.astype(np.float64)) for k, v in seeded_weights(cfg, weight_seed).items()}
    image = torch.from_numpy(seeded_image(image_seed).astype(np.float64))
    records = []
    with torch.no_grad():
        forward(cfg, weights, image.permute(2, 0, 1)[None], sampling=records)
    tensors = {f"tiny.layer{i}": np.ascontiguousarray(records[i][0].numpy(), dtype=np.float32) for i in SAMPLING_LAYERS}
    meta = dict(variant="tiny", layers=SAMPLING_LAYERS, weight_seed=weight_seed, image_seed=image_seed)
    target = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "sampling.safetensors"
    save_file(tensors, str(target), metadata={"sampling": json.dumps(meta), "source": "torch " + torch.__version__})
    print(f"wrote {target} ({target.stat().st_size} bytes): {[(k, v.shape) for k, v in tensors.items()]}")


if __name__ == "__main__":
    main_sampling() if "--sampling" in sys.argv[1:] else main()
