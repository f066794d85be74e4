//! `cargo xtask quant-report`: what int8 weights cost InternImage-T, measured on the bundled
//! photographs against the same weights in f32: top-1 agreement, cosine similarity of the
//! logits, and how far the DCNv3 sampling locations move.

use std::time::Instant;

use gpu::GpuContext;
use gpu::check::cosine_similarity;
use gpu::model::Quantized;
use gpu::model::predictions::argmax;
use gpu::model::preprocess::{decode, preprocess};
use gpu::model::sampling::LayerSampling;
use gpu::model::weights::{StoredAs, to_safetensors_as};
use std::path::Path;

use gpu::model::{InternImage, ModelConfig, SafetensorsWeights, SeededWeights, WeightSource};

use crate::workspace_root;

struct Run {
    logits: Vec<f32>,
    sampling: Vec<LayerSampling>,
}

/// Seeded InternImage-T weights, or the f32/f16 safetensors file `weights`.
pub fn run(weights: Option<&Path>) -> Result<(), String> {
    let bytes = match weights {
        Some(path) => std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?,
        None => Vec::new(),
    };
    let file = match weights {
        Some(_) => Some(SafetensorsWeights::parse(&bytes).map_err(|e| e.to_string())?),
        None => None,
    };
    let t = ModelConfig::internimage_t();
    let seeded = SeededWeights::new(&t, 1);
    let (config, source, what): (&ModelConfig, &dyn WeightSource, String) = match (&file, weights) {
        (Some(file), Some(path)) => (&file.config, file, path.display().to_string()),
        _ => (
            &t,
            &seeded,
            "InternImage-T, seeded weights (no official checkpoint here)".into(),
        ),
    };
    pollster::block_on(report(config, source, &what))
}

async fn report(config: &ModelConfig, source: &dyn WeightSource, what: &str) -> Result<(), String> {
    let ctx = GpuContext::new().await.map_err(|e| e.to_string())?;
    let images = sample_inputs()?;
    println!("{what}, {} photographs from public/samples", images.len());
    let reference = runs(&ctx, config, source, &images).await?;
    println!(
        "\n{:<38} {:>9} {:>8} {:>12} {:>16} {:>16}",
        "weights", "size MB", "top-1", "min cosine", "max shift px", "mean shift px"
    );
    let size = |stored_as| {
        to_safetensors_as(config, source, None, None, stored_as).map(|b| b.len() as f64 / 1e6)
    };
    let f32_size = size(StoredAs::F32).map_err(|e| e.to_string())?;
    println!(
        "{:<38} {f32_size:>9.1} {:>8} {:>12} {:>16} {:>16}",
        "f32 (reference)", "-", "-", "-", "-"
    );
    for keep_offset_and_mask in [true, false] {
        let quantized = Quantized {
            inner: source,
            keep_offset_and_mask,
        };
        let started = Instant::now();
        let int8 = runs(&ctx, config, &quantized, &images).await?;
        let stored = size(StoredAs::Int8 {
            keep_offset_and_mask,
        })
        .map_err(|e| e.to_string())?;
        let agree = int8
            .iter()
            .zip(&reference)
            .filter(|(a, b)| argmax(&a.logits) == argmax(&b.logits))
            .count();
        let cosine = int8
            .iter()
            .zip(&reference)
            .map(|(a, b)| cosine_similarity(&a.logits, &b.logits))
            .fold(1.0, f64::min);
        let (max_shift, mean_shift) = shifts(&int8, &reference);
        let name = if keep_offset_and_mask {
            "int8, offset/mask linears f32"
        } else {
            "int8 everywhere"
        };
        println!(
            "{name:<38} {stored:>9.1} {:>8} {cosine:>12.6} {max_shift:>16.3} {mean_shift:>16.4}   ({:.0} s)",
            format!("{agree}/{}", images.len()),
            started.elapsed().as_secs_f64()
        );
    }
    println!(
        "\nshift: distance between the int8 and f32 sampling locations of every point of every \
             DCNv3 layer, in input-image pixels (stride x feature pixels). Target: cosine >= 0.999."
    );
    Ok(())
}

fn sample_inputs() -> Result<Vec<Vec<f32>>, String> {
    let dir = workspace_root().join("public/samples");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jpg"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).map_err(|e| e.to_string())?;
            Ok(preprocess(&decode(&bytes).map_err(|e| e.to_string())?, 224))
        })
        .collect()
}

async fn runs(
    ctx: &GpuContext,
    config: &ModelConfig,
    source: &dyn WeightSource,
    images: &[Vec<f32>],
) -> Result<Vec<Run>, String> {
    let model = InternImage::new(ctx, config, source, [224, 224]).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for image in images {
        let (logits, sampling) = model
            .run_with_all_sampling(ctx, image)
            .await
            .map_err(|e| e.to_string())?;
        out.push(Run { logits, sampling });
    }
    Ok(out)
}

/// (largest, mean) distance in image pixels between matching sampling points.
fn shifts(runs: &[Run], reference: &[Run]) -> (f64, f64) {
    let (mut largest, mut total, mut count) = (0f64, 0f64, 0usize);
    for (run, base) in runs.iter().zip(reference) {
        for (layer, base_layer) in run.sampling.iter().zip(&base.sampling) {
            let stride = f64::from(layer.stride);
            for (a, b) in layer
                .records
                .chunks_exact(3)
                .zip(base_layer.records.chunks_exact(3))
            {
                let d = stride * f64::from(a[0] - b[0]).hypot(f64::from(a[1] - b[1]));
                largest = largest.max(d);
                total += d;
                count += 1;
            }
        }
    }
    (largest, total / count.max(1) as f64)
}
