#!/usr/bin/env bash
# Memory and store under load, as a busy hub meets them: `patchbay headless` with N HTTP
# checks (default 10,000) every EVERY (10s) against a local server, RSS and the store
# file's size sampled at each of AT seconds, CPU per probe over the whole window
# (probes counted from `patchbay_runs_total`).
#   bench=busy t_s=30 rss_mib=141 store_mib=33.7 probes=29871
#   bench=busy cpu_ms_per_probe=0.31 probes_per_s=1000 scheduled_per_s=1000
# Needs: PATCHBAY_BIN (default target/release/patchbay) and the peers' mock_server
# (SETUP_ONLY=1 ../shared/bench/peers/run.sh). N, EVERY, AT ("30 60 120").
set -euo pipefail
source "$(dirname "$0")/common.sh"
N="${N:-10000}"; EVERY="${EVERY:-10s}"; AT="${AT:-30 60 120}"
W=$(mktemp -d /tmp/busy-XXXX)
start_target
trap 'kill $TPID ${PID:-} 2>/dev/null || true; rm -rf "$W"' EXIT
MP=$(free_port)
{ printf '[settings]\nmetrics_listen = "127.0.0.1:%s"\n\n' "$MP"
  for i in $(seq 1 "$N"); do printf '[[integration]]\nname = "c%05d"\nkind = "check"\nevery = "%s"\nprobe = { http = "http://127.0.0.1:%s/health", timeout = "3s" }\nconditions = ["[STATUS] == 200", "[RESPONSE_TIME] < 1000"]\n\n' "$i" "$EVERY" "$TP"; done; } >"$W/c.toml"
export HOME=$W XDG_CONFIG_HOME=$W/cfg XDG_DATA_HOME=$W/data XDG_STATE_HOME=$W/state
"$PB" --config "$W/c.toml" --data-dir "$W/d" headless >"$W/pb.log" 2>&1 & PID=$!
start=$(date +%s.%N)
until curl -sf "http://127.0.0.1:$MP/healthz" >/dev/null; do sleep 0.05; done
r0=$(runs_total); c0=$(cpu $PID); t0=$(date +%s.%N)
for at in $AT; do
    sleep "$(echo "$start + $at - $(date +%s.%N)" | bc)"
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
    store=$(stat -c %s "$W/d/patchbay.redb")
    echo "bench=busy t_s=$at rss_mib=$(echo "scale=1; $rss/1024" | bc) store_mib=$(echo "scale=1; $store/1048576" | bc) probes=$(runs_total)"
done
c1=$(cpu $PID); r1=$(runs_total); t1=$(date +%s.%N)
kill -TERM $PID; wait $PID 2>/dev/null || true; PID=
python3 - "$c0" "$c1" "$r0" "$r1" "$t0" "$t1" "$N" "$EVERY" <<'PY'
import sys
c0, c1, r0, r1, t0, t1, n = map(float, sys.argv[1:8])
every = float(sys.argv[8].rstrip("s"))
runs = r1 - r0
print(f"bench=busy cpu_ms_per_probe={1000 * (c1 - c0) / max(runs, 1):.3f} probes_per_s={runs / (t1 - t0):.0f} scheduled_per_s={n / every:.0f}")
PY
