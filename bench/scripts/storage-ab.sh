#!/usr/bin/env bash
# SQLite and PostgreSQL side by side (docs/PERFORMANCE.md, tenth round): the same steps,
# alternating backends, each run's text report and JSON kept in bench/results/.
#   bench/scripts/storage-ab.sh [pairs] [database url]
# Needs the release relay and bench:
#   cargo build --release -p switchboard-relay --bin switchboard -p switchboard-bench
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
pairs="${1:-2}"
url="${2:-postgres://postgres@127.0.0.1:5432/test}"
out=bench/results
mkdir -p "$out"
steps=(--profile full --visitors 1000,5000 --rates 1000,5000,10000,20000 --duration-secs 10
       --max-secs 600)
for i in $(seq 1 "$pairs"); do
    for backend in sqlite postgres; do
        name="$out/r10-$backend-$i"
        extra=()
        [ "$backend" = postgres ] && extra=(--database-url "$url")
        echo "=== $backend, run $i"
        target/release/switchboard-bench "${steps[@]}" "${extra[@]}" --json "$name.json" \
            2>&1 | tee "$name.txt" | tail -12
    done
done
