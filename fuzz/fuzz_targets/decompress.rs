//! Fuzz target: rbag::fuzzing::decompress (see that function for what it checks).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rbag::fuzzing::decompress(data));
