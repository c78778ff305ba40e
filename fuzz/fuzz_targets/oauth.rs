//! Requests to the OAuth endpoints: headers and form (see tessera::core::fuzzing::oauth).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera::core::fuzzing::oauth(data));
