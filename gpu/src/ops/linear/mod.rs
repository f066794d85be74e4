//! Linear layers, the bulk of the FLOPs: `y = x W^T + b` over `[M, K]` rows, register-blocked
//! 8 rows x 4 columns per invocation, with GELU or a residual accumulation fused into the store.
//! PyTorch's `[N, K]` weight is stored transposed and padded to `[K, ceil(N/4)*4]`, and the bias
//! padded alike, so every column block is one aligned vec4.

use super::{Access, GELU_WGSL, Kernel};
use crate::context::GpuContext;
use crate::dispatch::Dispatch;

pub fn source() -> String {
    format!("{GELU_WGSL}{}", include_str!("linear.wgsl"))
}

/// Output columns and rows per workgroup: 16 x 4 invocations of 4 columns x 8 rows.
const BLOCK_COLS: u32 = 64;
const BLOCK_ROWS: u32 = 32;

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
    n4: u32,
}

fn padded(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// PyTorch `[N, K]` to the kernel's `[K, N]`, each row padded with zeros to a multiple of 4.
pub fn pack_weight(weight: &[f32], n: usize, k: usize) -> Vec<f32> {
    let stride = padded(n);
    let mut packed = vec![0f32; k * stride];
    for r in 0..n {
        for c in 0..k {
            packed[c * stride + r] = weight[r * k + c];
        }
    }
    packed
}

/// The bias padded with zeros to a multiple of 4.
pub fn pack_bias(bias: &[f32]) -> Vec<f32> {
    let mut packed = bias.to_vec();
    packed.resize(padded(bias.len()), 0.0);
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

    /// `weight` and `bias` packed by [`pack_weight`] and [`pack_bias`].
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
        let grid = [n.div_ceil(BLOCK_COLS), m.div_ceil(BLOCK_ROWS), 1];
        let params = Params {
            m,
            n,
            k,
            n4: n.div_ceil(4),
        };
        kernel.bind(ctx, label, &params, &[input, weight, bias, output], grid)
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
