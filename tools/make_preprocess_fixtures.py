"""Writes tests/fixtures/preprocess/: source pictures and what the official evaluation's transform
makes of them with PIL, so that gpu/tests/preprocess.rs can hold the engine's preprocessing to it.

The transform is torchvision's test transform on a PIL image, spelled out with the PIL calls that
torchvision makes (so torchvision itself is not needed): `Image.open(...).convert("RGB")`, then
Resize(224) = `img.resize((new_w, new_h), Image.BICUBIC)` with the longer side
`int(224 * long / short)`, then CenterCrop(224) = `img.crop((left, top, left + 224, top + 224))`
with `int(round((side - 224) / 2))`. ToTensor and Normalize act on these bytes alone, so the
bytes are what is stored (`<name>.expected.png`, 224 x 224 RGB).

The PNG sources are drawn here, deterministically: their decoding is exact in every decoder, so
they test the resize. The JPEG samples of public/samples/ are decoded by PIL's libjpeg here and
by the image crate there: their outputs are stored too, and the test states how far apart the
two decoders leave them. Run from anywhere: `python3 tools/make_preprocess_fixtures.py` (needs
numpy and pillow 12, e.g. `pip install "pillow<13"`).

Pillow up to 12 always resizes horizontally first, as the official evaluation's Pillow did.
Pillow 13 picks the order of the two passes by some other rule, which moves a few pixels of some
sizes by up to 8/255 (odd-225x999 here): it is refused below rather than silently followed.
"""

from pathlib import Path

import numpy as np
import PIL
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "preprocess"
SIZE = 224


def official_transform(path):
    img = Image.open(path).convert("RGB")
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = SIZE, int(SIZE * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    if (new_w, new_h) != (w, h):
        img = img.resize((new_w, new_h), Image.BICUBIC)
    left, top = int(round((new_w - SIZE) / 2.0)), int(round((new_h - SIZE) / 2.0))
    return img.crop((left, top, left + SIZE, top + SIZE))


def drawing(width, height, seed):
    """Gradients, hard-edged shapes (the filter's overshoot clips there), one-pixel stripes (the
    widest filter taps) and a patch of noise: float RGB in [0, 1]."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = x / max(width - 1, 1), y / max(height - 1, 1)
    rgb = np.stack([u, v, 0.5 + 0.5 * np.sin(6 * u + 4 * v)], axis=-1)
    for _ in range(6):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(0.05, 0.3) * min(width, height)
        inside = (x - cx) ** 2 + (y - cy) ** 2 < r * r
        rgb[inside] = rng.choice([0.0, 1.0], size=3)
    sx, sy = width // 5, height // 5
    rgb[sy:2 * sy, sx:2 * sx] = ((x[sy:2 * sy, sx:2 * sx] % 2)[..., None] * [1.0, 1.0, 1.0])
    nx, ny = 3 * width // 5, 3 * height // 5
    rgb[ny:ny + sy, nx:nx + sx] = rng.uniform(0, 1, size=(min(sy, height - ny), min(sx, width - nx), 3))
    return np.clip(rgb, 0, 1)


def save_png(name, width, height, seed, mode="RGB"):
    rgb = drawing(width, height, seed)
    path = OUT / f"{name}.png"
    if mode == "RGB16":
        # 16-bit samples whose low byte carries information too: PIL keeps only the high byte.
        wide = np.round(rgb * 65535).astype(">u2")
        write_png16(path, wide)
    elif mode == "RGBA":
        alpha = np.round(255 * drawing(width, height, seed + 100)[..., :1])
        Image.fromarray(np.concatenate([np.round(rgb * 255), alpha], axis=-1).astype(np.uint8), "RGBA").save(path)
    elif mode == "L":
        Image.fromarray(np.round(rgb.mean(axis=-1) * 255).astype(np.uint8), "L").save(path)
    elif mode == "P":
        Image.fromarray(np.round(rgb * 255).astype(np.uint8), "RGB").quantize(64).save(path)
    else:
        Image.fromarray(np.round(rgb * 255).astype(np.uint8), "RGB").save(path)
    return path


def write_png16(path, wide):
    """PIL writes no 16-bit RGB PNG: this writes one by hand (colour type 2, depth 16)."""
    import struct
    import zlib

    height, width, _ = wide.shape
    raw = b"".join(b"\0" + wide[row].tobytes() for row in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


# name: (width, height, seed, mode)
PNG_CASES = {
    "landscape-640x427": (640, 427, 1, "RGB"),
    "portrait-301x453": (301, 453, 2, "RGB"),
    "smaller-97x61": (97, 61, 3, "RGB"),
    "square-224": (224, 224, 4, "RGB"),
    "wide-1000x150": (1000, 150, 5, "RGB"),
    "odd-225x999": (225, 999, 6, "RGB"),
    "rgb16-320x240": (320, 240, 7, "RGB16"),
    "alpha-280x350": (280, 350, 8, "RGBA"),
    "grey-250x181": (250, 181, 9, "L"),
    "palette-333x222": (333, 222, 10, "P"),
}
JPEG_SAMPLES = ["astronaut.jpg", "chelsea-the-cat.jpg", "coffee.jpg", "rocket.jpg"]


def main():
    if int(PIL.__version__.split(".")[0]) >= 13:
        raise SystemExit(f"Pillow {PIL.__version__}: use Pillow 12 or older (see the docstring)")
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (width, height, seed, mode) in PNG_CASES.items():
        path = save_png(name, width, height, seed, mode)
        official_transform(path).save(OUT / f"{name}.expected.png")
        print(f"{name}: {Image.open(path).mode} {width}x{height}")
    for sample in JPEG_SAMPLES:
        official_transform(ROOT / "public" / "samples" / sample).save(OUT / f"{Path(sample).stem}.jpeg-expected.png")
        print(f"{sample}: decoded by PIL {Image.__version__}")


if __name__ == "__main__":
    main()
