#!/usr/bin/env bash
# HTTP probes beside prometheus-blackbox-exporter, as ../shared/bench/probes/run.sh runs
# them, with one difference: patchbay's probes are counted from its own Prometheus
# counter (`patchbay_runs_total`) between the two CPU readings, not from history
# records started in that window, because history folds a check's repeated successes
# into one record with a count (docs/configuration.md, `retention`).
# Needs: PATCHBAY_BIN (default target/release/patchbay), the peers' mock_server
# (SETUP_ONLY=1 ../shared/bench/peers/run.sh), prometheus-blackbox-exporter, wrk.
# N (2000 checks every 1s), SECS (20), WARMUP (10).
set -euo pipefail
source "$(dirname "$0")/common.sh"
N="${N:-2000}"; SECS="${SECS:-20}"
W=$(mktemp -d /tmp/probes-XXXX)
start_target
trap 'kill $TPID ${BPID:-} ${PPID2:-} 2>/dev/null || true; rm -rf "$W"' EXIT
T="http://127.0.0.1:$TP/health"

BP=$(free_port)
printf 'modules:\n  http_2xx:\n    prober: http\n    timeout: 3s\n    http: { valid_status_codes: [200], preferred_ip_protocol: ip4 }\n' >"$W/bb.yml"
prometheus-blackbox-exporter --config.file="$W/bb.yml" --web.listen-address="127.0.0.1:$BP" >"$W/bb.log" 2>&1 & BPID=$!
sleep 1
bc0=$(cpu $BPID)
wrk -t2 -c8 -d"${SECS}s" "http://127.0.0.1:$BP/probe?target=$T&module=http_2xx" >"$W/wrk.out" 2>&1
bc1=$(cpu $BPID)
bb_reqs=$(awk '/requests in/ {print $1}' "$W/wrk.out")
kill $BPID; BPID=

MP=$(free_port)
{ printf '[settings]\nmetrics_listen = "127.0.0.1:%s"\n\n' "$MP"
  for i in $(seq 1 "$N"); do printf '[[integration]]\nname = "c%05d"\nkind = "check"\nevery = "1s"\nprobe = { http = "%s", timeout = "3s" }\nconditions = ["[STATUS] == 200", "[RESPONSE_TIME] < 1000"]\n\n' "$i" "$T"; done; } >"$W/c.toml"
export HOME=$W XDG_CONFIG_HOME=$W/cfg XDG_DATA_HOME=$W/data XDG_STATE_HOME=$W/state
"$PB" --config "$W/c.toml" --data-dir "$W/d" headless >"$W/pb.log" 2>&1 & PPID2=$!
sleep "${WARMUP:-10}"
r0=$(runs_total); c0=$(cpu $PPID2)
sleep "$SECS"
c1=$(cpu $PPID2); r1=$(runs_total)
pb_rss=$(awk '/VmHWM/ {print $2}' /proc/$PPID2/status)
kill -TERM $PPID2; wait $PPID2 2>/dev/null || true; PPID2=
python3 - "$bc0" "$bc1" "$bb_reqs" "$SECS" "$c0" "$c1" "$r0" "$r1" "$pb_rss" "$N" <<'PY'
import sys
bc0, bc1, breqs, secs, c0, c1, r0, r1, rss, n = map(float, sys.argv[1:])
b_ms = 1000 * (bc1 - bc0) / max(breqs, 1)
runs = r1 - r0
p_ms = 1000 * (c1 - c0) / max(runs, 1)
print(f"bench=probes blackbox_probes_per_s={breqs/secs:.0f} blackbox_cpu_ms_per_probe={b_ms:.3f}")
print(f"bench=probes patchbay_probes_per_s={runs/secs:.0f} scheduled_per_s={n:.0f} patchbay_cpu_ms_per_probe={p_ms:.3f} rss_mib={rss/1024:.0f}")
print(f"bench=probes ratio_cpu_per_probe={p_ms/b_ms:.2f}")
PY
