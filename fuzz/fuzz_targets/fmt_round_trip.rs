//! fmt output is a fixed point and keeps every line it did not rewrite.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = scapi::invariants::fmt_fixed_point(data) {
        panic!("{violation}");
    }
});
