#!/usr/bin/env bash
# Runs the load generator end to end on a small dataset so it never rots. Asserts only that
# seeding, every scenario and the overload mode complete without RPC errors other than shed
# calls (RESOURCE_EXHAUSTED, OVERLOADED), that health answered during the overload, and that
# the watch mode's subscribers got every write exactly once without a stream error; timings
# are printed, never checked.
set -euo pipefail
cd "$(dirname "$0")/.."
# BENCH_PROFILE=debug (what CI uses) runs the debug binaries the test build already made.
PROFILE="${BENCH_PROFILE:-release}"
if [[ "$PROFILE" == "release" ]]; then
    cargo build --release --locked --bins
else
    cargo build --locked --bins
fi
BIN="${CARGO_TARGET_DIR:-target}/$PROFILE"
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
export JWT_SECRET="bench-smoke-secret-bench-smoke-secret-0123"
export DATABASE_URL="sqlite://$WORK/bench.db?mode=rwc"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$BIN/dashboard-service-bench" seed --dashboards 2000 --users 300 --groups 30 --grants 20000
# A small limit, so that both `run` (16 callers) and `overload` go past it and get shed.
LISTEN_ADDR="127.0.0.1:$PORT" METRICS_ADDR=127.0.0.1:0 MAX_CONCURRENT_CALLS=4 RUST_LOG=warn "$BIN/dashboard-service" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    "$BIN/dashboard-service" health --addr "127.0.0.1:$PORT" >/dev/null 2>&1 && break
    sleep 0.1
done
"$BIN/dashboard-service-bench" run --addr "http://127.0.0.1:$PORT" --duration 2s --json "$WORK/bench.json"
python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))
bad = [r["rpc"] for r in rows if r["errors"] or not r["calls"]]
print("bench: %d scenarios ran" % len(rows))
sys.exit("scenarios with errors or no calls: %s" % bad if bad else 0)
' "$WORK/bench.json"
"$BIN/dashboard-service-bench" overload --addr "http://127.0.0.1:$PORT" --levels 1,2,4 --step 1s \
    --duration 2s --server-pid "$SERVER_PID" --settle 1s --json "$WORK/overload.json"
python3 -c '
import json, sys
report = json.load(open(sys.argv[1]))
phases = report["sweep"] + [report["overload"]]
bad = [p["callers"] for p in phases if p["errors"] or not p["admitted"]]
health = report["health"]
print("overload: %d callers, %d admitted, %d shed; health %d/%d SERVING" % (
    report["overload"]["callers"], report["overload"]["admitted"], report["overload"]["shed"],
    health["serving"], health["sent"]))
if bad:
    sys.exit("phases with errors other than shed calls, or no admitted call: %s callers" % bad)
if not health["serving"]:
    sys.exit("no health probe answered SERVING during the overload")
' "$WORK/overload.json"
# Watch streams past the same small limit (their openings are shed and tried again): every
# subscriber must receive every write of the run exactly once.
"$BIN/dashboard-service-bench" watch --addr "http://127.0.0.1:$PORT" --subscribers 20 --duration 2s \
    --server-pid "$SERVER_PID" --json "$WORK/watch.json"
python3 -c '
import json, sys
report = json.load(open(sys.argv[1]))
print("watch: %d writes, %d events to %d subscribers, lag p99 %.2f ms" % (
    report["writes"], report["all"]["events"], report["subscribers"], report["all"]["lag_p99_ms"]))
if report["subscriber_errors"]:
    sys.exit("subscriber errors: %s" % report["subscriber_errors"][:5])
if report["missing"] or report["duplicates"]:
    sys.exit("missing %d, duplicates %d" % (report["missing"], report["duplicates"]))
if not report["all"]["events"] or not report["writes"]:
    sys.exit("no write or no event delivered")
' "$WORK/watch.json"
