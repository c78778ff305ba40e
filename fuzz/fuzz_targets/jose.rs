//! JWTs, JWK Sets and sealed values as they arrive (see tessera::core::fuzzing::jose).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera::core::fuzzing::jose(data));
