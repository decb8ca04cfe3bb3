#!/usr/bin/env bash
# Startup and memory as an operator meets them: `patchbay headless` on N integrations
# of one kind (every = "1h", so nothing runs while it is measured), from launch to
# "running as a service", and RSS ten seconds later. One line per kind:
#   bench=startup kind=check_tcp integrations=10000 ready_s=0.17 rss_mib=90.3 per_integration_kib=7.1
# Usage: cargo build --release && benches/startup.sh   (N=10000, PATCHBAY_BIN=target/release/patchbay)
set -euo pipefail
PB="$(readlink -f "${PATCHBAY_BIN:-target/release/patchbay}")"
N="${N:-10000}"
W=$(mktemp -d /tmp/startup-XXXX)
trap 'rm -rf "$W"' EXIT

generate() { # kind count file
    python3 - "$1" "$2" "$3" <<'PY'
import sys
kind, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
bodies = {
    "check_tcp": 'kind = "check"\nevery = "1h"\nprobe = { tcp = "127.0.0.1:9" }\n',
    "check_http": 'kind = "check"\nevery = "1h"\nprobe = { http = "http://127.0.0.1:9/health" }\nconditions = ["[STATUS] == 200"]\n',
    "http": 'kind = "http"\nevery = "1h"\n[integration.request]\nurl = "http://127.0.0.1:9/api/{i}"\n[integration.records]\npath = "$.data[*]"\nprimary_key = "id"\n',
    "sql": 'kind = "sql"\nevery = "1h"\nurl = "sqlite:///nonexistent.db"\nquery = "SELECT * FROM t WHERE id > :min"\nparams = { min = 1 }\n',
    "file": 'kind = "file"\npath = "/tmp/startup-out-{i}.jsonl"\n',
}
tables = ['[[integration]]\nname = "anchor"\nkind = "file"\npath = "/tmp/startup-anchor.jsonl"\n']
for i in range(n):
    tables.append(f'[[integration]]\nname = "i-{i:05}"\n' + bodies[kind].replace("{i}", str(i)))
open(path, "w").write("\n".join(tables))
PY
}

measure() { # label count config
    rm -rf "$W/data" "$W/state"
    local start ready pid rss
    start=$(date +%s.%N)
    PATCHBAY_CONFIG="$3" PATCHBAY_DATA_DIR="$W/data" PATCHBAY_IDENTITY="$W/id.txt" XDG_STATE_HOME="$W/state" \
        "$PB" headless >"$W/log" 2>&1 &
    pid=$!
    until grep -q "running as a service" "$W/log"; do
        kill -0 "$pid" 2>/dev/null || { cat "$W/log"; exit 1; }
        sleep 0.01
    done
    ready=$(date +%s.%N)
    sleep 10
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    kill -TERM "$pid"; wait "$pid" || true
    echo "$1 $2 $(echo "$ready - $start" | bc) $rss"
}

read -r _ _ _ base < <(generate check_tcp 0 "$W/empty.toml"; measure empty 0 "$W/empty.toml")
echo "bench=startup kind=empty integrations=0 rss_mib=$(echo "scale=1; $base/1024" | bc)"
for kind in check_tcp check_http http sql file; do
    generate "$kind" "$N" "$W/$kind.toml"
    read -r _ n ready rss < <(measure "$kind" "$N" "$W/$kind.toml")
    echo "bench=startup kind=$kind integrations=$n ready_s=$(printf %.2f "$ready") rss_mib=$(echo "scale=1; $rss/1024" | bc) per_integration_kib=$(echo "scale=1; ($rss-$base)/$n" | bc)"
done
