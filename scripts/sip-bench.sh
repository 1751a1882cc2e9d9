#!/usr/bin/env bash
# Measures authenticated SIP registrations per second, and the server's CPU time per
# registration, of `tandem sip` and of Kamailio, one after the other in one sitting, with the
# SIP anchor harness (its run.sh drives sipp and samples the server's CPU time).
#
# Usage: scripts/sip-bench.sh [HARNESS_DIR]
#   HARNESS_DIR  the folder with the harness's run.sh, mkdb.sh, reg_auth.xml and kamailio.cfg
#                [default: ../shared/bench/sip-anchor, relative to the repository]
#
# Environment:
#   OUT             folder for data, logs and results [default: a new /tmp/tandem-sip-bench.*]
#   KAM_CHILDREN    Kamailio's UDP worker counts to run [default: "2 4", as the harness does]
#   SIP_MAX_TRANSACTIONS  tandem sip's cap on server transactions [default: 1000000]
#   SKIP_KAMAILIO=1 measure Tandem only
#   TANDEM_BIN      a release build of tandem to run instead of building one
#   HTTP_PORT, DEMO_SIP_PORT, METRICS_PORT  loopback ports of the set-up steps
#                   [default: 18080, 15060, 19060]
#
# Everything runs on 127.0.0.1: the demo server used for set-up, `tandem sip` on
# 127.0.0.1:5070 and Kamailio on 127.0.0.1:5070 (the harness's kamailio.cfg). The harness
# and this script install sipp, sqlite3 and Kamailio from Debian's packages when they are
# missing, so run this as root or with those installed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
harness=$(cd "${1:-$repo/../shared/bench/sip-anchor}" && pwd)
out=${OUT:-$(mktemp -d /tmp/tandem-sip-bench.XXXXXX)}
kam_children=${KAM_CHILDREN:-"2 4"}
max_transactions=${SIP_MAX_TRANSACTIONS:-1000000}
http_port=${HTTP_PORT:-18080}
demo_sip_port=${DEMO_SIP_PORT:-15060}
metrics_port=${METRICS_PORT:-19060}
target=127.0.0.1:5070
data="$out/tandem-data"
api="http://127.0.0.1:$http_port/api/v1"

for file in run.sh mkdb.sh reg_auth.xml kamailio.cfg; do
    [[ -f "$harness/$file" ]] || { echo "missing $harness/$file: pass the harness folder" >&2; exit 1; }
done
for tool in curl python3 ss; do
    command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done
if ss -lun | grep -q " $target "; then
    echo "UDP $target is already in use: stop that server first" >&2
    exit 1
fi
mkdir -p "$out"
echo "# results and logs in $out"

# The harness's mkdb.sh reads Kamailio's SQLite schema even when it drives another server, and
# run.sh installs Kamailio only when it starts it, so install it here as run.sh would.
need=()
command -v kamailio >/dev/null || need+=(kamailio)
[[ -e /usr/share/kamailio/db_sqlite/standard-create.sql ]] || need+=(kamailio-sqlite-modules)
command -v sipp >/dev/null || need+=(sip-tester)
command -v sqlite3 >/dev/null || need+=(sqlite3)
if [[ ${#need[@]} -gt 0 ]]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# ---- 1. the release binary ----
if [[ -n "${TANDEM_BIN:-}" ]]; then
    tandem=$TANDEM_BIN
else
    (cd "$repo" && cargo build --release --locked -p tandem)
    target_dir=${CARGO_TARGET_DIR:-target}
    [[ "$target_dir" == /* ]] || target_dir="$repo/$target_dir"
    tandem="$target_dir/release/tandem"
fi

server_pid=""
stop_server() {
    if [[ -n "$server_pid" ]]; then
        kill -INT "$server_pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$server_pid" 2>/dev/null && kill -KILL "$server_pid"
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap stop_server EXIT

# ---- 2. a fresh data folder: demo white label (funded), a plan, an account, its domain ----
rm -rf "$data"
TANDEM__SIP_METRICS_LISTEN="127.0.0.1:$metrics_port" \
    "$tandem" demo --data-dir "$data" --listen "127.0.0.1:$http_port" \
    --sip-listen "127.0.0.1:$demo_sip_port" >"$out/demo.out" 2>"$out/demo.log" &
server_pid=$!
api_key=""
for _ in $(seq 300); do
    api_key=$(sed -n 's/^ *White-label API key: *//p' "$out/demo.out" 2>/dev/null || true)
    [[ -n "$api_key" ]] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$out/demo.log" >&2; exit 1; }
    sleep 0.1
done
[[ -n "$api_key" ]] || { echo "the demo printed no API key" >&2; exit 1; }

call() {  # method path [json]: prints the response body, fails on a status of 300 or more
    curl -sS --fail-with-body -X "$1" -H "Authorization: Bearer $api_key" \
        -H 'content-type: application/json' ${3:+--data "$3"} "$api$2"
}
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

plan_id=$(call POST /plans '{"name":"SIP benchmark","description":"10,000 extensions",
    "setup_fee":"0.00","monthly_fee":"0.00","included_extensions":10000,
    "extra_extension_fee":"0.00","number_rental":"0.00","min_opening_credit":"0.00"}' | field id)
customer_id=$(call POST /customers "{\"mode\":\"white_label_managed\",\"plan_id\":\"$plan_id\",
    \"business\":{\"legal_name\":\"SIP Benchmark Limited\"},
    \"contact\":{\"given_name\":\"Aroha\",\"family_name\":\"Ngata\",
      \"email\":\"aroha@bench.example\",\"phone\":\"021 123 4567\"},
    \"billing_address\":{\"line1\":\"12 Queen Street\",\"suburb\":\"Auckland Central\",
      \"city\":\"Auckland\",\"postcode\":\"1010\",\"country\":\"NZ\"},
    \"service_address\":{\"same_as_billing\":true},\"time_zone\":\"Pacific/Auckland\"}" | field id)
call PUT /white-label/sip '{"sip_domain":"example"}' >/dev/null
call PUT "/customers/$customer_id/sip" '{"label":"tenant1"}' >/dev/null
stop_server
echo "# account $customer_id on plan $plan_id, SIP domain tenant1.example"

# ---- 3. the harness's 10,000 users as extensions, with their passwords ----
python3 - "$out/users.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("number,name,sip_password\n")
    for user in range(1000, 11000):
        f.write(f"{user},User {user},pw{user}\n")
PY
start=$(date +%s.%N)
"$tandem" admin --data-dir "$data" extensions import --white-label harbour.localhost \
    --customer "$customer_id" --allow-weak-passwords "$out/users.csv" 2>"$out/import.log" \
    | head -n 1
echo "# import took $(python3 -c "print(f'{$(date +%s.%N) - $start:.1f}')") s"

# ---- 4. tandem sip on 127.0.0.1:5070, the per-source flood limit off ----
# Over UDP each registration leaves two server transactions for 32 s (timer J), so the
# default cap of 10,000 transactions would answer 503 above about 150 registrations/s.
TANDEM__SIP_MAX_REQUESTS_PER_SOURCE=0 TANDEM__SIP_MAX_TRANSACTIONS="$max_transactions" \
    TANDEM__SIP_METRICS_LISTEN="127.0.0.1:$metrics_port" "$tandem" sip --data-dir "$data" --sip-listen "$target" 2>"$out/tandem-sip.log" &
server_pid=$!
for _ in $(seq 100); do ss -lun | grep -q " $target " && break; sleep 0.1; done
ss -lun | grep -q " $target " || { cat "$out/tandem-sip.log" >&2; exit 1; }

echo "# Tandem (tandem sip, pid $server_pid)"
RUNDIR="$out/tandem" SERVER_CMD='' SERVER_PID="$server_pid" CHILDREN_LIST=1 KINDS=reg \
    TARGET="$target" bash "$harness/run.sh" | tee "$out/tandem.txt"
echo "# tandem sip peak resident memory: $(awk '/VmHWM/ {print $2, $3}' "/proc/$server_pid/status")"
stop_server

# ---- 5. Kamailio, started and stopped by the harness ----
if [[ "${SKIP_KAMAILIO:-0}" != 1 ]]; then
    echo "# Kamailio"
    RUNDIR="$out/kamailio" CHILDREN_LIST="$kam_children" KINDS=reg TARGET="$target" \
        bash "$harness/run.sh" | tee "$out/kamailio.txt"
fi

# ---- 6. CPU per registration: median of the repeats at each server's best passing rate ----
python3 - "$out" <<'PY'
import os, statistics, sys
out = sys.argv[1]
rows = {}
for server in ("tandem", "kamailio"):
    path = os.path.join(out, server, "results.tsv")
    if not os.path.exists(path):
        continue
    for line in open(path):
        cells = dict(c.split("=", 1) for c in line.rstrip("\n").split("\t") if "=" in c)
        if cells.get("rep") == "ladder":
            continue
        rate = float(cells["achieved/s"])
        cpu_ms = float(cells["kam_cpu%"]) * 10 / rate if rate else float("nan")
        rows.setdefault((server, cells["c"], cells["rate"]), []).append((rate, cpu_ms))
print()
print("server    workers  offered/s  achieved/s (median)  CPU ms per registration (median)")
best = {}
for (server, children, offered), runs in sorted(rows.items()):
    rate = statistics.median(r for r, _ in runs)
    cpu = statistics.median(c for _, c in runs)
    print(f"{server:9} {children:8} {offered:10} {rate:19.0f}  {cpu:.3f}")
    best[server] = min(best.get(server, cpu), cpu)
if "tandem" in best and "kamailio" in best:
    print(f"Tandem / Kamailio CPU per registration: {best['tandem'] / best['kamailio']:.2f}")
PY
