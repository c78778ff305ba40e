#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer's coverage instrumentation (what `cargo fuzz` adds for
# `--sanitizer none`, on the stable toolchain) and runs each for SECONDS (default 60), both at
# once. New inputs go to fuzz/target/corpus/<target>; the seeds in fuzz/corpus/<target> are
# only read. A crash stops the run and leaves the input in fuzz/artifacts/<target>/: copy it
# into fuzz/regressions/<target>/, where `cargo test` replays it, and fix the cause.
set -euo pipefail
seconds=${1:-60}
cd "$(dirname "$0")"
host=$(rustc -vV | sed -n 's/^host: //p')
export CARGO_TARGET_DIR="$PWD/target"
flags=(--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table
  -Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks)
# --target keeps the flags off build scripts and proc macros, as cargo fuzz does.
RUSTFLAGS="${flags[*]}" cargo build --release --locked --target "$host" --bins
targets=(jose oauth)
for t in "${targets[@]}"; do
  mkdir -p "target/corpus/$t" "artifacts/$t"
  "target/$host/release/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="artifacts/$t/" "target/corpus/$t" "corpus/$t" \
    >"target/$t.log" 2>&1 &
done
failed=0
for t in "${targets[@]}"; do
  if ! wait -n; then failed=1; fi
done
for t in "${targets[@]}"; do
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "target/$t.log")
  cov=$(grep -o 'cov: [0-9]*' "target/$t.log" | tail -n 1)
  if grep -q "^==[0-9]*== ERROR\|panicked at\|deadly signal\|Test unit written" "target/$t.log"; then
    echo "fuzz $t: FAILED after ${runs:-?} inputs; see fuzz/target/$t.log and fuzz/artifacts/$t/"
    grep -m 5 "panicked at\|ERROR\|Test unit written" "target/$t.log" || true
    failed=1
  else
    echo "fuzz $t: ${runs:-?} inputs in ${seconds} s, $cov, no crash"
  fi
done
exit "$failed"
