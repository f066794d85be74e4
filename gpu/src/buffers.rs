//! Creating storage buffers from host data and reading them back.

use std::sync::{Arc, Mutex};

use wgpu::util::DeviceExt;

use crate::context::GpuContext;
use crate::error::{Error, Result};
use crate::locked;

/// A storage buffer initialised from `data`, which can be copied in and out.
pub fn storage_from<T: bytemuck::Pod>(ctx: &GpuContext, label: &str, data: &[T]) -> wgpu::Buffer {
    ctx.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::cast_slice(data),
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_DST
                | wgpu::BufferUsages::COPY_SRC,
        })
}

/// A zeroed storage buffer of `len` f32 that can be copied out.
pub fn storage_zeroed(ctx: &GpuContext, label: &str, len: usize) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        // wgpu rejects zero-sized bindings; a 1x1 op still gets a valid buffer.
        size: (len.max(4) * 4) as u64,
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// Copies the first `len` f32 of `buffer` to the host.
pub async fn read_f32(ctx: &GpuContext, buffer: &wgpu::Buffer, len: usize) -> Result<Vec<f32>> {
    let bytes = read_bytes(ctx, buffer, (len * 4) as u64).await?;
    Ok(bytemuck::pod_collect_to_vec(&bytes))
}

/// Copies the first `size` bytes of `buffer` (a multiple of 4) to the host.
pub async fn read_bytes(ctx: &GpuContext, buffer: &wgpu::Buffer, size: u64) -> Result<Vec<u8>> {
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("readback"),
        });
    let readback = Readback::record(ctx, &mut encoder, &[(buffer, size)], None);
    ctx.queue.submit([encoder.finish()]);
    let mut parts = readback.bytes(ctx).await?;
    Ok(parts.swap_remove(0))
}

/// Copies of several buffers to the host, recorded into the command buffer of the work that
/// writes them: one submit runs the work and the copies, and one mapping of one staging
/// buffer brings them all back. In a browser each mapping is a round trip to the GPU process,
/// so buffers read one by one cost far more than one mapping of them all
/// (docs/performance.md#the-hosts-part-and-the-apps-path).
pub struct Readback {
    staging: wgpu::Buffer,
    ranges: Vec<std::ops::Range<u64>>,
    /// Where the staging buffer goes back once read, or dropped unread (a later image's
    /// readback overtook it), if it came from one.
    pool: Option<Arc<StagingPool>>,
}

impl Drop for Readback {
    fn drop(&mut self) {
        if let Some(pool) = &self.pool {
            pool.give(self.staging.clone());
        }
    }
}

impl Readback {
    /// Records copies of the first `size` bytes (multiples of 4) of each buffer, into a
    /// staging buffer from `pool` where one is given.
    pub fn record(
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        sources: &[(&wgpu::Buffer, u64)],
        pool: Option<&Arc<StagingPool>>,
    ) -> Self {
        let mut ranges = Vec::with_capacity(sources.len());
        let mut end = 0;
        for (_, size) in sources {
            ranges.push(end..end + size);
            end += size;
        }
        let staging = match pool {
            Some(pool) => pool.take(ctx, end),
            None => StagingPool::create(ctx, end),
        };
        for ((buffer, size), range) in sources.iter().zip(&ranges) {
            encoder.copy_buffer_to_buffer(buffer, 0, &staging, range.start, *size);
        }
        Self {
            staging,
            ranges,
            pool: pool.cloned(),
        }
    }

    /// GPU memory its staging buffer holds.
    pub fn staging_bytes(&self) -> u64 {
        self.staging.size()
    }

    /// Each copied buffer's bytes, in the order recorded, once the submitted copies are done.
    pub async fn bytes(mut self, ctx: &GpuContext) -> Result<Vec<Vec<u8>>> {
        let read = self.map_and_copy(ctx).await;
        if read.is_err() {
            // A buffer whose mapping failed goes nowhere but away.
            self.pool = None;
        }
        read
    }

    async fn map_and_copy(&self, ctx: &GpuContext) -> Result<Vec<Vec<u8>>> {
        let slice = self.staging.slice(..);
        let (sender, receiver) = futures_channel::oneshot::channel();
        slice.map_async(wgpu::MapMode::Read, move |result| {
            let _ = sender.send(result);
        });
        ctx.wait_idle();
        receiver
            .await
            .map_err(|_| Error::Readback("the device was lost before the copy finished".into()))?
            .map_err(|e| Error::Readback(e.to_string()))?;
        let parts = {
            let mapped = slice
                .get_mapped_range()
                .map_err(|e| Error::Readback(e.to_string()))?;
            self.ranges
                .iter()
                .map(|r| mapped[r.start as usize..r.end as usize].to_vec())
                .collect()
        };
        self.staging.unmap();
        Ok(parts)
    }

    /// As [`Readback::bytes`], as f32.
    pub async fn f32s(self, ctx: &GpuContext) -> Result<Vec<Vec<f32>>> {
        Ok(self
            .bytes(ctx)
            .await?
            .iter()
            .map(|bytes| bytemuck::pod_collect_to_vec(bytes))
            .collect())
    }
}

/// Staging buffers kept for the next readback: a fresh mappable buffer of several MB is dear
/// in a browser, dearer than reusing one (docs/performance.md#the-hosts-part-and-the-apps-path).
#[derive(Default)]
pub struct StagingPool(Mutex<Vec<wgpu::Buffer>>);

impl StagingPool {
    /// The smallest kept buffer of at least `size` bytes, or a new one.
    fn take(&self, ctx: &GpuContext, size: u64) -> wgpu::Buffer {
        let mut kept = locked(&self.0);
        let fitting = kept
            .iter()
            .enumerate()
            .filter(|(_, b)| b.size() >= size)
            .min_by_key(|(_, b)| b.size())
            .map(|(i, _)| i);
        match fitting {
            Some(i) => kept.swap_remove(i),
            None => Self::create(ctx, size),
        }
    }

    fn give(&self, buffer: wgpu::Buffer) {
        locked(&self.0).push(buffer);
    }

    /// GPU memory the kept buffers hold.
    pub fn kept_bytes(&self) -> u64 {
        locked(&self.0).iter().map(wgpu::Buffer::size).sum()
    }

    fn create(ctx: &GpuContext, size: u64) -> wgpu::Buffer {
        ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: size.max(4),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }
}
