//! An export and a request stream: evaluation never panics, is deterministic, and the export and its compiled JSON decide alike.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = scapi::invariants::eval(data) {
        panic!("{violation}");
    }
});
