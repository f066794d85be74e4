//! `internimage`: the engine without a browser, for researchers.
//!
//! ```text
//! internimage classify photo.jpg --weights internimage_t.safetensors --top 5
//! internimage classify --tensor input.safetensors --weights w.safetensors --dump out.safetensors --layers 0.0,2.17
//! internimage seeded-weights --variant t --seed 1 -o seeded_t.safetensors
//! internimage convert internimage_t_1k_224.pth -o internimage_t.safetensors --dtype f16 --labels imagenet.txt
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use gpu::GpuContext;
use gpu::model::predictions::top_k;
use gpu::model::preprocess::{decode, preprocess};
use gpu::model::weights::{SeededWeights, StoredAs, to_safetensors};
use gpu::model::{InternImage, ModelConfig, SafetensorsWeights};

const INPUT_SIZE: u32 = 224;

#[derive(Parser)]
#[command(
    name = "internimage",
    about = "InternImage on the GPU (wgpu/Vulkan), without a browser"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Classify an image file (JPEG, PNG, WebP) or a raw input tensor.
    Classify {
        /// The image to classify (preprocessed as the official evaluation does).
        image: Option<PathBuf>,
        /// A safetensors file holding `input` [1, 3, H, W] f32, already normalised, instead.
        #[arg(long, conflicts_with = "image")]
        tensor: Option<PathBuf>,
        /// Weights in safetensors with the model config in the metadata.
        #[arg(long)]
        weights: PathBuf,
        #[arg(long, default_value_t = 5)]
        top: usize,
        /// Write the logits (and sampling data of --layers) to this safetensors file.
        #[arg(long)]
        dump: Option<PathBuf>,
        /// DCNv3 layers to dump, as LEVEL.BLOCK, comma separated (e.g. 0.0,2.17).
        #[arg(long, value_delimiter = ',', requires = "dump")]
        layers: Vec<String>,
    },
    /// Convert an official checkpoint (the .pth release, or the Hugging Face Hub's
    /// model.safetensors) to safetensors with its config in the metadata. Every tensor is checked
    /// against the variant read off the shapes.
    Convert {
        checkpoint: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
        #[arg(long, value_enum, default_value_t = Precision::F32)]
        dtype: Precision,
        /// Class names, one per line, to carry in the metadata (default for 1000 classes: the
        /// ImageNet-1k names in public/labels/imagenet-1k.txt).
        #[arg(long)]
        labels: Option<PathBuf>,
        /// DCNv3 offset scale; it cannot be read off the shapes (1.0 for InternImage-T).
        #[arg(long, default_value_t = 1.0)]
        offset_scale: f32,
        /// What to say the weights are, shown by the page.
        #[arg(long)]
        description: Option<String>,
    },
    /// Write seeded random weights for a variant (to run the engine without a checkpoint).
    SeededWeights {
        #[arg(long, value_enum, default_value_t = Variant::T)]
        variant: Variant,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(short, long)]
        output: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Precision {
    F32,
    F16,
    /// Linear and dense-convolution weights int8, one scale per output channel (`cargo xtask
    /// quant-report` measured the offset and mask linears as safe to quantize too).
    Int8,
}

#[derive(Clone, Copy, ValueEnum)]
enum Variant {
    /// InternImage-T: 30M parameters.
    T,
    /// A 16-channel, 5-block member of the family used by the tests.
    Tiny,
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Classify {
            image,
            tensor,
            weights,
            top,
            dump,
            layers,
        } => pollster::block_on(classify(image, tensor, &weights, top, dump, &layers)),
        Command::SeededWeights {
            variant,
            seed,
            output,
        } => seeded_weights(variant, seed, &output),
        Command::Convert {
            checkpoint,
            output,
            dtype,
            labels,
            offset_scale,
            description,
        } => convert(
            &checkpoint,
            &output,
            dtype,
            labels.as_deref(),
            offset_scale,
            description,
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("internimage: {message}");
            ExitCode::FAILURE
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

async fn classify(
    image: Option<PathBuf>,
    tensor: Option<PathBuf>,
    weights_path: &Path,
    top: usize,
    dump: Option<PathBuf>,
    layers: &[String],
) -> Result<(), String> {
    let (input, size) = match (image, tensor) {
        (Some(path), None) => {
            let decoded = decode(&read(&path)?).map_err(|e| format!("{}: {e}", path.display()))?;
            (preprocess(&decoded, INPUT_SIZE), [INPUT_SIZE, INPUT_SIZE])
        }
        (None, Some(path)) => read_input_tensor(&path)?,
        _ => return Err("give an image or --tensor".into()),
    };
    let bytes = read(weights_path)?;
    let weights = SafetensorsWeights::parse(&bytes)
        .map_err(|e| format!("{}: {e}", weights_path.display()))?;
    let ctx = GpuContext::new().await.map_err(|e| e.to_string())?;
    println!("adapter: {} ({:?})", ctx.adapter.name, ctx.adapter.backend);

    let started = Instant::now();
    // Out of GPU memory, or work the GPU refuses: a message, not a panic.
    let model = ctx
        .checked(async { InternImage::new(&ctx, &weights.config, &weights, size) })
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "model: {} channels, depths {:?}, {} dispatches, {:.2} GFLOP; built in {:.0} ms",
        weights.config.channels,
        weights.config.depths,
        model.dispatch_count(),
        model.flops() as f64 / 1e9,
        started.elapsed().as_secs_f64() * 1e3
    );
    let chosen = layers
        .iter()
        .map(|l| layer_index(&model, l))
        .collect::<Result<Vec<_>, _>>()?;
    let started = Instant::now();
    let (logits, sampling) = ctx
        .checked(model.run_with_sampling(&ctx, &input, &chosen))
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "forward pass: {:.0} ms (first run, pipelines warm)",
        started.elapsed().as_secs_f64() * 1e3
    );

    for (rank, (class, probability)) in top_k(&logits, top)
        .map_err(|e| format!("no prediction: {e}"))?
        .into_iter()
        .enumerate()
    {
        let label = weights
            .labels
            .as_ref()
            .map_or("(the weights carry no labels)", |l| &l[class]);
        println!(
            "{:>2}. class {class:>4}  {:>7.3} %  {label}",
            rank + 1,
            probability * 100.0
        );
    }
    if let Some(path) = dump {
        write_dump(&path, &model, &logits, &chosen, &sampling)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// `input` [1, 3, H, W] f32 from a safetensors file, as the engine's channels-last [H, W, 3].
fn read_input_tensor(path: &Path) -> Result<(Vec<f32>, [u32; 2]), String> {
    let bytes = read(path)?;
    let file = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let view = file
        .tensor("input")
        .map_err(|_| format!("{}: no tensor named `input`", path.display()))?;
    let &[1, 3, h, w] = view.shape() else {
        return Err(format!(
            "{}: `input` has shape {:?}, expected [1, 3, H, W]",
            path.display(),
            view.shape()
        ));
    };
    if view.dtype() != safetensors::Dtype::F32 {
        return Err(format!(
            "{}: `input` is {:?}, expected F32",
            path.display(),
            view.dtype()
        ));
    }
    let planes: Vec<f32> = bytemuck::pod_collect_to_vec(view.data());
    let hwc = (0..h * w)
        .flat_map(|p| (0..3).map(move |c| (c, p)))
        .map(|(c, p)| planes[c * h * w + p])
        .collect();
    Ok((hwc, [h as u32, w as u32]))
}

fn layer_index(model: &InternImage, spec: &str) -> Result<usize, String> {
    let parsed = spec
        .split_once('.')
        .and_then(|(l, b)| Some((l.parse::<usize>().ok()?, b.parse::<usize>().ok()?)));
    let (level, block) = parsed.ok_or_else(|| format!("layer `{spec}` is not LEVEL.BLOCK"))?;
    model
        .dcn_layers()
        .iter()
        .position(|l| l.level == level && l.block == block)
        .ok_or_else(|| format!("the model has no DCNv3 layer {level}.{block}"))
}

fn write_dump(
    path: &Path,
    model: &InternImage,
    logits: &[f32],
    chosen: &[usize],
    sampling: &[Vec<f32>],
) -> Result<(), String> {
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = vec![(
        "logits".into(),
        vec![logits.len()],
        bytemuck::cast_slice(logits).to_vec(),
    )];
    let mut strides = HashMap::new();
    for (&index, records) in chosen.iter().zip(sampling) {
        let layer = &model.dcn_layers()[index];
        let s = layer.shape;
        let name = format!("levels.{}.blocks.{}.dcn.sampling", layer.level, layer.block);
        strides.insert(name.clone(), layer.stride);
        let shape = vec![s.height as usize, s.width as usize, s.groups as usize, 9, 3];
        tensors.push((name, shape, bytemuck::cast_slice(records).to_vec()));
    }
    let views = tensors
        .iter()
        .map(|(n, s, b)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                .map(|v| (n.clone(), v))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let metadata = HashMap::from([
        ("sampling_layout".to_owned(), "[h, w, G, 9, 3] = (p_x, p_y, m): feature-map location (x = column, pixel centres at integers) and softmaxed modulation weight; image pixel = stride * p; packed on the GPU, so within 0.002 feature pixels and 1e-5 of the kernel's".to_owned()),
        ("strides".to_owned(), serde_json::to_string(&strides).expect("serialises")),
    ]);
    let bytes = safetensors::serialize(views, Some(metadata)).map_err(|e| e.to_string())?;
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn convert(
    path: &Path,
    output: &Path,
    dtype: Precision,
    labels: Option<&Path>,
    offset_scale: f32,
    description: Option<String>,
) -> Result<(), String> {
    let at = |e: convert::ConvertError| format!("{}: {e}", path.display());
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .len();
    if size > convert::MAX_CHECKPOINT_BYTES {
        return Err(at(convert::ConvertError::TooLarge { size }));
    }
    let bytes = read(path)?;
    let labels = labels.map(read_labels).transpose()?;
    let options = convert::Options {
        stored_as: match dtype {
            Precision::F32 => StoredAs::F32,
            Precision::F16 => StoredAs::F16,
            Precision::Int8 => StoredAs::Int8 {
                keep_offset_and_mask: false,
            },
        },
        labels,
        offset_scale,
        description,
        source_name: path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
    };
    let converted = convert::convert(&bytes, &options, &mut |_, _| {}).map_err(at)?;
    std::fs::write(output, &converted.bytes)
        .map_err(|e| format!("cannot write {}: {e}", output.display()))?;
    let config = &converted.config;
    println!(
        "read {} tensors from {} ({:?}, state dict under {}); variant: {} channels, depths {:?}, groups {:?}, {} classes",
        converted.tensors_read,
        path.display(),
        converted.format,
        converted.found_under,
        config.channels,
        config.depths,
        config.groups,
        config.num_classes
    );
    println!(
        "wrote {} ({:.1} MB)",
        output.display(),
        converted.bytes.len() as f64 / 1e6
    );
    Ok(())
}

/// Class names, one per line, blank lines skipped.
fn read_labels(file: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect())
}

fn seeded_weights(variant: Variant, seed: u64, output: &Path) -> Result<(), String> {
    let config = match variant {
        Variant::T => ModelConfig::internimage_t(),
        Variant::Tiny => ModelConfig::test_tiny(),
    };
    let description = format!(
        "InternImage ({} channels, depths {:?}) with seeded random weights (seed {seed}): \
         the real network runs, but its predictions and offsets mean nothing",
        config.channels, config.depths
    );
    let seeded = SeededWeights::new(&config, seed);
    let bytes =
        to_safetensors(&config, &seeded, None, Some(&description)).map_err(|e| e.to_string())?;
    std::fs::write(output, &bytes)
        .map_err(|e| format!("cannot write {}: {e}", output.display()))?;
    println!(
        "wrote {} ({:.1} MB, seeded random weights: predictions mean nothing)",
        output.display(),
        bytes.len() as f64 / 1e6
    );
    Ok(())
}
