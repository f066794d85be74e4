//! A safetensors file with its model config: parsed, the config checked, and every tensor the
//! config expects read as f32, as halves and as int8, as a build would.

#![no_main]

use gpu::model::{SafetensorsWeights, WeightSource};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(weights) = SafetensorsWeights::parse(bytes) else {
        return;
    };
    for (name, shape) in weights.config.expected_tensors() {
        let _ = weights.tensor(&name, &shape);
        let _ = weights.halves(&name, &shape);
        let _ = weights.quantized(&name, &shape);
    }
});
