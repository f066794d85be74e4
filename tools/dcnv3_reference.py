"""DCNv3 core through PyTorch's own F.grid_sample: the official model's PyTorch semantics."""

import numpy as np
import torch
import torch.nn.functional as F


def sampling_locations(h, w, offsets, scale):
    """(p_x, p_y) [(B,) H,W,G,9,2] in the unpadded map; point k has base (k div 3 - 1, k mod 3 - 1)."""
    k = torch.arange(9, dtype=offsets.dtype, device=offsets.device)
    base = torch.stack([torch.div(k, 3, rounding_mode="floor") - 1, k % 3 - 1], dim=-1)  # [9, 2]
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=offsets.dtype, device=offsets.device),
        torch.arange(w, dtype=offsets.dtype, device=offsets.device),
        indexing="ij",
    )
    centre = torch.stack([xs, ys], dim=-1)  # [H,W,2] (x, y)
    return centre[:, :, None, None, :] + scale * (base + offsets)  # broadcasts over a leading batch


def dcnv3_core(x, offsets, logits, scale):
    """x [(B,) H,W,G*Cg], offsets [(B,) H,W,G,9,2], logits [(B,) H,W,G,9]
    -> (out [(B,) H,W,G*Cg], records [(B,) H,W,G,9,3]); the batch dimension is optional.

    Zero-pads by one and samples with align_corners=False, as the official PyTorch path does.
    Differentiable: the demo model's training (tools/train_demo.py) runs through it.
    """
    if x.dim() == 3:
        out, records = dcnv3_core(x[None], offsets[None], logits[None], scale)
        return out[0], records[0]
    b, h, w, channels = x.shape
    g = offsets.shape[3]
    cg = channels // g
    mask = torch.softmax(logits, dim=-1)  # [B,H,W,G,9]
    feature = x.reshape(b, h, w, g, cg).permute(0, 3, 4, 1, 2).reshape(b * g, cg, h, w)
    padded = F.pad(feature, (1, 1, 1, 1))  # [B*G,Cg,H+2,W+2]
    p = sampling_locations(h, w, offsets, scale)  # [B,H,W,G,9,2]
    size = torch.tensor([w + 2, h + 2], dtype=x.dtype, device=x.device)
    grid = (2 * (p + 1) + 1) / size - 1  # padded pixel centre i sits at (2i + 1) / size - 1
    grid = grid.permute(0, 3, 1, 2, 4, 5).reshape(b * g, h * w, 9, 2)
    sampled = F.grid_sample(padded, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    weights = mask.permute(0, 3, 1, 2, 4).reshape(b * g, 1, h * w, 9)
    out = (sampled * weights).sum(-1)  # [B*G,Cg,H*W]
    out = out.reshape(b, g, cg, h, w).permute(0, 3, 4, 1, 2).reshape(b, h, w, channels)
    records = torch.cat([p, mask.unsqueeze(-1)], dim=-1)
    return out, records


def dcnv3_direct(x, offsets, logits, scale):
    """The direct formula of spec section 4 in numpy, only to cross-check the grid_sample path."""
    x, offsets, logits = (t.numpy() for t in (x, offsets, logits))
    h, w, channels = x.shape
    g = offsets.shape[2]
    cg = channels // g
    e = np.exp(logits - logits.max(-1, keepdims=True))
    mask = e / e.sum(-1, keepdims=True)
    p = sampling_locations(h, w, torch.from_numpy(offsets), scale).numpy()
    out = np.zeros((h, w, g, cg))
    xg = x.reshape(h, w, g, cg)
    for yy in range(h):
        for xx in range(w):
            for gg in range(g):
                for k in range(9):
                    px, py = p[yy, xx, gg, k]
                    x0, y0 = np.floor(px), np.floor(py)
                    for a in (x0, x0 + 1):
                        for b in (y0, y0 + 1):
                            if 0 <= a < w and 0 <= b < h:
                                cw = (1 - abs(px - a)) * (1 - abs(py - b))
                                out[yy, xx, gg] += mask[yy, xx, gg, k] * cw * xg[int(b), int(a), gg]
    return out.reshape(h, w, channels)
