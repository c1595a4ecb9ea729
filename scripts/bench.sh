#!/bin/sh
# Runs the benchmark suite and prints the ratio table (see BENCHMARKS.md).
#
#   scripts/bench.sh            # 10k, 100k and 1M users (about 20 minutes)
#   scripts/bench.sh --quick    # 10k and 100k, short measurements (under 8 minutes)
#   scripts/bench.sh --quick mix   # one group (a criterion filter), same setup
#
# The report ends with the Targets section (BENCHMARKS.md "Targets"); the
# script exits non-zero when a target is missed or was not measured.
#
# A throwaway PostgreSQL runs pinned to CPU 0 and the benchmarks to CPU 1
# (both unpinned on a one-CPU machine), so client and server do not steal
# each other's time. Set DATABASE_URL to measure against your own server
# instead (it is then not pinned; REPLICA_URL and PGBOUNCER_URL add the
# topology rows). Without DATABASE_URL the server also gets a streaming
# replica and a PgBouncer in transaction mode (when pgbouncer is installed;
# else that row is skipped with a note). The suite also runs the request mix
# and `pgbench -S -M prepared` (one client; a child of the bench, so pinned
# with it) against the same server. Results: target/criterion (criterion's
# reports), target/bench-export.json, bench-mix.json, bench-floor.json and
# bench-pairs.json (every interleaved sample, for the paired ratios); the
# table is printed at the end.
set -eu
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--quick" ]; then
    export SAAS_DB_BENCH_QUICK=1
    export SAAS_DB_BENCH_SIZES="${SAAS_DB_BENCH_SIZES:-10k,100k}"
    shift
fi
# An optional criterion filter runs only the matching groups (`mix` and
# `pgbench_floor` name the two measurements that are not criterion groups)
# and skips the export run; the targets left out are then reported as not
# measured.
filter="${1:-}"

cargo build --release --example pg_server --example bench_report
cargo bench --no-run
target="${CARGO_TARGET_DIR:-target}"
rm -rf "$target/criterion" "$target/bench-export.json" "$target/bench-mix.json" "$target/bench-floor.json" "$target/bench-pairs.json"

server_cpu=""
bench_cpu=""
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
    server_cpu="taskset -c 0"
    bench_cpu="taskset -c 1"
fi

work=$(mktemp -d)
cleanup() {
    # Closing the server's stdin stops it; it removes its own files.
    exec 3>&- 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

if [ -z "${DATABASE_URL:-}" ]; then
    mkfifo "$work/stdin"
    # With a streaming replica and a PgBouncer (children of the server
    # process, so pinned with it) for the topology rows.
    $server_cpu "$target/release/examples/pg_server" --topology <"$work/stdin" >"$work/url" 2>"$work/log" &
    exec 3>"$work/stdin"
    i=0
    while ! grep -qx ready "$work/url" 2>/dev/null; do
        i=$((i + 1))
        if [ "$i" -gt 600 ]; then
            echo "the server did not start:" >&2
            cat "$work/log" >&2
            exit 1
        fi
        sleep 0.1
    done
    DATABASE_URL=$(head -n 1 "$work/url")
    export DATABASE_URL
    echo "server: $DATABASE_URL ${server_cpu:+(pinned to CPU 0)}"
    REPLICA_URL=$(sed -n 's/^REPLICA_URL=//p' "$work/url")
    PGBOUNCER_URL=$(sed -n 's/^PGBOUNCER_URL=//p' "$work/url")
    export REPLICA_URL PGBOUNCER_URL
    echo "replica: ${REPLICA_URL:-none}; pgbouncer: ${PGBOUNCER_URL:-none}"
    cat "$work/log" >&2
fi

started=$(date +%s)
if [ -n "$filter" ]; then
    $bench_cpu cargo bench --bench suite -- "$filter"
else
    $bench_cpu cargo bench --bench suite
    $bench_cpu cargo bench --bench export
fi
echo "benchmarks ran for $(($(date +%s) - started)) s; load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
# Its exit status is the script's: non-zero when a target is missed.
"$target/release/examples/bench_report"
