//! The InternImage forward pass (spec section 2), built once into a fixed list of dispatches over
//! reused buffers, replayed for every image. Tensors are channels last, batch 1; each buffer's
//! shape is given beside it as `[pixels, channels]` or `[H, W, C]`.

use std::collections::HashMap;
use std::sync::Arc;

use super::build::{Builder, Kernels, dcn_bindings};
use super::config::ModelConfig;
use super::sampling::LayerSampling;
use super::weights::WeightSource;
use crate::buffers::{Readback, StagingPool, read_f32, storage_zeroed};
use crate::context::GpuContext;
use crate::dispatch::{Dispatch, encode_in_one_pass};
use crate::error::{Error, Result};
use crate::locked;
use crate::ops::dcnv3::{Dcnv3Shape, Planes, unpack_sampling};
use crate::ops::linear::Linear;

/// One DCNv3 layer of the network, for reading back where it sampled.
#[derive(Clone, Debug)]
pub struct DcnLayer {
    pub level: usize,
    pub block: usize,
    pub shape: Dcnv3Shape,
    /// Image pixels per feature-map pixel at this level (4, 8, 16, 32 for four levels).
    pub stride: u32,
    plan_index: usize,
    buffers: [wgpu::Buffer; 3], // input, points (offsets and mask logits), output
    /// The input as the kernel samples it, where it reads through planes; shared by the level.
    planes: Option<Planes>,
}

pub struct InternImage {
    pub config: ModelConfig,
    /// Input height and width.
    pub input_size: [u32; 2],
    plan: Vec<Dispatch>,
    image: wgpu::Buffer,                          // [H, W, 3]
    logits: wgpu::Buffer,                         // [classes]
    level_outputs: Vec<(wgpu::Buffer, [u32; 3])>, // after each level's norm, [h, w, C]
    dcn_layers: Vec<DcnLayer>,
    kernels: Kernels,
    memory: Memory,
    /// The plain pass recorded ahead of its image ([`InternImage::run`]).
    prepared: std::sync::Mutex<Option<Prepared>>,
    /// The same for [`InternImage::run_exploring`], for the layers it explored last.
    prepared_exploring: std::sync::Mutex<Option<Exploring>>,
    /// By DCNv3 layer, the dispatch that also writes its sampling and the buffer it writes,
    /// made when the layer is first explored and kept: the app explores every layer of every
    /// image. Runs that overlap may share them: the queue runs each pass and its copies before
    /// the next pass.
    explored: std::sync::Mutex<HashMap<usize, (Dispatch, wgpu::Buffer)>>,
    /// Where the runs' readbacks take their staging buffers from and return them.
    staging: Arc<StagingPool>,
}

/// GPU memory the model holds, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    pub weights: u64,
    pub activations: u64,
    /// What reading results back holds: the sampling buffers of the layers explored so far,
    /// the staging buffers kept for the next readback and those of the pass recorded ahead.
    pub readback: u64,
}

/// The pause of a build that never yields.
fn no_pause() -> std::future::Ready<()> {
    std::future::ready(())
}

/// The result of a build whose pauses are all [`no_pause`]: such a future is ready when first
/// polled, since nothing else in a build waits.
fn without_pauses<T>(build: impl Future<Output = T>) -> T {
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::pin!(build).poll(&mut context) {
        std::task::Poll::Ready(built) => built,
        std::task::Poll::Pending => unreachable!("a build without pauses waits for nothing"),
    }
}

impl InternImage {
    /// Checks every tensor of `source` against `config` and builds the forward pass for
    /// `input_size` = [height, width].
    pub fn new(
        ctx: &GpuContext,
        config: &ModelConfig,
        source: &dyn WeightSource,
        input_size: [u32; 2],
    ) -> Result<Self> {
        let linear = Linear::new(ctx, config.parameter_count());
        without_pauses(Self::build(
            ctx, config, source, input_size, linear, no_pause,
        ))
    }

    /// As [`InternImage::new`], awaiting `pause()` after each block and level: on a page, whose one
    /// thread a big model's build would otherwise hold in one long task
    /// (docs/performance.md#the-build-and-the-pages-thread), a pause that yields to the browser
    /// lets it paint and take input meanwhile.
    pub async fn new_with_pauses<F: Future<Output = ()>>(
        ctx: &GpuContext,
        config: &ModelConfig,
        source: &dyn WeightSource,
        input_size: [u32; 2],
        pause: impl FnMut() -> F,
    ) -> Result<Self> {
        let linear = Linear::new(ctx, config.parameter_count());
        Self::build(ctx, config, source, input_size, linear, pause).await
    }

    async fn build<F: Future<Output = ()>>(
        ctx: &GpuContext,
        config: &ModelConfig,
        source: &dyn WeightSource,
        input_size: [u32; 2],
        linear: Linear,
        pause: impl FnMut() -> F,
    ) -> Result<Self> {
        let built = Builder::new(ctx, config, source, input_size, linear)?
            .build(input_size, pause)
            .await?;
        let dcn_layers = (built.dcn_layers.into_iter())
            .map(|layer| DcnLayer {
                level: layer.level,
                block: layer.block,
                shape: layer.shape,
                stride: 4 << layer.level,
                plan_index: layer.plan_index,
                buffers: layer.buffers,
                planes: layer.planes,
            })
            .collect();
        Ok(Self {
            config: config.clone(),
            input_size,
            plan: built.plan,
            image: built.image,
            logits: built.logits,
            level_outputs: built.level_outputs,
            dcn_layers,
            kernels: built.kernels,
            memory: Memory {
                weights: built.weight_bytes,
                activations: built.activation_bytes,
                readback: 0,
            },
            prepared: std::sync::Mutex::new(None),
            prepared_exploring: std::sync::Mutex::new(None),
            explored: std::sync::Mutex::new(HashMap::new()),
            staging: Arc::default(),
        })
    }

    /// Dispatches per forward pass.
    pub fn dispatch_count(&self) -> usize {
        self.plan.len()
    }

    /// FLOPs per forward pass (2 per multiply-add), from the ops' own counts.
    pub fn flops(&self) -> u64 {
        self.plan.iter().map(|d| d.work.flops).sum()
    }

    /// GPU memory held for weights (as stored: int8 where quantized), activations and
    /// readbacks, now.
    pub fn memory(&self) -> Memory {
        let sampling: u64 = locked(&self.explored)
            .values()
            .map(|(_, buffer)| buffer.size())
            .sum();
        let recorded_ahead = locked(&self.prepared_exploring).as_ref().map_or(0, |e| {
            e.pass.readback.staging_bytes() + e.sampling.readback.staging_bytes()
        });
        Memory {
            readback: sampling + self.staging.kept_bytes() + recorded_ahead,
            ..self.memory
        }
    }

    pub fn dcn_layers(&self) -> &[DcnLayer] {
        &self.dcn_layers
    }

    /// Runs the network on a normalised `[H, W, 3]` image and returns the logits.
    ///
    /// The pass is recorded ahead: each run submits the one the previous run recorded, then
    /// records the next while the GPU works, so that recording the dispatches, a sizeable share
    /// of a GPU's pass (docs/performance.md#on-the-h200), is off the path from image to logits.
    pub async fn run(&self, ctx: &GpuContext, image: &[f32]) -> Result<Vec<f32>> {
        self.upload_image(ctx, image)?;
        let taken = locked(&self.prepared).take();
        let Prepared { commands, readback } =
            taken.unwrap_or_else(|| self.record(ctx, &HashMap::new()));
        ctx.queue.submit([commands]);
        let next = self.record(ctx, &HashMap::new());
        // Where a run that overlapped this one has already filled the slot, ours is dropped.
        locked(&self.prepared).get_or_insert(next);
        let mut parts = readback.f32s(ctx).await?;
        Ok(parts.swap_remove(0))
    }

    /// Runs the network writing the sampling of each layer index of [`Self::dcn_layers`] asked
    /// for, and returns the logits as soon as they are read back: the sampling follows through
    /// [`PendingSampling::read`]. The logits come through a staging buffer of their own, so a
    /// person sees the top-5 without waiting for megabytes of sampling
    /// (docs/performance.md#the-hosts-part-and-the-apps-path). As [`Self::run`], the pass for
    /// the same layers is recorded ahead for the next run.
    pub async fn run_exploring(
        &self,
        ctx: &GpuContext,
        image: &[f32],
        layers: &[usize],
    ) -> Result<(Vec<f32>, PendingSampling)> {
        self.upload_image(ctx, image)?;
        let taken = locked(&self.prepared_exploring)
            .take()
            .filter(|prepared| prepared.layers == layers);
        let Exploring {
            pass,
            copies,
            sampling,
            ..
        } = match taken {
            Some(prepared) => prepared,
            None => self.record_exploring(ctx, layers)?,
        };
        ctx.queue.submit([pass.commands]);
        ctx.queue.submit([copies]);
        let next = self.record_exploring(ctx, layers)?;
        locked(&self.prepared_exploring).get_or_insert(next);
        let logits = pass.readback.f32s(ctx).await?.swap_remove(0);
        Ok((logits, sampling))
    }

    /// The pass writing the sampling of `layers` with the copy of its logits, and the copies of
    /// the sampling in a command buffer of their own, submitted after the pass's: the logits'
    /// mapping waits for the pass alone.
    fn record_exploring(&self, ctx: &GpuContext, layers: &[usize]) -> Result<Exploring> {
        let mut substitutes = HashMap::new();
        let mut sampling = Vec::new();
        let mut explored_layers = Vec::new();
        {
            let mut explored = locked(&self.explored);
            for &index in layers {
                let layer = self.dcn_layers.get(index).ok_or_else(|| {
                    Error::Unsupported(format!(
                        "the model has {} DCNv3 layers, not {}",
                        self.dcn_layers.len(),
                        index + 1
                    ))
                })?;
                let words = layer.shape.sampling_words();
                let (dispatch, buffer) = match explored.get(&index) {
                    Some(made) => made.clone(),
                    None => {
                        let buffer = storage_zeroed(ctx, "sampling", words);
                        let kernel = &self.kernels.dcn[&layer.shape.group_channels];
                        // The plan still writes the planes, if any, before this one (in the
                        // depthwise branch's dispatch or one of their own).
                        let dispatch = kernel.bind_kernel(
                            ctx,
                            &layer.shape,
                            &dcn_bindings(&layer.buffers, layer.planes.as_ref(), Some(&buffer)),
                        )?;
                        explored.insert(index, (dispatch.clone(), buffer.clone()));
                        (dispatch, buffer)
                    }
                };
                substitutes.insert(layer.plan_index, dispatch);
                sampling.push((buffer, 4 * words as u64));
                explored_layers.push(layer.clone());
            }
        }
        let pass = self.record(ctx, &substitutes);
        let mut copies = ctx.device.create_command_encoder(&Default::default());
        let sources: Vec<(&wgpu::Buffer, u64)> =
            sampling.iter().map(|(b, size)| (b, *size)).collect();
        let readback = Readback::record(ctx, &mut copies, &sources, Some(&self.staging));
        Ok(Exploring {
            layers: layers.to_vec(),
            pass,
            copies: copies.finish(),
            sampling: PendingSampling {
                readback,
                layers: explored_layers,
            },
        })
    }

    /// Runs the network and also returns, for each layer index of [`Self::dcn_layers`] asked
    /// for, its sampling records `[h, w, G, 9, 3]` = (p_x, p_y, m) in feature-map coordinates.
    pub async fn run_with_sampling(
        &self,
        ctx: &GpuContext,
        image: &[f32],
        layers: &[usize],
    ) -> Result<(Vec<f32>, Vec<Vec<f32>>)> {
        let (logits, pending) = self.run_exploring(ctx, image, layers).await?;
        let records = pending.read(ctx).await?;
        Ok((logits, records.into_iter().map(|l| l.records).collect()))
    }

    /// Runs the network and returns the logits with the sampling of every DCNv3 layer.
    pub async fn run_with_all_sampling(
        &self,
        ctx: &GpuContext,
        image: &[f32],
    ) -> Result<(Vec<f32>, Vec<LayerSampling>)> {
        let every: Vec<usize> = (0..self.dcn_layers.len()).collect();
        let (logits, pending) = self.run_exploring(ctx, image, &every).await?;
        Ok((logits, pending.read(ctx).await?))
    }

    /// The output of `level` after the last run, `[h, w, C]` after the level's norm.
    pub async fn level_output(
        &self,
        ctx: &GpuContext,
        level: usize,
    ) -> Result<(Vec<f32>, [u32; 3])> {
        let (buffer, shape) = self
            .level_outputs
            .get(level)
            .ok_or_else(|| Error::Unsupported(format!("no level {level}")))?;
        Ok((
            read_f32(ctx, buffer, shape.iter().product::<u32>() as usize).await?,
            *shape,
        ))
    }

    /// The pass's dispatches in one compute pass, with `substitutes` for some of them and
    /// `writes` at its ends: what a run submits.
    fn encode_pass(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        substitutes: &HashMap<usize, Dispatch>,
        writes: Option<wgpu::ComputePassTimestampWrites<'_>>,
    ) {
        let dispatches = (self.plan.iter().enumerate())
            .map(|(i, dispatch)| substitutes.get(&i).unwrap_or(dispatch));
        encode_in_one_pass(encoder, "internimage", dispatches, writes);
    }

    /// Checks `image` and queues its upload, which runs before the next submitted work.
    fn upload_image(&self, ctx: &GpuContext, image: &[f32]) -> Result<()> {
        let [h, w] = self.input_size;
        if image.len() != (h * w * 3) as usize {
            return Err(Error::Shape {
                what: "image".into(),
                expected: format!("{h}x{w}x3 = {} values", h * w * 3),
                actual: format!("{} values", image.len()),
            });
        }
        ctx.queue
            .write_buffer(&self.image, 0, bytemuck::cast_slice(image));
        Ok(())
    }

    /// The pass (with `substitutes` for some of its dispatches) and the copy of the logits,
    /// recorded into one command buffer.
    fn record(&self, ctx: &GpuContext, substitutes: &HashMap<usize, Dispatch>) -> Prepared {
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        self.encode_pass(&mut encoder, substitutes, None);
        let logits = (&self.logits, 4 * u64::from(self.config.num_classes));
        let readback = Readback::record(ctx, &mut encoder, &[logits], Some(&self.staging));
        Prepared {
            commands: encoder.finish(),
            readback,
        }
    }
}

/// A pass writing some layers' sampling, and the copies that bring it back, recorded and not
/// yet submitted.
struct Exploring {
    /// The layers explored, in the order asked for.
    layers: Vec<usize>,
    pass: Prepared,
    copies: wgpu::CommandBuffer,
    sampling: PendingSampling,
}

/// The sampling of a run's explored layers, copied on the GPU and not yet read.
pub struct PendingSampling {
    readback: Readback,
    layers: Vec<DcnLayer>,
}

impl PendingSampling {
    /// The explored layers' sampling, in the order asked for, once the copies are done.
    pub async fn read(self, ctx: &GpuContext) -> Result<Vec<LayerSampling>> {
        let parts = self.readback.bytes(ctx).await?;
        Ok((self.layers.iter().zip(parts))
            .map(|(layer, bytes)| LayerSampling {
                level: layer.level,
                block: layer.block,
                stride: layer.stride,
                height: layer.shape.height,
                width: layer.shape.width,
                groups: layer.shape.groups,
                records: unpack_sampling(&layer.shape, &bytemuck::pod_collect_to_vec(&bytes)),
            })
            .collect())
    }
}

/// A pass and the copies that bring its results back, recorded and not yet submitted.
struct Prepared {
    commands: wgpu::CommandBuffer,
    readback: Readback,
}

/// What the bench reaches into (feature `tuning`): the page and the CLI never need it.
#[cfg(feature = "tuning")]
impl InternImage {
    /// As [`InternImage::new`], with the tiled linear kernel's `tile` whatever the adapter, to
    /// compare tiles on the whole network.
    pub fn with_tile(
        ctx: &GpuContext,
        config: &ModelConfig,
        source: &dyn WeightSource,
        input_size: [u32; 2],
        tile: crate::ops::linear::Tile,
    ) -> Result<Self> {
        let linear = Linear::tiled(ctx, tile);
        without_pauses(Self::build(
            ctx, config, source, input_size, linear, no_pause,
        ))
    }

    /// The forward pass's dispatches in order, each with its work, for per-op timing.
    pub fn dispatches(&self) -> &[Dispatch] {
        &self.plan
    }

    /// The pass's dispatches in one compute pass between `writes`.
    pub fn encode_timed_pass(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        writes: Option<wgpu::ComputePassTimestampWrites<'_>>,
    ) {
        self.encode_pass(encoder, &HashMap::new(), writes);
    }
}
