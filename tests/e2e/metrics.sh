#!/usr/bin/env bash
# The metrics endpoint and the drop listing against real readers: vswitchd --metrics on
# loopback, promtool checking the exposition, and a Prometheus server scraping it.
#
#   a (198.51.100.1) -- pa [vswitchd, network blue] pb -- b (198.51.100.2)
#                       pz [no network] -- z
#
# a pings b; z's frames are dropped (unknown_network). The exposition passes `promtool check
# metrics` and carries the same counters as `vsctl stats show --json`; asked for OpenMetrics,
# it is OpenMetrics 1.0 by the parser of the Prometheus Python client; Prometheus scrapes it
# and its HTTP API returns pa's received packets; `vsctl stats drops` lists z's drops with
# their meaning. Bad input: --metrics not an address, or not a loopback one: one line each.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init metrics
need_cmd curl promtool prometheus

A=198.51.100.1 B=198.51.100.2
# Two loopback ports of this case's own.
MPORT=$((20000 + $$ % 20000)) PPORT=$((20001 + $$ % 20000))
METRICS="http://127.0.0.1:$MPORT/metrics"

step "bad --metrics values are refused in one line"
for bad in nonsense 0.0.0.0:9464; do
    rc=0
    out=$(timeout 20 "$VSWITCHD" --socket "$WORK/bad.sock" --state-dir "$WORK/bad" --metrics "$bad" 2>&1) || rc=$?
    assert_ne "$rc" 0 "vswitchd --metrics $bad exits non-zero"
    assert_eq "$(wc -l <<<"$out")" 1 "one line for --metrics $bad"
    log "  --metrics $bad -> $out"
done
assert_contains "$out" "not a loopback address" "the refusal of 0.0.0.0"

step "vswitchd with --metrics 127.0.0.1:$MPORT; a pings b; z sends into no network"
start_daemon --metrics "127.0.0.1:$MPORT"
vs network add blue >/dev/null
make_host a "$A/24"
make_host b "$B/24"
make_host z 192.0.2.1/24
vs port add pa --type af-packet --iface "$(rif a)" --network blue >/dev/null
vs port add pb --type af-packet --iface "$(rif b)" --network blue >/dev/null
vs port add pz --type af-packet --iface "$(rif z)" >/dev/null
assert_ping a "$B"
inns z ping -c 3 -i 0.2 -W 1 192.0.2.2 >/dev/null 2>&1 || true

step "the exposition: promtool accepts it, the counters are those of vsctl stats"
curl -sf "$METRICS" >"$WORK/metrics.txt" || fail "GET $METRICS failed"
promtool check metrics <"$WORK/metrics.txt" || fail "promtool check metrics refused the exposition"
sample() { # NAME LABELS: the value of one sample in metrics.txt
    awk -v key="$1{$2}" '$1 == key {print $2}' "$WORK/metrics.txt"
}
rx_json=$(port_counter pa rx_packets)
rx_metric=$(sample vswitch_port_rx_packets_total 'port="pa"')
log "pa rx_packets: metrics $rx_metric, vsctl stats $rx_json (read after)"
assert_gt "$rx_metric" 0 "pa's received packets in the exposition"
assert_le "$rx_metric" "$rx_json" "the exposition's count, read first"
assert_ge "$(sample vswitch_port_drops_total 'port="pz",reason="unknown_network"')" 1 "pz's unknown_network drops"
assert_eq "$(sample vswitch_fdb_entries 'network="blue"')" 2 "blue's MAC table: a and b"
assert_eq "$(sample vswitch_port_link_up 'port="pa"')" 1 "pa's link"
assert_contains "$(grep -c '^vswitch_worker_busy_polls_total' "$WORK/metrics.txt")" 1 "a worker's busy polls"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/")
assert_eq "$code" 404 "anything but /metrics"

step "asked for OpenMetrics: the Prometheus client's strict parser reads it, the same values"
OM='application/openmetrics-text; version=1.0.0'
type=$(curl -sf -H "Accept: $OM" -o "$WORK/metrics.om" -w '%{content_type}' "$METRICS") ||
    fail "GET $METRICS as OpenMetrics failed"
assert_contains "$type" "application/openmetrics-text; version=1.0.0" "the content type"
got=$("$PYTHON" - "$WORK/metrics.om" <<'PY'
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
rx = fams["vswitch_port_rx_packets"]
assert rx.type == "counter", rx.type
print(len(fams), int(next(s.value for s in rx.samples if s.labels.get("port") == "pa")))
PY
) || fail "the OpenMetrics parser refused the exposition"
log "OpenMetrics: $got (families, pa's rx_packets)"
assert_ge "${got#* }" "$rx_metric" "pa's rx_packets in OpenMetrics, read later"

step "vsctl stats drops: pz's drops, with what they mean"
drops=$(vs stats drops)
log "$drops"
assert_contains "$drops" "pz    unknown_network" "pz's drops listed"
assert_contains "$drops" "belongs to no network (or is gone from the configuration). Check: " "the reason's meaning and what to check"
assert_eq "$(vs --json stats drops | json_get "d[0]['reason']")" unknown_network "the most frequent drop first"
all=$(vs --json stats drops --all | json_get "len(d)")
assert_ge "$all" 40 "every reason the pipeline has, with --all"

step "Prometheus scrapes the endpoint; its HTTP API returns pa's received packets"
cat >"$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: vswitch
    static_configs:
      - targets: ["127.0.0.1:$MPORT"]
EOF
bg prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom" \
    --web.listen-address="127.0.0.1:$PPORT" --log.level=warn 2>>"$WORK/prometheus.log"
query() { curl -sf "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1"; }
scraped() {
    query 'vswitch_port_rx_packets_total{port="pa"}' | "$PYTHON" -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
sys.exit(0 if r and float(r[0]["value"][1]) > 0 else 1)'
}
wait_for 30 "Prometheus to have scraped pa's counter" scraped
got=$(query 'vswitch_port_rx_packets_total{port="pa"}' | json_get "d['data']['result'][0]['value'][1]")
log "Prometheus: vswitch_port_rx_packets_total{port=\"pa\"} = $got"
assert_le "$got" "$(port_counter pa rx_packets)" "Prometheus's value against vsctl stats"
assert_eq "$(query 'up{job="vswitch"}' | json_get "d['data']['result'][0]['value'][1]")" 1 "the target is up"

pass
