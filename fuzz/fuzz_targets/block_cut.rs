//! Fuzz target: rbag::fuzzing::block_cut (see that function for what it checks).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rbag::fuzzing::block_cut(data));
