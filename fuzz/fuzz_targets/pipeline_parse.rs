//! Fuzz target: rbag::fuzzing::pipeline_parse (see that function for what it checks).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rbag::fuzzing::pipeline_parse(data));
