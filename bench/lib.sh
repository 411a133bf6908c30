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
