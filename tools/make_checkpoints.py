"""Writes small synthetic checkpoints in the official format (torch.save of a state dict with the
official key names) and the logits PyTorch computes from them, for the converter's tests:

- tests/fixtures/checkpoints/wrapped.pth: {'model': state_dict, 'epoch': 3} (the released format)
- tests/fixtures/checkpoints/bare.pth: the state dict alone
- tests/fixtures/checkpoints/hf.pth: every key prefixed with 'model.' (the Hugging Face port)
- tests/fixtures/checkpoints/not_a_checkpoint.pth: a pickle of something else
- tests/fixtures/checkpoints/hub.safetensors and hub-config.json: the Hugging Face Hub's form, f32
  under the 'model.' prefix, beside a config.json
- tests/fixtures/checkpoints/resnet.pth: a state dict of another network (ResNet names)
- tests/fixtures/checkpoints/not_a_checkpoint.zip: a zip of something else
- tests/fixtures/checkpoints/logits.safetensors: logits of the seeded image (224x224) in float64

A micro variant (16 channels, depths [1, 1, 1, 1], mlp ratio 1, 4 classes) with seeded weights
stored as float16, so the files stay small; the reference runs on those float16 values.
"""

import json
import zipfile
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import save_file
from safetensors.torch import save_file as save_torch_file

from internimage_reference import INTERNIMAGE_T, forward, seeded_image, seeded_weights

MICRO = dict(INTERNIMAGE_T, channels=16, depths=[1, 1, 1, 1], groups=[1, 2, 4, 8], mlp_ratio=1.0, num_classes=4)
WEIGHT_SEED, IMAGE_SEED = 5000, 6000


def main():
    out = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "checkpoints"
    out.mkdir(parents=True, exist_ok=True)
    state = {k: torch.from_numpy(v).to(torch.float16) for k, v in seeded_weights(MICRO, WEIGHT_SEED).items()}
    state["conv_head.1.0.num_batches_tracked"] = torch.tensor(1000, dtype=torch.int64)
    torch.save({"model": state, "epoch": 3}, out / "wrapped.pth")
    torch.save(state, out / "bare.pth")
    torch.save({"model." + k: v for k, v in state.items()}, out / "hf.pth")
    torch.save({"hello": "world", "numbers": [1, 2, 3]}, out / "not_a_checkpoint.pth")
    hub = {"model." + k: v.to(torch.float32).contiguous() for k, v in state.items() if v.is_floating_point()}
    save_torch_file(hub, str(out / "hub.safetensors"), metadata={"format": "pt"})
    (out / "hub-config.json").write_text(json.dumps(dict(MICRO, core_op="DCNv3", architectures=["InternImageModelForImageClassification"]), indent=2) + "\n")
    resnet = {"conv1.weight": torch.zeros(8, 3, 7, 7), "bn1.weight": torch.ones(8), "bn1.bias": torch.zeros(8),
              "layer1.0.conv1.weight": torch.zeros(8, 8, 3, 3), "fc.weight": torch.zeros(4, 8), "fc.bias": torch.zeros(4)}
    torch.save(resnet, out / "resnet.pth")
    with zipfile.ZipFile(out / "not_a_checkpoint.zip", "w") as z:
        z.writestr("notes/readme.txt", "holiday photos, not weights")

    weights = {k: v.to(torch.float64) for k, v in state.items() if v.is_floating_point()}
    image = torch.from_numpy(seeded_image(IMAGE_SEED).astype(np.float64))
    with torch.no_grad():
        logits, _ = forward(MICRO, weights, image.permute(2, 0, 1)[None])
    save_file({"logits": logits.numpy().astype(np.float32)}, str(out / "logits.safetensors"),
              metadata={"config": json.dumps(MICRO), "image_seed": str(IMAGE_SEED)})
    for f in sorted(out.iterdir()):
        print(f"{f.name}: {f.stat().st_size} bytes")
    print("logits", logits.numpy())


if __name__ == "__main__":
    main()
