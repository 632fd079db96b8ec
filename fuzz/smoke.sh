#!/usr/bin/env bash
# Runs each cargo-fuzz target of the iso8583 codec briefly (3 x 20 s, plus
# the first build). Works on stable Rust through RUSTC_BOOTSTRAP=1 and
# without sanitizers (`--sanitizer none`).
#
# Needs cargo-fuzz:   cargo install cargo-fuzz
# and a C++ compiler for libFuzzer (libfuzzer-sys builds it from source).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds_per_target="${FUZZ_SECONDS_PER_TARGET:-20}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz/smoke.sh: cargo-fuzz is missing; install it with: cargo install cargo-fuzz" >&2
  exit 1
fi

export RUSTC_BOOTSTRAP=1
for target in frame message tlv cardsec_inputs; do
  echo "fuzz/smoke.sh: $target for ${seconds_per_target}s"
  # The first directory collects the corpus; fuzz/seeds holds the sample
  # messages (framed and bare) and a DE 55 TLV to start from.
  mkdir -p "$PWD/fuzz/corpus/$target"
  cargo fuzz run "$target" --sanitizer none "$PWD/fuzz/corpus/$target" "$PWD/fuzz/seeds" -- \
    -max_total_time="$seconds_per_target" -max_len=4098 -print_final_stats=1
done
echo "fuzz/smoke.sh: all targets ran without a crash"
