#!/usr/bin/env bash
# rrl.sh: response rate limiting under a reflection flood, detour vs Knot DNS.
#
# Serves the same zone with detour and with Knot DNS (mod-rrl), both at 20
# responses per second per client network with slip 2, and with neither
# limiting (the baseline: what the audit's flood got). Floods each from one
# source address on loopback with bench/rrlflood, as an attacker spoofing
# a victim's address would, and prints for each: replies per second to
# that source, how many were truncated slips, and the amplification by
# bytes (reply bytes sent to the source over query bytes received).
#
# Two floods: the zone's largest answer (a 1,000-byte TXT, asked with EDNS
# 4096) and NXDOMAIN for a random name each time.
#
# Usage: bench/rrl.sh [seconds [qps]]   (default: 5 s at 2,000 queries/s)
# Environment: DETOUR (binary; default: build ./cmd/detour into the temp
# dir), PORT_BASE (default 25400), RATE (default 20), SLIP (default 2).
set -euo pipefail

DURATION=${1:-5}
QPS=${2:-2000}
PORT_BASE=${PORT_BASE:-25400}
RATE=${RATE:-20}
SLIP=${SLIP:-2}
KNOT_PORT=$PORT_BASE
KNOT_OPEN_PORT=$((PORT_BASE + 1))
DETOUR_PORT=$((PORT_BASE + 2))
DETOUR_OPEN_PORT=$((PORT_BASE + 3))
API_PORT=$((PORT_BASE + 4))
API_OPEN_PORT=$((PORT_BASE + 5))

BENCH=rrl
. "$(dirname "$0")/lib.sh"
need knotd knot
need dig bind9-dnsutils
KNOTD=$(command -v knotd || echo /usr/sbin/knotd)

# --- the zone --------------------------------------------------------------
zone=bench.test
txt=$(for i in $(seq 4); do printf '"%s" ' "$(head -c 240 /dev/zero | tr '\0' "$i")"; done)
records() {
	echo "ns1 IN A 127.0.0.1"
	echo "www IN A 192.0.2.10"
	echo "big IN TXT $txt"
}
{
	echo "\$ORIGIN $zone."
	echo "\$TTL 3600"
	echo "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300"
	echo "@ IN NS ns1"
	records
} >"$tmp/$zone.zone"
{
	echo "zones:"
	echo "  - name: $zone"
	echo "    soa: {mname: ns1.$zone., rname: hostmaster.$zone.}"
	echo "    nameservers: [ns1.$zone.]"
	echo "    static: |"
	records | sed 's/^/      /'
} >"$tmp/spec.yaml"

# --- servers ---------------------------------------------------------------
knot_conf() { # dir port rrl(yes/no)
	mkdir -p "$1"
	{
		echo "server:"
		echo "  listen: 127.0.0.1@$2"
		echo "  rundir: $1"
		echo "log:"
		echo "  - target: stderr"
		echo "    any: warning"
		echo "database:"
		echo "  storage: $1/db"
		if [ "$3" = yes ]; then
			echo "mod-rrl:"
			echo "  - id: default"
			echo "    rate-limit: $RATE"
			echo "    slip: $SLIP"
		fi
		echo "template:"
		echo "  - id: default"
		echo "    storage: $tmp"
		echo "    zonefile-sync: -1"
		echo "    journal-content: none"
		if [ "$3" = yes ]; then echo "    global-module: mod-rrl/default"; fi
		echo "zone:"
		echo "  - domain: $zone"
		echo "    file: $zone.zone"
	} >"$1/knot.conf"
}
knot_conf "$tmp/knot" "$KNOT_PORT" yes
knot_conf "$tmp/knot-open" "$KNOT_OPEN_PORT" no

detour_binary
(cd "$repo" && go build -o "$tmp/rrlflood" ./bench/rrlflood)

"$KNOTD" -c "$tmp/knot/knot.conf" 2>"$tmp/knot.log" &
pids+=($!)
"$KNOTD" -c "$tmp/knot-open/knot.conf" 2>"$tmp/knot-open.log" &
pids+=($!)
"$DETOUR" agent --dev --spec "$tmp/spec.yaml" --dns-addr "127.0.0.1:$DETOUR_PORT" --api-addr "127.0.0.1:$API_PORT" \
	--dns-rate-limit "$RATE" --dns-rate-limit-slip "$SLIP" 2>"$tmp/detour.log" &
pids+=($!)
"$DETOUR" agent --dev --spec "$tmp/spec.yaml" --dns-addr "127.0.0.1:$DETOUR_OPEN_PORT" --api-addr "127.0.0.1:$API_OPEN_PORT" \
	2>"$tmp/detour-open.log" &
pids+=($!)

wait_dns() { # port
	for _ in $(seq 100); do
		dig @127.0.0.1 -p "$1" +time=1 +tries=1 +norec "$zone" SOA 2>/dev/null | grep -q 'status: NOERROR' && return 0
		sleep 0.1
	done
	echo "rrl: no answer on port $1" >&2
	exit 1
}
for p in "$KNOT_PORT" "$KNOT_OPEN_PORT" "$DETOUR_PORT" "$DETOUR_OPEN_PORT"; do wait_dns "$p"; done

# Each flood comes from its own source address, so that no server sees
# the tail of the previous flood in its buckets.
src=10
flood() { # label port name type
	src=$((src + 1))
	"$tmp/rrlflood" -server "127.0.0.1:$2" -from "127.0.$src.1" -qps "$QPS" -duration "${DURATION}s" \
		-name "$3" -type "$4" -label "$1"
}

echo "flood: $QPS queries/s for ${DURATION}s from one address; rate limit $RATE/s per /24, slip $SLIP"
for q in "big.$zone TXT" "*.$zone A"; do
	set -- $q
	echo "--- $1 $2"
	flood "knot (no RRL)" "$KNOT_OPEN_PORT" "$1" "$2"
	flood "detour (no RRL)" "$DETOUR_OPEN_PORT" "$1" "$2"
	flood "knot mod-rrl" "$KNOT_PORT" "$1" "$2"
	flood "detour RRL" "$DETOUR_PORT" "$1" "$2"
done
