//! A recorded compute dispatch: pipeline, bound buffers and grid, ready to be replayed.

/// Invocations per workgroup for the 1-D kernels; the `.wgsl` files declare the same size.
pub const WORKGROUP_SIZE: u32 = 64;
/// Bytes of `len` f32 values.
pub fn f32_bytes(len: impl Into<u64>) -> u64 {
    4 * len.into()
}

/// WebGPU's guaranteed limit on workgroups along one dimension.
const MAX_WORKGROUPS_PER_DIM: u32 = 65_535;

/// One compute dispatch whose bind group is built once, so a forward pass is a fixed list of
/// these that is encoded again on every run without allocating.
#[derive(Clone, Debug)]
pub struct Dispatch {
    pub label: &'static str,
    pub pipeline: wgpu::ComputePipeline,
    pub bind_group: wgpu::BindGroup,
    pub workgroups: [u32; 3],
    /// What it does, as the op that bound it counts.
    pub work: Work,
}

/// What one dispatch does: FLOPs (2 per multiply-add) and compulsory bytes (activations read
/// and written once, weights read once), the numerator of its achieved GFLOP/s and GB/s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Work {
    pub flops: u64,
    pub bytes: u64,
}

impl Dispatch {
    /// This dispatch, doing `flops` and moving `bytes` (see [`Work`]).
    pub fn doing(self, flops: u64, bytes: u64) -> Self {
        Self {
            work: Work { flops, bytes },
            ..self
        }
    }

    pub fn encode(&self, pass: &mut wgpu::ComputePass<'_>) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        let [x, y, z] = self.workgroups;
        pass.dispatch_workgroups(x, y, z);
    }
}

/// Encodes `dispatches` in order into one compute pass, with timestamps at its ends where
/// `writes` are given: a pass, not a pass per dispatch, since each pass costs a barrier.
pub fn encode_in_one_pass<'a>(
    encoder: &mut wgpu::CommandEncoder,
    label: &str,
    dispatches: impl IntoIterator<Item = &'a Dispatch>,
    writes: Option<wgpu::ComputePassTimestampWrites<'_>>,
) {
    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some(label),
        timestamp_writes: writes,
    });
    for dispatch in dispatches {
        dispatch.encode(&mut pass);
    }
}

/// The grid covering `invocations` threads with 1-D workgroups of [`WORKGROUP_SIZE`], folded
/// into a second dimension when one would exceed the per-dimension limit. Kernels recover the
/// linear index as `(id.y * num_workgroups.x) * WORKGROUP_SIZE + id.x`.
pub fn linear_grid(invocations: u32) -> [u32; 3] {
    grid(invocations, WORKGROUP_SIZE)
}

/// As [`linear_grid`], for kernels whose 1-D workgroups hold `workgroup_size` invocations.
pub fn grid(invocations: u32, workgroup_size: u32) -> [u32; 3] {
    let groups = invocations.div_ceil(workgroup_size).max(1);
    if groups <= MAX_WORKGROUPS_PER_DIM {
        [groups, 1, 1]
    } else {
        let y = groups.div_ceil(MAX_WORKGROUPS_PER_DIM);
        [groups.div_ceil(y), y, 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_grid_covers_every_invocation() {
        for n in [1, 63, 64, 65, 4_194_240, 4_194_241, 100_000_000] {
            let [x, y, z] = linear_grid(n);
            assert!(x <= MAX_WORKGROUPS_PER_DIM && y <= MAX_WORKGROUPS_PER_DIM && z == 1);
            assert!(u64::from(x) * u64::from(y) * u64::from(WORKGROUP_SIZE) >= u64::from(n));
        }
    }
}
