//! compile → compiled JSON → load → compiled JSON is byte-identical.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = scapi::invariants::compiled_round_trip(data) {
        panic!("{violation}");
    }
});
