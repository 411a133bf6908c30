# Sourced by the bench scripts: the repository, a scratch dir, and the
# processes a script starts (add their PIDs to pids), all cleaned up on
# exit; need checks a tool (need knotd knot). BENCH names the script in
# messages.

repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

need() { command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ] || { echo "$BENCH: $1 is not installed (apt-get install $2)" >&2; exit 1; }; }

# bench_zone ZONE: the qps scripts' zone, SOA, NS and 998 more records =
# 1,000 (80% A names, AAAA, MX, CNAMEs, TXT), on standard output.
bench_zone() {
	echo "\$ORIGIN $1."
	echo "\$TTL 3600"
	echo "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300"
	echo "@ IN NS ns1"
	echo "ns1 IN A 127.0.0.1"
	echo "@ IN MX 10 mail"
	echo "mail IN A 192.0.2.25"
	for i in $(seq 0 799); do echo "h$i IN A 10.$((i / 256)).$((i % 256)).1"; done
	for i in $(seq 0 99); do echo "h$i IN AAAA 2001:db8::$(printf %x "$i")"; done
	for i in $(seq 0 49); do echo "c$i IN CNAME h$i"; done
	for i in $(seq 0 44); do echo "t$i IN TXT \"v=spf1 ip4:10.0.$i.0/24 -all\""; done
}

# cpu_ticks PID: the user and system CPU the process has used, in ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# detour_binary sets DETOUR to the binary to run: $DETOUR when given, else
# ./cmd/detour built into the scratch dir.
detour_binary() {
	DETOUR=${DETOUR:-}
	if [ -z "$DETOUR" ]; then
		(cd "$repo" && go build -o "$tmp/detour" ./cmd/detour)
		DETOUR=$tmp/detour
	fi
}
