# Sourced by the outside benches that run HTTP checks against the peers' mock server
# (build it once: SETUP_ONLY=1 ../shared/bench/peers/run.sh).
PB="$(readlink -f "${PATCHBAY_BIN:-target/release/patchbay}")"
MOCK="${MOCK_BIN:-/tmp/peers/target/release/mock_server}"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# CPU seconds (user + system) of a process so far.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{print ($14+$15)/hz}' "/proc/$1/stat"; }
# Runs patchbay finished so far, from its Prometheus endpoint on port $MP.
runs_total() { curl -s "http://127.0.0.1:$MP/metrics" | awk '/^patchbay_runs_total/ {s += $NF} END {print s+0}'; }
# Starts the mock server as the checks' target: sets TP (its port) and TPID.
start_target() {
    TP=$(free_port)
    "$MOCK" --port "$TP" --total 10 --threads 1 >/dev/null 2>&1 &
    TPID=$!
    sleep 0.5
}
