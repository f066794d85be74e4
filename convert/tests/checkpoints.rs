//! The converter on the official forms of a checkpoint, as `torch.save` and the Hub's
//! safetensors write them (tools/make_checkpoints.py), and on what a stranger may give instead.
//! No GPU: it runs natively and in both browsers, where the page's worker converts.

use std::collections::HashMap;

use convert::hub::HubConfig;
use convert::{Checkpoint, ConvertError, Format, Options, convert};
use gpu::model::ModelConfig;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("../../tests/fixtures/checkpoints/", $name))
    };
}

/// Declares a test natively and in the browser.
macro_rules! both {
    ($(fn $name:ident() $body:block)*) => {$(
        #[cfg_attr(not(target_arch = "wasm32"), test)]
        #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
        fn $name() $body
    )*};
}

fn error_of(bytes: &[u8]) -> String {
    match convert(bytes, &Options::int8("x"), &mut |_, _| {}) {
        Ok(_) => "no error".into(),
        Err(e) => e.to_string(),
    }
}

/// The micro variant's tensors under their official names, as f32 safetensors.
fn micro_safetensors(edit: impl FnOnce(&mut HashMap<String, (Vec<usize>, Vec<f32>)>)) -> Vec<u8> {
    let checkpoint = Checkpoint::read(fixture!("hub.safetensors")).expect("readable");
    let config = checkpoint.config().expect("InternImage");
    let mut tensors: HashMap<String, (Vec<usize>, Vec<f32>)> = config
        .expected_tensors()
        .into_iter()
        .map(|(name, shape)| {
            let values = gpu::model::WeightSource::tensor(&checkpoint, &name, &shape).unwrap();
            (name, (shape, values))
        })
        .collect();
    edit(&mut tensors);
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|(name, (shape, values))| {
            let view = safetensors::tensor::TensorView::new(
                safetensors::Dtype::F32,
                shape.clone(),
                bytemuck::cast_slice(values),
            )
            .unwrap();
            (name.clone(), view)
        })
        .collect();
    safetensors::serialize(views, None).unwrap()
}

both! {
    fn the_page_and_the_cli_write_the_same_bytes() {
        // `internimage convert wrapped.pth --dtype int8` wrote the expected file.
        let converted = convert(fixture!("wrapped.pth"), &Options::int8("wrapped.pth"), &mut |_, _| {})
            .expect("converts");
        assert_eq!(converted.format, Format::Pth);
        assert_eq!(converted.found_under, "'model'");
        assert!(converted.bytes == fixture!("wrapped.int8.safetensors"), "not the CLI's bytes");
    }

    fn every_official_form_gives_the_same_weights() {
        let mut reported = Vec::new();
        let forms: [&[u8]; 4] = [
            fixture!("wrapped.pth"),
            fixture!("bare.pth"),
            fixture!("hf.pth"),
            fixture!("hub.safetensors"),
        ];
        for bytes in forms {
            let converted = convert(bytes, &Options::int8("wrapped.pth"), &mut |done, total| {
                reported.push((done, total))
            })
            .expect("converts");
            // The .pth holds f16 values, the Hub's file the same values widened to f32.
            assert!(converted.bytes == fixture!("wrapped.int8.safetensors"));
            assert_eq!(converted.config.depths, [1, 1, 1, 1]);
        }
        let total = ModelConfig::infer_from_shapes(
            &Checkpoint::read(fixture!("bare.pth")).unwrap().shapes(),
        )
        .unwrap()
        .expected_tensors()
        .len();
        assert_eq!(reported.last(), Some(&(total, total)), "progress reaches the end");
        assert_eq!(reported.len(), 4 * total);
    }

    fn the_hub_config_gives_the_offset_scale_and_refuses_other_operators() {
        let config = HubConfig::parse(fixture!("hub-config.json")).expect("readable");
        assert_eq!(config.offset_scale, Some(1.0));
        let dcnv4 = HubConfig::parse(br#"{"core_op": "DCNv4", "offset_scale": 1.0}"#);
        assert!(matches!(dcnv4, Err(ConvertError::Unsupported(ref why)) if why.contains("DCNv4")));
        assert!(HubConfig::parse(br#"{"core_op": "DCNv3_pytorch"}"#).is_ok());
        assert!(HubConfig::parse(b"<html>").is_err());
    }

    fn another_network_is_named_with_its_tensors() {
        let why = error_of(fixture!("resnet.pth"));
        assert!(why.contains("not an InternImage checkpoint") && why.contains("`conv1.weight`"), "{why}");
    }

    fn missing_tensors_are_counted_and_named() {
        let bytes = micro_safetensors(|t| {
            t.remove("levels.1.blocks.0.mlp.fc1.weight");
            t.remove("head.bias");
        });
        let why = error_of(&bytes);
        assert!(
            why.contains("2 tensors missing")
                && why.contains("`levels.1.blocks.0.mlp.fc1.weight`")
                && why.contains("`head.bias`"),
            "{why}"
        );
    }

    fn a_feature_the_engine_lacks_is_named() {
        let bytes = micro_safetensors(|t| {
            t.insert("levels.0.blocks.0.gamma1".into(), (vec![16], vec![1.0; 16]));
        });
        let why = error_of(&bytes);
        assert!(why.contains("cannot run") && why.contains("layer scale"), "{why}");
    }

    fn broken_files_say_what_they_are() {
        let pth = fixture!("wrapped.pth");
        let hub = fixture!("hub.safetensors");
        let cases: [(&[u8], &str); 6] = [
            (&pth[..pth.len() / 2], "cut short"),
            (&hub[..hub.len() / 2], "cut short"),
            (fixture!("not_a_checkpoint.zip"), "a zip file, but not a PyTorch checkpoint"),
            (fixture!("not_a_checkpoint.pth"), "holds no tensors"),
            (b"<!doctype html><title>Not found</title>", "neither a PyTorch checkpoint"),
            (b"", "neither a PyTorch checkpoint"),
        ];
        for (bytes, expected) in cases {
            let why = error_of(bytes);
            assert!(why.contains(expected), "{expected}: {why}");
        }
    }
}

both! {
    fn a_pickle_that_claims_a_huge_string_is_refused_before_it_is_read() {
        // Found by the `checkpoint` fuzz target: BINUNICODE with a length of 4 GiB.
        let why = error_of(include_bytes!("../../tests/fixtures/bad-inputs/pickle-huge-string.pth"));
        assert!(why.contains("runs past the pickle's end"), "{why}");
    }

    fn a_tensor_record_too_short_to_take_apart_is_refused() {
        // `_rebuild_tensor_v2` with one argument: candle's reader takes apart by index.
        let why = error_of(include_bytes!("../../tests/fixtures/bad-inputs/pickle-short-tuple.pth"));
        assert!(why.contains("the record of `a` is not a tensor's"), "{why}");
    }
}
