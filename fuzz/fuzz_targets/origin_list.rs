//! The origin-list grammar alone: never panics; every span is inside the value.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let value = String::from_utf8_lossy(data);
    if let Err(violation) = scapi::invariants::origin_list(&value) {
        panic!("{violation}");
    }
});
