"""The demo model's task: ten classes of filled shapes drawn at widely varying scale, aspect ratio,
rotation and position over textured, cluttered backgrounds, generated on the fly in torch
(nothing downloaded, nothing stored). Seeded: the same generator seed gives the same images.

Each shape is an implicit function f(u, v) of local coordinates, negative inside, roughly a
distance in units of the shape's radius; the edge is antialiased over one pixel.
"""

import math

import torch

CLASSES = ["disk", "ring", "square", "triangle", "hexagon", "star", "plus", "crescent", "heart", "arrow"]
# The engine's preprocessing constants (gpu/src/model/preprocess.rs): ImageNet mean and std.
MEAN = torch.tensor([0.485, 0.456, 0.406])
STD = torch.tensor([0.229, 0.224, 0.225])
# Shape radius as a fraction of half the image side: from a few percent of the picture to most of it.
SCALE_RANGE = (0.1, 0.85)
ASPECT_RANGE = (0.6, 1.65)


def _polygon(u, v, sides, apothem, phase=0.0):
    f = None
    for i in range(sides):
        a = phase + 2 * math.pi * i / sides
        d = u * math.cos(a) + v * math.sin(a) - apothem
        f = d if f is None else torch.maximum(f, d)
    return f


def _half_planes(u, v, vertices):
    """Convex polygon from counter-clockwise vertices: max over edges of the outward distance."""
    f = None
    for (x0, y0), (x1, y1) in zip(vertices, vertices[1:] + vertices[:1]):
        nx, ny = y1 - y0, -(x1 - x0)
        norm = math.hypot(nx, ny)
        d = ((u - x0) * nx + (v - y0) * ny) / norm
        f = d if f is None else torch.maximum(f, d)
    return f


def _box(u, v, half_u, half_v):
    return torch.maximum(u.abs() - half_u, v.abs() - half_v)


def shape_field(name, u, v):
    r = torch.sqrt(u * u + v * v)
    if name == "disk":
        return r - 1.0
    if name == "ring":
        return (r - 0.72).abs() - 0.28
    if name == "square":
        return _box(u, v, 0.8, 0.8)
    if name == "triangle":
        return _polygon(u, v, 3, 0.55, phase=math.pi / 2)
    if name == "hexagon":
        return _polygon(u, v, 6, 0.9)
    if name == "star":
        theta = torch.atan2(v, u) + math.pi / 2
        sector = 2 * math.pi / 5
        t = ((theta % sector) / sector - 0.5).abs() * 2  # 0 at a tip, 1 between tips
        return r - (1.0 - 0.58 * t)
    if name == "plus":
        return torch.minimum(_box(u, v, 1.0, 0.3), _box(u, v, 0.3, 1.0))
    if name == "crescent":
        return torch.maximum(r - 1.0, 0.82 - torch.sqrt((u - 0.48) ** 2 + v * v))
    if name == "heart":
        lobes = torch.minimum(torch.sqrt((u + 0.45) ** 2 + (v + 0.3) ** 2), torch.sqrt((u - 0.45) ** 2 + (v + 0.3) ** 2)) - 0.52
        point = _half_planes(u, v, [(-0.93, -0.12), (0.0, 1.0), (0.93, -0.12)][::-1])
        return torch.minimum(lobes, point)
    if name == "arrow":
        shaft = torch.maximum(torch.maximum(-1.0 - u, u - 0.15), v.abs() - 0.17)
        head = _half_planes(u, v, [(0.05, -0.62), (1.0, 0.0), (0.05, 0.62)])
        return torch.minimum(shaft, head)
    raise ValueError(name)


def _smooth_noise(gen, batch, size, cells, channels):
    """Value noise: a random grid of `cells` per side, bicubically upsampled to `size`."""
    grid = torch.rand(batch, channels, cells, cells, generator=gen)
    return torch.nn.functional.interpolate(grid, size=(size, size), mode="bicubic", align_corners=False)


def _background(gen, batch, size, xs, ys, clutter):
    """[B,3,S,S] in [0,1]: a base colour with low-frequency colour noise, stripes or a checker
    pattern of random frequency and orientation, and thin random strokes, all scaled by `clutter`."""
    base = torch.rand(batch, 3, 1, 1, generator=gen)
    noise = _smooth_noise(gen, batch, size, int(torch.randint(3, 9, (1,), generator=gen)), 3) - 0.5
    image = base + 0.5 * clutter * noise * torch.rand(batch, 1, 1, 1, generator=gen)
    angle = torch.rand(batch, 1, 1, generator=gen) * math.pi
    freq = 4 + 28 * torch.rand(batch, 1, 1, generator=gen)
    along = xs * torch.cos(angle) + ys * torch.sin(angle)
    across = -xs * torch.sin(angle) + ys * torch.cos(angle)
    stripes = torch.sin(along * freq)
    checker = torch.sin(along * freq) * torch.sin(across * freq)
    kind = torch.randint(0, 3, (batch, 1, 1), generator=gen)
    pattern = torch.where(kind == 0, stripes, torch.where(kind == 1, checker, torch.zeros_like(stripes)))
    tint = torch.rand(batch, 3, 1, 1, generator=gen) - 0.5
    image = image + 0.35 * clutter * pattern[:, None] * tint
    for _ in range(6):  # thin straight strokes of random colour
        p0 = torch.rand(batch, 2, 1, generator=gen) * 2 - 1
        direction = torch.rand(batch, 1, 1, generator=gen) * math.pi
        distance = ((xs - p0[:, 0:1]) * torch.sin(direction) - (ys - p0[:, 1:2]) * torch.cos(direction)).abs()[:, None]
        width = 0.004 + 0.012 * torch.rand(batch, 1, 1, 1, generator=gen)
        present = (torch.rand(batch, 1, 1, 1, generator=gen) < 0.6 * clutter).float()
        alpha = present * (distance < width).float()
        colour = torch.rand(batch, 3, 1, 1, generator=gen)
        image = image * (1 - alpha) + colour * alpha
    return image


def generate(gen, batch, size=224, labels=None, scales=None, difficulty=1.0, with_mask=False):
    """(images [B,3,S,S] in [0,1], labels [B], params [B,6] = (cx, cy, radius px, aspect, angle, class)),
    centre in pixels with pixel centres at integers.

    Centres keep most of the shape inside the picture; radius is in pixels, the geometric mean of
    the two semi-axes. `labels` and `scales` (radius / half the side), when given, fix those.
    `difficulty` below 1 (the start of training) keeps shapes larger and nearer the centre and
    the background plainer: from scratch, the full task sits on a long loss plateau.
    `with_mask` also returns the shape's coverage of each pixel [B,1,S,S]."""
    if labels is None:
        labels = torch.randint(0, len(CLASSES), (batch,), generator=gen)
    lo, hi = (math.log(s) for s in SCALE_RANGE)
    lo = hi + (lo - hi) * (0.4 + 0.6 * difficulty)
    scale = torch.exp(lo + (hi - lo) * torch.rand(batch, generator=gen))
    if scales is not None:
        scale = torch.as_tensor(scales, dtype=torch.float32)
    alo, ahi = (math.log(a) for a in ASPECT_RANGE)
    aspect = torch.exp(alo + (ahi - alo) * torch.rand(batch, generator=gen))
    angle = torch.rand(batch, generator=gen) * 2 * math.pi
    room = (1 - 0.7 * scale).clamp(min=0.05) * (0.3 + 0.7 * difficulty)
    centre = (torch.rand(batch, 2, generator=gen) * 2 - 1) * room[:, None]

    coords = (torch.arange(size, dtype=torch.float32) + 0.5) / size * 2 - 1
    ys, xs = torch.meshgrid(coords, coords, indexing="ij")
    xs, ys = xs[None].expand(batch, -1, -1), ys[None].expand(batch, -1, -1)
    image = _background(gen, batch, size, xs, ys, difficulty)

    dx, dy = xs - centre[:, 0, None, None], ys - centre[:, 1, None, None]
    c, s = torch.cos(angle)[:, None, None], torch.sin(angle)[:, None, None]
    su = (scale * aspect.sqrt())[:, None, None]
    sv = (scale / aspect.sqrt())[:, None, None]
    u, v = (dx * c + dy * s) / su, (-dx * s + dy * c) / sv
    field = torch.empty(batch, size, size)
    for k, name in enumerate(CLASSES):
        chosen = labels == k
        if chosen.any():
            field[chosen] = shape_field(name, u[chosen], v[chosen])
    pixel = (2 / size) / torch.minimum(su, sv)  # one pixel in local units, the antialiasing width
    alpha = (0.5 - field / pixel).clamp(0, 1)[:, None]

    # A fill that stands out from the background around it: a colour at least 0.45 away from the
    # background's mean, sometimes with a texture of its own.
    backdrop = image.mean(dim=(2, 3), keepdim=True).clamp(0, 1)
    direction = torch.randn(batch, 3, 1, 1, generator=gen)
    direction = direction / direction.norm(dim=1, keepdim=True)
    fill = backdrop + (0.45 + 0.4 * torch.rand(batch, 1, 1, 1, generator=gen)) * direction
    fill = torch.where((fill < 0) | (fill > 1), backdrop - (fill - backdrop), fill).clamp(0, 1)
    texture = _smooth_noise(gen, batch, size, 12, 1) - 0.5
    fill = fill + 0.3 * texture * (torch.rand(batch, 1, 1, 1, generator=gen) < 0.5 * difficulty).float()
    image = image * (1 - alpha) + fill * alpha
    image = image + 0.03 * torch.randn(image.shape, generator=gen)
    # Pixel coordinates with pixel centres at integers, the engine's convention (spec section 4).
    params = torch.stack([(centre[:, 0] + 1) * size / 2 - 0.5, (centre[:, 1] + 1) * size / 2 - 0.5,
                          scale * size / 2, aspect, angle, labels.float()], dim=1)
    if with_mask:
        return image.clamp(0, 1), labels, params, alpha
    return image.clamp(0, 1), labels, params


def normalise(images):
    """[B,3,S,S] in [0,1] -> the engine's network input."""
    return (images - MEAN[:, None, None]) / STD[:, None, None]
