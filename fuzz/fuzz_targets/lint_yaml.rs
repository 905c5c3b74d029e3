//! Any bytes as a YAML export: lint never panics, spans are sound, renderers cope.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = scapi::invariants::lint(data, scapi::input::InputFormat::Yaml) {
        panic!("{violation}");
    }
});
