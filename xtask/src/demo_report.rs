//! `cargo xtask demo-report`: whether the demo model's offsets were learned and mean something,
//! measured through the engine on held-out generated images (`python3 tools/train_demo.py
//! held-out` writes them): accuracy, mean |Δp| per DCNv3 layer, and the rank correlation between
//! a shape's size and the spread of the sampling at its centre, layer by layer, and of the
//! receptive field compounded from each layer down to the image, with the regular grid's part
//! taken out (the page's definitions, gpu::model::sampling).

use std::path::Path;
use std::time::Instant;

use gpu::GpuContext;
use gpu::model::predictions::argmax;
use gpu::model::preprocess::normalise;
use gpu::model::sampling::{Field, LayerSampling, receptive_field, weighted_spread};
use gpu::model::{InternImage, SafetensorsWeights};
use safetensors::SafeTensors;

/// The page's pruning of receptive-field paths (explore.rs).
const FIELD_PRUNE: f32 = 1e-4;

struct HeldOut {
    size: usize,
    images: Vec<u8>,
    labels: Vec<i32>,
    /// Per image: cx, cy, radius (image pixels), aspect, angle, class.
    params: Vec<f32>,
}

fn read_held_out(bytes: &[u8]) -> Result<HeldOut, String> {
    let file = SafeTensors::deserialize(bytes).map_err(|e| e.to_string())?;
    let get = |name: &str| file.tensor(name).map_err(|e| format!("{name}: {e}"));
    let images = get("images")?;
    let size = images.shape()[1];
    Ok(HeldOut {
        size,
        images: images.data().to_vec(),
        labels: bytemuck::pod_collect_to_vec(get("labels")?.data()),
        params: bytemuck::pod_collect_to_vec(get("params")?.data()),
    })
}

/// Mean over groups of the spread of each group's 9 points at the feature pixel nearest (x, y).
fn spread_at(layer: &LayerSampling, x: f32, y: f32) -> f32 {
    let (column, row) = layer.pixel_at(x, y);
    let points = layer.points(column, row, None);
    points
        .chunks(9)
        .map(|group| weighted_spread(group.iter().map(|p| (p.x, p.y, p.weight))))
        .sum::<f32>()
        / layer.groups as f32
}

/// Mean |p - regular| over every point of every pixel, in feature pixels.
fn mean_offset(layer: &LayerSampling) -> f64 {
    let mut total = 0f64;
    let mut count = 0usize;
    for row in 0..layer.height {
        for column in 0..layer.width {
            for p in layer.points(column, row, None) {
                let s = layer.stride as f32;
                total += f64::from(((p.x - p.regular_x) / s).hypot((p.y - p.regular_y) / s));
                count += 1;
            }
        }
    }
    total / count.max(1) as f64
}

/// The spread of the receptive field of layer `top`'s feature pixel nearest (x, y).
fn field_spread(layers: &[LayerSampling], top: usize, x: f32, y: f32, field: Field) -> f32 {
    let (column, row) = layers[top].pixel_at(x, y);
    let points = receptive_field(layers, top, column, row, field, FIELD_PRUNE);
    weighted_spread(points.iter().map(|p| (p.x, p.y, p.weight)))
}

/// Spearman's rank correlation (ties share their mean rank).
pub fn spearman(a: &[f32], b: &[f32]) -> f64 {
    fn ranks(values: &[f32]) -> Vec<f64> {
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
        let mut ranks = vec![0.0; values.len()];
        let mut start = 0;
        while start < order.len() {
            let mut end = start + 1;
            while end < order.len() && values[order[end]] == values[order[start]] {
                end += 1;
            }
            let mean = (start + end - 1) as f64 / 2.0;
            for &i in &order[start..end] {
                ranks[i] = mean;
            }
            start = end;
        }
        ranks
    }
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

pub fn run(weights: &Path, held_out: &Path, limit: usize) -> Result<(), String> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let root = crate::workspace_root();
    let (weights, held_out) = (&root.join(weights), &root.join(held_out));
    let weight_bytes = read(weights)?;
    let held_out_bytes = read(held_out)
        .map_err(|e| format!("{e} (python3 tools/train_demo.py held-out writes it)"))?;
    let file = SafetensorsWeights::parse(&weight_bytes).map_err(|e| e.to_string())?;
    let data = read_held_out(&held_out_bytes)?;
    pollster::block_on(report(&file, &data, limit, weights))
}

async fn report(
    file: &SafetensorsWeights<'_>,
    data: &HeldOut,
    limit: usize,
    weights: &Path,
) -> Result<(), String> {
    let ctx = GpuContext::new().await.map_err(|e| e.to_string())?;
    let size = data.size as u32;
    let model =
        InternImage::new(&ctx, &file.config, file, [size, size]).map_err(|e| e.to_string())?;
    let count = data.labels.len().min(limit);
    let pixels = data.size * data.size * 3;
    let layer_count = model.dcn_layers().len();
    let (mut correct, mut radius) = (0usize, Vec::new());
    let mut by_size = [(0usize, 0usize); 3];
    let mut offsets = vec![0f64; layer_count];
    let mut spreads = vec![Vec::new(); layer_count];
    // Per layer, per image: the receptive field's spread from that layer down.
    let (mut deformable, mut regular) =
        (vec![Vec::new(); layer_count], vec![Vec::new(); layer_count]);
    let mut names = Vec::new();
    let started = Instant::now();
    for i in 0..count {
        let input = normalise(&data.images[i * pixels..(i + 1) * pixels]);
        let (logits, layers) = model
            .run_with_all_sampling(&ctx, &input)
            .await
            .map_err(|e| e.to_string())?;
        let predicted = argmax(&logits);
        let p = &data.params[i * 6..i * 6 + 6];
        let right = predicted as i32 == data.labels[i];
        correct += usize::from(right);
        // Thirds of the log-uniform scale range: small, medium, large.
        let third = ((p[2] / (size as f32 / 2.0) / 0.1).ln() / (8.5f32).ln() * 3.0).clamp(0.0, 2.0)
            as usize;
        by_size[third].0 += usize::from(right);
        by_size[third].1 += 1;
        radius.push(p[2]);
        for (l, layer) in layers.iter().enumerate() {
            offsets[l] += mean_offset(layer) / count as f64;
            spreads[l].push(spread_at(layer, p[0], p[1]));
        }
        for top in 0..layer_count {
            deformable[top].push(field_spread(&layers, top, p[0], p[1], Field::Deformable));
            regular[top].push(field_spread(&layers, top, p[0], p[1], Field::Regular));
        }
        if names.is_empty() {
            names = layers
                .iter()
                .map(|l| {
                    (
                        format!("level {} block {}", l.level, l.block),
                        l.stride,
                        l.groups,
                    )
                })
                .collect();
        }
    }
    let accuracy = correct as f64 / count as f64;
    println!(
        "{} on {count} held-out images ({:.0} s through the engine)",
        weights.display(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "top-1 accuracy: {:.2} % (small {}, medium {}, large shapes {})",
        100.0 * accuracy,
        fraction(by_size[0]),
        fraction(by_size[1]),
        fraction(by_size[2])
    );
    println!(
        "\n{:<20} {:>6} {:>6} {:>14} {:>14} {:>16} {:>22}",
        "DCNv3 layer",
        "stride",
        "groups",
        "mean |Δp| fpx",
        "mean |Δp| px",
        "spread at centre",
        "Spearman(radius, spread)"
    );
    for (l, (name, stride, groups)) in names.iter().enumerate() {
        let mean_spread = spreads[l].iter().sum::<f32>() / count as f32;
        println!(
            "{name:<20} {stride:>6} {groups:>6} {:>14.3} {:>14.2} {:>13.2} px {:>22.3}",
            offsets[l],
            offsets[l] * f64::from(*stride),
            mean_spread,
            spearman(&radius, &spreads[l])
        );
    }
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    // The regular field's spread varies with the shape's size only through clipping at the
    // picture's edge (small shapes sit there more often); deformable / regular takes that out.
    println!(
        "\nreceptive field of the shape's centre, from each layer down to the image:\n{:<20} {:>16} {:>14} {:>18} {:>18} {:>30}",
        "DCNv3 layer",
        "deformable px",
        "regular px",
        "Spearman(r, def.)",
        "Spearman(r, reg.)",
        "Spearman(r, def. / regular)"
    );
    for (l, (name, _, _)) in names.iter().enumerate() {
        let ratio: Vec<f32> = deformable[l]
            .iter()
            .zip(&regular[l])
            .map(|(d, r)| d / r)
            .collect();
        println!(
            "{name:<20} {:>16.1} {:>14.1} {:>18.3} {:>18.3} {:>30.3}",
            mean(&deformable[l]),
            mean(&regular[l]),
            spearman(&radius, &deformable[l]),
            spearman(&radius, &regular[l]),
            spearman(&radius, &ratio)
        );
    }
    println!(
        "\nfpx: feature pixels of the layer; px: input-image pixels (stride x fpx). spread: weighted \
         standard deviation of the sampling locations (mask weights), averaged over groups."
    );
    Ok(())
}

fn fraction((right, total): (usize, usize)) -> String {
    format!("{right}/{total}")
}

#[cfg(test)]
mod tests {
    use super::spearman;

    #[test]
    fn spearman_of_monotone_and_reversed_and_tied_data() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert!((spearman(&a, &[2.0, 4.0, 8.0, 16.0, 32.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&a, &[5.0, 4.0, 3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        // Ranks of [1, 2, 2, 3] are [0, 1.5, 1.5, 3]: the textbook value is 0.9487 against 0..4.
        let r = spearman(&[1.0, 2.0, 3.0, 4.0], &[1.0, 2.0, 2.0, 3.0]);
        assert!((r - 0.948_683).abs() < 1e-5, "{r}");
    }
}
