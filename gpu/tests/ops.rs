//! Every kernel besides DCNv3 against its CPU reference on seeded random inputs.

mod common;

use common::{context, dcnv3_inputs};
use gpu::buffers::{read_f32, storage_from, storage_zeroed};
use gpu::check::Comparison;
use gpu::model::quant;
use gpu::ops::conv2d::{self, Conv2d, Conv2dShape};
use gpu::ops::dcnv3::{self, Dcnv3, Dcnv3Buffers, Dcnv3Read, Dcnv3Shape};
use gpu::ops::dwconv::{self, DcnPlanes, DwConv, DwConvBuffers, InputNorm};
use gpu::ops::layernorm::reference::layer_norm;
use gpu::ops::layernorm::{self, LayerNorm, NormLayout};
use gpu::ops::linear::{self, Epilogue, Linear, LinearBuffers, LinearWeights, PackedWeights, Tile};
use gpu::ops::pool::{self, MeanPool};
use gpu::ops::submit;
use gpu::seeded::SeededRng;
use half::f16;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// f32 kernels against f64 references, sums of up to a few thousand terms.
const TOLERANCE: f64 = 1e-5;
const EPS: f32 = 1e-6;

/// wgpu 30 maps no `subgroups` feature on WebGPU, so the engine asks for it itself
/// (context.rs): where the browser's adapter offers subgroups of one width, the engine must
/// know it, or the linear layers silently lose their subgroup kernel (Chromium's SwiftShader:
/// 4 lanes).
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen_test::wasm_bindgen_test]
async fn the_engine_has_subgroups_wherever_the_browser_adapter_offers_them() {
    #[wasm_bindgen::prelude::wasm_bindgen(inline_js = r#"
export async function offered_subgroup_size() {
    const adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
    const info = adapter && adapter.info;
    const single = info && info.subgroupMinSize === info.subgroupMaxSize;
    return adapter && adapter.features.has("subgroups") && single ? info.subgroupMinSize : 0;
}
"#)]
    extern "C" {
        fn offered_subgroup_size() -> js_sys::Promise;
    }
    let offered = wasm_bindgen_futures::JsFuture::from(offered_subgroup_size())
        .await
        .expect("the adapter's features")
        .as_f64()
        .map(|size| size as u32)
        .filter(|&size| size > 0);
    let ctx = context().await;
    common::log(&format!(
        "subgroups offered: {offered:?}; the engine's: {:?}",
        ctx.adapter.subgroup_size
    ));
    assert_eq!(ctx.adapter.subgroup_size, offered);
}

fn random(rng: &mut SeededRng, len: usize) -> Vec<f32> {
    rng.uniform_vec(len, -1.0, 1.0)
}

/// The tiled kernel with each tile, and the adapter's own choice (on llvmpipe and in Chromium
/// the subgroup kernel).
fn every_linear_kernel(ctx: &gpu::GpuContext) -> [Linear; 4] {
    [
        Linear::tiled(ctx, Tile::SMALL),
        Linear::tiled(ctx, Tile::LARGE),
        Linear::tiled(ctx, Tile::GPU),
        Linear::new(ctx, 0),
    ]
}

/// `lin` on `[m, n, k]` with `weights`, which hold `values` (PyTorch's `[N, K]`, as the GPU
/// sees them), on seeded inputs and a seeded residual stream, against the f64 reference.
#[allow(clippy::too_many_arguments)]
async fn assert_linear_matches(
    ctx: &gpu::GpuContext,
    lin: &Linear,
    rng: &mut SeededRng,
    [m, n, k]: [u32; 3],
    epilogue: Epilogue,
    weights: &LinearWeights,
    values: &[f32],
    format: &str,
) {
    let input = random(rng, (m * k) as usize);
    let bias = random(rng, n as usize);
    let residual = random(rng, (m * n) as usize);
    let (i, b) = (
        storage_from(ctx, "in", &input),
        storage_from(ctx, "b", &linear::pack_bias(&bias)),
    );
    // The output starts as the residual stream, for the accumulating epilogue.
    let out = storage_from(ctx, "out", &residual);
    let buffers = LinearBuffers {
        input: &i,
        weights,
        bias: &b,
        output: &out,
        norm: None,
    };
    let dispatch = lin.bind(ctx, [m, n, k], epilogue, &buffers);
    submit(ctx, &[&dispatch]);
    let got = read_f32(ctx, &out, (m * n) as usize).await.unwrap();
    let expected =
        linear::reference::linear(&input, values, &bias, k as usize, epilogue, Some(&residual));
    let kernel = lin.kernel_for([m, n, k]);
    Comparison::new(&got, &expected).assert_within(
        TOLERANCE,
        &format!("{format} linear {m}x{n}x{k} {epilogue:?} {kernel:?}"),
    );
}

/// Activations as a LayerNorm meets them: a mean far from zero, beside which the spread is
/// small, and channels of their own scale.
fn offset_rows(rng: &mut SeededRng, rows: usize, channels: usize) -> Vec<f32> {
    let scales = rng.uniform_vec(channels, 0.2, 3.0);
    let values = random(rng, rows * channels);
    (values.iter().enumerate())
        .map(|(i, v)| 6.0 + v * scales[i % channels])
        .collect()
}

/// Each row's mean and 1 / std in f64, as the folded norm writes them.
fn row_stats(input: &[f32], channels: usize, eps: f64) -> Vec<f32> {
    input
        .chunks_exact(channels)
        .flat_map(|x| {
            let (mean, inverse_std) = layernorm::reference::mean_and_inverse_std(x, eps);
            [mean as f32, inverse_std as f32]
        })
        .collect()
}

/// `lin` with a LayerNorm of seeded gamma and beta folded in, over rows with an offset mean,
/// against the norm then the linear in f64; and the rows' statistics it writes.
#[allow(clippy::too_many_arguments)]
async fn assert_folded_norm_matches(
    ctx: &gpu::GpuContext,
    lin: &Linear,
    rng: &mut SeededRng,
    [m, n, k]: [u32; 3],
    epilogue: Epilogue,
    packed: PackedWeights<'_>,
    values: &[f32],
    format: &str,
) {
    let input = offset_rows(rng, m as usize, k as usize);
    let gamma = rng.uniform_vec(k as usize, 0.5, 1.5);
    let beta = random(rng, k as usize);
    let bias = random(rng, n as usize);
    let residual = random(rng, (m * n) as usize);
    let fold = lin.upload_after_norm(ctx, "w", packed, [n, k], &bias, [&gamma, &beta]);
    let (i, out) = (
        storage_from(ctx, "in", &input),
        storage_from(ctx, "out", &residual),
    );
    let stats = storage_zeroed(ctx, "stats", 2 * m as usize);
    let dispatch = lin.bind(
        ctx,
        [m, n, k],
        epilogue,
        &fold.buffers(&i, &out, &stats, EPS),
    );
    submit(ctx, &[&dispatch]);
    let got = read_f32(ctx, &out, (m * n) as usize).await.unwrap();
    let normed = layer_norm(&input, k as usize, &gamma, &beta, f64::from(EPS), false);
    let expected = linear::reference::linear(
        &normed,
        values,
        &bias,
        k as usize,
        epilogue,
        Some(&residual),
    );
    let what = format!(
        "{format} layernorm+linear {m}x{n}x{k} {epilogue:?} {:?}",
        lin.kernel_for([m, n, k])
    );
    Comparison::new(&got, &expected).assert_within(TOLERANCE, &what);
    let got = read_f32(ctx, &stats, 2 * m as usize).await.unwrap();
    let expected = row_stats(&input, k as usize, f64::from(EPS));
    Comparison::new(&got, &expected).assert_within(TOLERANCE, &format!("{what}: statistics"));
}

dual_test! {
    /// A GPU error inside checked work is the engine's error, not a panic (natively) or a line
    /// in the console (in a browser), and the device works on after it.
    async fn a_gpu_error_in_checked_work_is_an_error_and_the_device_goes_on() {
        let ctx = context().await;
        let too_big = ctx.device.limits().max_buffer_size.saturating_add(256);
        let refused = ctx
            .checked(async {
                let _ = ctx.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("larger than the device allows"),
                    size: too_big,
                    usage: wgpu::BufferUsages::STORAGE,
                    mapped_at_creation: false,
                });
                Ok(())
            })
            .await;
        common::log(&format!("refused: {refused:?}"));
        assert!(
            matches!(refused, Err(gpu::Error::GpuValidation(_) | gpu::Error::GpuOutOfMemory(_))),
            "{refused:?}"
        );
        let values = ctx
            .checked(async {
                let buffer = storage_from(&ctx, "after", &[1.5f32, -2.0]);
                read_f32(&ctx, &buffer, 2).await
            })
            .await
            .expect("the device works after a refused piece of work");
        assert_eq!(values, [1.5, -2.0]);
    }

    async fn conv2d_matches_reference() {
        let ctx = context().await;
        let linear = Linear::new(&ctx, 0);
        let mut rng = SeededRng::new(21);
        // im2col with an invocation a tap (CPU adapters) and a chunk (GPUs).
        for conv in [true, false].map(|whole_taps| Conv2d::with_whole_taps(&ctx, whole_taps)) {
            // The stem's first layer (3 channels in), an odd size, stride 1 and a downsample shape.
            for (h, w, cin, cout, stride) in [(23, 17, 3, 32, 2), (9, 9, 32, 64, 2), (5, 6, 8, 4, 1), (14, 14, 64, 128, 2), (1, 1, 4, 8, 2)] {
                let shape = Conv2dShape { in_height: h, in_width: w, in_channels: cin, out_channels: cout, stride };
                let input = random(&mut rng, shape.input_len());
                let weight = random(&mut rng, shape.weight_len());
                let bias = random(&mut rng, cout as usize);
                let packed = conv2d::pack_weight(&weight, cout as usize, cin as usize);
                let weights = linear.upload(&ctx, "w", PackedWeights::F32(&packed), [cout, shape.row_len()]);
                let (i, b) = (storage_from(&ctx, "in", &input), storage_from(&ctx, "b", &bias));
                let out = storage_zeroed(&ctx, "out", shape.output_len());
                // NaN where im2col writes nothing would show in the output: it writes the rows' padding too.
                let columns = storage_from(&ctx, "columns", &vec![f32::NAN; shape.columns_len()]);
                let buffers = LinearBuffers { input: &columns, weights: &weights, bias: &b, output: &out, norm: None };
                let [gather, multiply] = conv.bind(&ctx, &linear, &shape, &i, &buffers).unwrap();
                submit(&ctx, &[&gather, &multiply]);
                let got = read_f32(&ctx, &out, shape.output_len()).await.unwrap();
                let expected = conv2d::reference::conv2d(&shape, &input, &weight, Some(&bias));
                Comparison::new(&got, &expected).assert_within(TOLERANCE, &format!("conv2d {shape:?}"));
            }
        }
    }

    async fn int8_conv2d_matches_the_reference_on_its_dequantized_weights() {
        let ctx = context().await;
        let (conv, linear) = (Conv2d::new(&ctx), Linear::new(&ctx, 0));
        let mut rng = SeededRng::new(27);
        for (h, w, cin, cout, stride) in [(23, 17, 3, 32, 2), (9, 9, 32, 64, 2), (14, 14, 64, 128, 2), (5, 6, 8, 4, 1)] {
            let shape = Conv2dShape { in_height: h, in_width: w, in_channels: cin, out_channels: cout, stride };
            let input = random(&mut rng, shape.input_len());
            let weight = random(&mut rng, shape.weight_len());
            let bias = random(&mut rng, cout as usize);
            let (q, scales) = quant::quantize_rows(&weight, cout as usize);
            let words = conv2d::pack_weight_int8(&q, cout as usize, cin as usize);
            let weights = linear.upload(&ctx, "q", PackedWeights::Int8 { words: &words, scales: &scales }, [cout, shape.row_len()]);
            let (i, b) = (storage_from(&ctx, "in", &input), storage_from(&ctx, "b", &bias));
            let out = storage_zeroed(&ctx, "out", shape.output_len());
            let columns = storage_zeroed(&ctx, "columns", shape.columns_len());
            let buffers = LinearBuffers { input: &columns, weights: &weights, bias: &b, output: &out, norm: None };
            let [gather, multiply] = conv.bind(&ctx, &linear, &shape, &i, &buffers).unwrap();
            submit(&ctx, &[&gather, &multiply]);
            let got = read_f32(&ctx, &out, shape.output_len()).await.unwrap();
            let dequantized = quant::dequantize_rows(&q, &scales);
            let expected = conv2d::reference::conv2d(&shape, &input, &dequantized, Some(&bias));
            Comparison::new(&got, &expected).assert_within(TOLERANCE, &format!("int8 conv2d {shape:?}"));
        }
    }

    async fn layernorm_matches_reference_with_and_without_gelu() {
        let ctx = context().await;
        let mut rng = SeededRng::new(22);
        // Both layouts; for teams, channels that fill them (64, 512), leave lanes idle (40, 320,
        // 768) and are past what a team holds (4,104: four pixels per invocation instead).
        for norm in [LayerNorm::with_layout(NormLayout::FourPixels), LayerNorm::with_layout(NormLayout::Teams)] {
        for (pixels, channels, gelu) in [(3136, 64, false), (97, 40, true), (1, 512, false), (49, 768, true), (196, 320, false), (3, 4104, false)] {
            // An offset mean, as activations have, tests the two-pass variance.
            let input: Vec<f32> = random(&mut rng, pixels * channels).iter().map(|v| 3.0 * v + 5.0).collect();
            let weight = rng.uniform_vec(channels, 0.5, 1.5);
            let bias = random(&mut rng, channels);
            let bufs = [storage_from(&ctx, "in", &input), storage_from(&ctx, "w", &weight), storage_from(&ctx, "b", &bias), storage_zeroed(&ctx, "out", input.len())];
            let dispatch = norm.bind(&ctx, pixels as u32, channels as u32, EPS, gelu, [&bufs[0], &bufs[1], &bufs[2], &bufs[3]]);
            submit(&ctx, &[&dispatch]);
            let got = read_f32(&ctx, &bufs[3], input.len()).await.unwrap();
            let expected = layernorm::reference::layer_norm(&input, channels, &weight, &bias, f64::from(EPS), gelu);
            Comparison::new(&got, &expected).assert_within(TOLERANCE, &format!("layernorm {pixels}x{channels} gelu {gelu}"));
        }
        }
    }

    async fn dwconv_layernorm_gelu_matches_reference() {
        let ctx = context().await;
        let mut rng = SeededRng::new(23);
        for dw in [DwConv::with_layout(NormLayout::FourPixels), DwConv::with_layout(NormLayout::Teams)] {
        for (h, w, c) in [(56, 56, 64), (14, 14, 24), (7, 5, 16), (1, 1, 32), (14, 14, 320), (3, 3, 40)] {
            let input = random(&mut rng, h * w * c);
            let weight = random(&mut rng, c * 9);
            let bias = random(&mut rng, c);
            let ln_w = rng.uniform_vec(c, 0.5, 1.5);
            let ln_b = random(&mut rng, c);
            let packed = dwconv::pack_weights(&weight, &bias, &ln_w, &ln_b, c);
            let bufs = [&input, &packed].map(|d| storage_from(&ctx, "dw", d));
            let out = storage_zeroed(&ctx, "out", input.len());
            let b = DwConvBuffers { input: &bufs[0], weights: &bufs[1], output: &out, input_norm: None, planes: None };
            let dispatch = dw.bind(&ctx, h as u32, w as u32, c as u32, EPS, &b);
            submit(&ctx, &[&dispatch]);
            let got = read_f32(&ctx, &out, input.len()).await.unwrap();
            let expected = dwconv::reference::dwconv(&input, h, w, c, &weight, &bias, &ln_w, &ln_b, f64::from(EPS));
            Comparison::new(&got, &expected).assert_within(TOLERANCE, &format!("dwconv {h}x{w}x{c}"));
        }
        }
    }

    async fn linear_matches_reference_for_every_epilogue() {
        let ctx = context().await;
        let mut rng = SeededRng::new(24);
        // The tiled kernel with each tile, and the adapter's choice (on llvmpipe the subgroup
        // kernel). Sizes off the tiles and the K-steps, K or N off multiples of 4 (scalar
        // kernel), and the head's single row.
        for lin in every_linear_kernel(&ctx) {
        for ([m, n, k], epilogue) in [([3136, 256, 64], Epilogue::Gelu), ([100, 72, 33], Epilogue::Store), ([49, 512, 2048], Epilogue::Accumulate), ([1, 1000, 768], Epilogue::Store), ([5, 3, 1], Epilogue::Accumulate), ([100, 72, 36], Epilogue::Gelu), ([17, 12, 8], Epilogue::Accumulate)] {
            let weight = random(&mut rng, (n * k) as usize);
            let packed = linear::pack_weight(&weight, n as usize, k as usize);
            let weights = lin.upload(&ctx, "w", PackedWeights::F32(&packed), [n, k]);
            assert_linear_matches(&ctx, &lin, &mut rng, [m, n, k], epilogue, &weights, &weight, "f32").await;
        }
        }
    }

    async fn int8_linear_matches_the_reference_on_its_dequantized_weights() {
        let ctx = context().await;
        let mut rng = SeededRng::new(26);
        // K off the 4-row packing, N off the 4-column blocks, and a single row; every kernel.
        for lin in every_linear_kernel(&ctx) {
        for ([m, n, k], epilogue) in [([100, 72, 33], Epilogue::Store), ([49, 512, 256], Epilogue::Accumulate), ([1, 10, 768], Epilogue::Gelu), ([1, 12, 768], Epilogue::Gelu), ([7, 3, 2], Epilogue::Store), ([100, 72, 36], Epilogue::Gelu)] {
            let (q, scales) = quant::quantize_rows(&random(&mut rng, (n * k) as usize), n as usize);
            let words = linear::pack_weight_int8(&q, n as usize, k as usize);
            let weights = lin.upload(&ctx, "q", PackedWeights::Int8 { words: &words, scales: &scales }, [n, k]);
            let dequantized = quant::dequantize_rows(&q, &scales);
            assert_linear_matches(&ctx, &lin, &mut rng, [m, n, k], epilogue, &weights, &dequantized, "int8").await;
        }
        }
    }

    async fn f16_linear_matches_the_reference_on_its_widened_weights() {
        let ctx = context().await;
        let mut rng = SeededRng::new(28);
        // Every kernel, reading halves where the adapter has shader-f16 (llvmpipe) and the
        // halves widened when uploaded elsewhere (SwiftShader); K off the texture's pairs of
        // rows and N off the column blocks (the scalar kernel, always widened), and a single row.
        for lin in every_linear_kernel(&ctx) {
        for ([m, n, k], epilogue) in [([100, 72, 36], Epilogue::Gelu), ([49, 512, 256], Epilogue::Accumulate), ([1, 12, 768], Epilogue::Store), ([100, 72, 33], Epilogue::Store), ([7, 3, 2], Epilogue::Accumulate), ([17, 12, 4], Epilogue::Gelu)] {
            let halves: Vec<f16> = random(&mut rng, (n * k) as usize).into_iter().map(f16::from_f32).collect();
            let packed = linear::pack_weight(&halves, n as usize, k as usize);
            let weights = lin.upload(&ctx, "h", PackedWeights::F16(&packed), [n, k]);
            let widened: Vec<f32> = halves.iter().map(|h| h.to_f32()).collect();
            assert_linear_matches(&ctx, &lin, &mut rng, [m, n, k], epilogue, &weights, &widened, "f16").await;
        }
        }
    }

    async fn a_layernorm_folded_into_the_linear_after_it_matches_the_two_in_turn() {
        let ctx = context().await;
        let mut rng = SeededRng::new(29);
        // Every vec4 kernel (the scalar one folds no norm) and weight format; rows off the tiles,
        // K off the split's steps, the shapes of InternImage-T's input projection and fc1.
        for lin in every_linear_kernel(&ctx) {
        for ([m, n, k], epilogue) in [([3136, 64, 64], Epilogue::Store), ([196, 1024, 256], Epilogue::Gelu), ([49, 512, 512], Epilogue::Accumulate), ([1, 12, 768], Epilogue::Store), ([100, 72, 36], Epilogue::Gelu)] {
            let (nn, kk) = (n as usize, k as usize);
            let weight = random(&mut rng, nn * kk);
            let packed = linear::pack_weight(&weight, nn, kk);
            assert_folded_norm_matches(&ctx, &lin, &mut rng, [m, n, k], epilogue, PackedWeights::F32(&packed), &weight, "f32").await;
            let (q, scales) = quant::quantize_rows(&weight, nn);
            let words = linear::pack_weight_int8(&q, nn, kk);
            let int8 = PackedWeights::Int8 { words: &words, scales: &scales };
            assert_folded_norm_matches(&ctx, &lin, &mut rng, [m, n, k], epilogue, int8, &quant::dequantize_rows(&q, &scales), "int8").await;
            let halves: Vec<f16> = weight.iter().map(|&w| f16::from_f32(w)).collect();
            let packed = linear::pack_weight(&halves, nn, kk);
            let widened: Vec<f32> = halves.iter().map(|h| h.to_f32()).collect();
            assert_folded_norm_matches(&ctx, &lin, &mut rng, [m, n, k], epilogue, PackedWeights::F16(&packed), &widened, "f16").await;
        }
        }
    }

    async fn the_depthwise_branch_normalises_its_input_from_the_statistics_given() {
        let ctx = context().await;
        let mut rng = SeededRng::new(30);
        for dw in [DwConv::with_layout(NormLayout::FourPixels), DwConv::with_layout(NormLayout::Teams)] {
        for (h, w, c) in [(56, 56, 64), (14, 14, 24), (7, 5, 16), (1, 1, 32), (3, 3, 40)] {
            let input = offset_rows(&mut rng, h * w, c);
            let stats = row_stats(&input, c, f64::from(EPS));
            let gamma = rng.uniform_vec(c, 0.5, 1.5);
            let beta = random(&mut rng, c);
            let weight = random(&mut rng, c * 9);
            let bias = random(&mut rng, c);
            let ln_w = rng.uniform_vec(c, 0.5, 1.5);
            let ln_b = random(&mut rng, c);
            let norm = [gamma.clone(), beta.clone()].concat();
            let packed = dwconv::pack_weights(&weight, &bias, &ln_w, &ln_b, c);
            let bufs = [&input, &packed, &norm, &stats].map(|d| storage_from(&ctx, "dw", d));
            let out = storage_zeroed(&ctx, "out", input.len());
            let input_norm = Some(InputNorm { weights: &bufs[2], stats: &bufs[3] });
            let b = DwConvBuffers { input: &bufs[0], weights: &bufs[1], output: &out, input_norm, planes: None };
            let dispatch = dw.bind(&ctx, h as u32, w as u32, c as u32, EPS, &b);
            submit(&ctx, &[&dispatch]);
            let got = read_f32(&ctx, &out, input.len()).await.unwrap();
            let normed = layer_norm(&input, c, &gamma, &beta, f64::from(EPS), false);
            let expected = dwconv::reference::dwconv(&normed, h, w, c, &weight, &bias, &ln_w, &ln_b, f64::from(EPS));
            Comparison::new(&got, &expected).assert_within(TOLERANCE, &format!("normalising dwconv {h}x{w}x{c}"));
        }
        }
    }

    async fn the_depthwise_branch_lays_out_dcnv3_input_as_the_planes_dispatch_would() {
        let ctx = context().await;
        // The planes are the filtered reader's, which needs filterable f32 textures (both CPU
        // adapters, where the branch writes them).
        if !ctx.adapter.float32_filterable {
            eprintln!("no float32-filterable: no planes to write on this adapter");
            return;
        }
        let mut rng = SeededRng::new(31);
        let dw = DwConv::with_layout(NormLayout::FourPixels);
        // InternImage-T's levels, and a width off the runs of 4 pixels.
        let odd = Dcnv3Shape { height: 5, width: 7, groups: 2, group_channels: 8, offset_scale: 1.0 };
        for (i, shape) in dcnv3::internimage_t_shapes().into_iter().chain([odd]).enumerate() {
            let (h, w, c) = (shape.height as usize, shape.width as usize, shape.channels() as usize);
            let input = random(&mut rng, h * w * c);
            let weight = random(&mut rng, c * 9);
            let bias = random(&mut rng, c);
            let ln_w = rng.uniform_vec(c, 0.5, 1.5);
            let ln_b = random(&mut rng, c);
            let (projected, offsets, logits) = dcnv3_inputs(&shape, 200 + i as u64, 3.0, 3.0);
            let packed = dwconv::pack_weights(&weight, &bias, &ln_w, &ln_b, c);
            let points = shape.pack_points(&offsets, &logits);
            let bufs = [&input, &packed, &projected, &points].map(|d| storage_from(&ctx, "dw", d));
            let [dw_out, dcn_out] = [0, 1].map(|_| storage_zeroed(&ctx, "out", input.len()));
            let dcn = Dcnv3::reading(&ctx, shape.group_channels, Dcnv3Read::Filtered);
            let planes = dcn.planes(&ctx, &shape).unwrap().expect("the filtered reader's planes");
            let dcn_planes = Some(DcnPlanes { input: &bufs[2], planes: &planes });
            let b = DwConvBuffers { input: &bufs[0], weights: &bufs[1], output: &dw_out, input_norm: None, planes: dcn_planes };
            let branch = dw.bind(&ctx, h as u32, w as u32, c as u32, EPS, &b);
            let layer = Dcnv3Buffers { input: &bufs[2], planes: Some(&planes), points: &bufs[3], output: &dcn_out, sampling: None };
            let sampled = dcn.bind_kernel(&ctx, &shape, &layer).unwrap();
            submit(&ctx, &[&branch, &sampled]);
            let got = read_f32(&ctx, &dw_out, input.len()).await.unwrap();
            let expected = dwconv::reference::dwconv(&input, h, w, c, &weight, &bias, &ln_w, &ln_b, f64::from(EPS));
            Comparison::new(&got, &expected).assert_within(TOLERANCE, &format!("dwconv writing planes {shape:?}"));
            let got = read_f32(&ctx, &dcn_out, input.len()).await.unwrap();
            let (expected, _) = dcnv3::reference::dcnv3(&shape, &projected, &offsets, &logits);
            Comparison::new(&got, &expected).assert_within(TOLERANCE, &format!("dcnv3 on the branch's planes {shape:?}"));
        }
    }

    async fn mean_pool_matches_reference() {
        let ctx = context().await;
        let pool_op = MeanPool::new(&ctx);
        let mut rng = SeededRng::new(25);
        for (pixels, channels) in [(49, 768), (3, 5)] {
            let input = random(&mut rng, pixels * channels);
            let i = storage_from(&ctx, "in", &input);
            let out = storage_zeroed(&ctx, "out", channels);
            let dispatch = pool_op.bind(&ctx, pixels as u32, channels as u32, &i, &out);
            submit(&ctx, &[&dispatch]);
            let got = read_f32(&ctx, &out, channels).await.unwrap();
            Comparison::new(&got, &pool::reference::mean_pool(&input, channels)).assert_within(TOLERANCE, "mean pool");
        }
    }
}
