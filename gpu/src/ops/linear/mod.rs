//! Linear layers, the bulk of the FLOPs: `y = x W^T + b` over `[M, K]` rows, tiled 64x64, with
//! GELU or a residual accumulation fused into the store. PyTorch's `[N, K]` weight is stored
//! transposed, `[K, N]`, so a tile row is contiguous.

use super::{Access, GELU_WGSL, Kernel};
use crate::context::GpuContext;
use crate::dispatch::Dispatch;

pub fn source() -> String {
    format!("{GELU_WGSL}{}", include_str!("linear.wgsl"))
}

const TILE: u32 = 64;

/// What happens to `x W^T + b` before it is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Epilogue {
    Store,
    Gelu,
    /// `out += y`: the output buffer holds the residual stream.
    Accumulate,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    m: u32,
    n: u32,
    k: u32,
    _pad: u32,
}

/// PyTorch `[N, K]` to the kernel's `[K, N]`.
pub fn pack_weight(weight: &[f32], n: usize, k: usize) -> Vec<f32> {
    let mut packed = vec![0f32; weight.len()];
    for r in 0..n {
        for c in 0..k {
            packed[c * n + r] = weight[r * k + c];
        }
    }
    packed
}

pub struct Linear {
    kernels: [Kernel; 3],
}

impl Linear {
    pub fn new(ctx: &GpuContext) -> Self {
        let source = source();
        let storage = [Access::Read, Access::Read, Access::Read, Access::ReadWrite];
        let kernel = |epilogue: f64| {
            Kernel::new(ctx, "linear", &source, &storage, &[("EPILOGUE", epilogue)])
        };
        Self {
            kernels: [kernel(0.0), kernel(1.0), kernel(2.0)],
        }
    }

    /// `weight` packed by [`pack_weight`].
    #[allow(clippy::too_many_arguments)]
    pub fn bind(
        &self,
        ctx: &GpuContext,
        [m, n, k]: [u32; 3],
        epilogue: Epilogue,
        [input, weight, bias, output]: [&wgpu::Buffer; 4],
    ) -> Dispatch {
        let (kernel, label) = match epilogue {
            Epilogue::Store => (&self.kernels[0], "linear"),
            Epilogue::Gelu => (&self.kernels[1], "linear+gelu"),
            Epilogue::Accumulate => (&self.kernels[2], "linear+residual"),
        };
        let grid = [n.div_ceil(TILE), m.div_ceil(TILE), 1];
        kernel.bind(
            ctx,
            label,
            &Params { m, n, k, _pad: 0 },
            &[input, weight, bias, output],
            grid,
        )
    }
}

/// 2 FLOPs per multiply-add.
pub fn flops([m, n, k]: [u32; 3]) -> u64 {
    2 * u64::from(m) * u64::from(n) * u64::from(k)
}

/// CPU reference with PyTorch's `[N, K]` weight, f64; `residual` is the output's prior content.
pub fn reference(
    input: &[f32],
    weight: &[f32],
    bias: &[f32],
    k: usize,
    epilogue: Epilogue,
    residual: Option<&[f32]>,
) -> Vec<f32> {
    let n = bias.len();
    let mut out = Vec::with_capacity(input.len() / k * n);
    for (row, x) in input.chunks_exact(k).enumerate() {
        for (col, w) in weight.chunks_exact(k).enumerate() {
            let mut y = f64::from(bias[col])
                + x.iter()
                    .zip(w)
                    .map(|(&a, &b)| f64::from(a) * f64::from(b))
                    .sum::<f64>();
            match epilogue {
                Epilogue::Store => {}
                Epilogue::Gelu => y = super::gelu_reference(y),
                Epilogue::Accumulate => {
                    y += f64::from(residual.expect("residual for accumulate")[row * n + col])
                }
            }
            out.push(y as f32);
        }
    }
    out
}
