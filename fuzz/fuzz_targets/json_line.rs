//! Fuzz target: rbag::fuzzing::json_line (see that function for what it checks).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rbag::fuzzing::json_line(data));
