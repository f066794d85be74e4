//! An official checkpoint as the page's worker and `internimage convert` read it: a `torch.save`
//! zip (its pickle read by candle's reader) or the Hub's safetensors, converted to int8.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = convert::convert(bytes, &convert::Options::int8("fuzzed"), &mut |_, _| {});
});
