//! Creating storage buffers from host data and reading them back.

use wgpu::util::DeviceExt;

use crate::context::GpuContext;
use crate::error::{Error, Result};

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
    let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: size.max(4),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("readback"),
        });
    encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, size);
    ctx.queue.submit([encoder.finish()]);

    let slice = staging.slice(..size);
    let (sender, receiver) = futures_channel::oneshot::channel();
    slice.map_async(wgpu::MapMode::Read, move |result| {
        let _ = sender.send(result);
    });
    ctx.wait_idle();
    receiver
        .await
        .map_err(|_| Error::Readback("the device was lost before the copy finished".into()))?
        .map_err(|e| Error::Readback(e.to_string()))?;
    let data = slice
        .get_mapped_range()
        .map_err(|e| Error::Readback(e.to_string()))?
        .to_vec();
    staging.unmap();
    Ok(data)
}
