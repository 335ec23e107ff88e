#!/usr/bin/env bash
# The CI short run of the fuzz targets (docs/FUZZING.md): build both, then run each for
# FUZZ_SECONDS (default 30) over the committed corpus. Exits non-zero when a target fails
# to build or finds a crash; the input is then in fuzz/artifacts/<target>/ and the log
# says how to reproduce it.
#
# New inputs go to a scratch directory, never into the committed corpus, so CI leaves the
# work tree as it found it. No nightly toolchain: RUSTC_BOOTSTRAP=1 lets the stable
# compiler take cargo fuzz's -Z flags.
set -euo pipefail

cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
seconds="${FUZZ_SECONDS:-30}"
# address (the default, as measured in docs/FUZZING.md) or none.
sanitizer="${FUZZ_SANITIZER:-address}"
targets=(client_frame rest_bodies)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz/ci.sh: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

start=$(date +%s)
# No target named: builds both (they share every dependency, so one build).
cargo fuzz build -s "$sanitizer"
echo "fuzz/ci.sh: built in $(( $(date +%s) - start )) s"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
status=0
for target in "${targets[@]}"; do
    mkdir -p "$scratch/$target"
    log="$scratch/$target.log"
    echo "fuzz/ci.sh: $target for ${seconds} s over corpus/$target"
    # libFuzzer prints a line per new input (thousands): keep them in a log, show the summary,
    # and the log's end (panic message, input, artifact path) on failure.
    if cargo fuzz run -s "$sanitizer" "$target" "$scratch/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
        grep -E '^#[0-9]+[[:space:]]+DONE|^stat::(number_of_executed_units|average_exec_per_sec)|^known gap' "$log" || true
    else
        tail -n 80 "$log" >&2
        echo "fuzz/ci.sh: $target FAILED; the input is in fuzz/artifacts/$target/" >&2
        status=1
    fi
done
echo "fuzz/ci.sh: done in $(( $(date +%s) - start )) s"
exit "$status"
