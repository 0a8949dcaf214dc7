//! Fuzz target: rbag::fuzzing::merge_input (see that function for what it checks).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rbag::fuzzing::merge_input(data));
