#!/usr/bin/env bash
# SQLite and PostgreSQL side by side (docs/PERFORMANCE.md, tenth round): the same steps,
# alternating relays/backends, each run's text report and JSON kept in bench/results/.
#   bench/scripts/storage-ab.sh [pairs] [database url] [baseline relay binary]
# With a baseline binary (a release build of an earlier commit), each round also runs it
# on SQLite first, for the before/after on the same machine.
# Needs the release relay and bench:
#   cargo build --release -p switchboard-relay --bin switchboard -p switchboard-bench
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
pairs="${1:-2}"
url="${2:-postgres://postgres@127.0.0.1:5432/test}"
baseline="${3:-}"
out=bench/results
mkdir -p "$out"
steps=(--profile full --visitors 1000,5000 --rates 1000,5000,10000 --duration-secs 10
       --max-secs 600)
run() {
    local name="$1"
    shift
    echo "=== $name"
    target/release/switchboard-bench "${steps[@]}" "$@" --json "$out/$name.json" \
        > "$out/$name.txt" 2>&1 || true
    grep -E "^ +(1000|5000|10000|20000) \| +[0-9]+ \|" "$out/$name.txt" || tail -5 "$out/$name.txt"
}
for i in $(seq 1 "$pairs"); do
    if [ -n "$baseline" ]; then
        run "r10-baseline-sqlite-$i" --relay-bin "$baseline"
    fi
    run "r10-sqlite-$i"
    run "r10-postgres-$i" --database-url "$url"
done
