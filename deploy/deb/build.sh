#!/usr/bin/env bash
# Builds the Debian package of detour with dpkg-deb, from this checkout:
#
#   deploy/deb/build.sh [OUTDIR]      # default OUTDIR: dist/
#
# It prints the path of the .deb. The version is DETOUR_VERSION if set,
# else derived from `git describe` (v1.2.3 -> 1.2.3, v1.2.3-4-gabc ->
# 1.2.3+4.gabc, no tag -> 0.0.0~git<date>.<hash>), else 0.0.0~unknown.
# GOARCH picks the architecture (default: the Go toolchain's). The build
# time stamped into the binary is SOURCE_DATE_EPOCH if set, else now;
# the revision is git's HEAD (Go stamps it too, but not in a worktree).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/dist}"
cd "$root"

deb_version() {
	local d
	if d="$(git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null)"; then
		d="${d#v}"
		d="${d/-dirty/+dirty}"
		# 1.2.3-4-gabc -> 1.2.3+4.gabc
		echo "$d" | sed -E 's/-([0-9]+)-g([0-9a-f]+)/+\1.g\2/'
	elif d="$(git log -1 --format='%cd.%h' --date=format:'%Y%m%d%H%M%S' 2>/dev/null)" && [ -n "$d" ]; then
		echo "0.0.0~git$d"
	else
		echo "0.0.0~unknown"
	fi
}

goarch="${GOARCH:-$(go env GOARCH)}"
case "$goarch" in
	amd64 | arm64 | riscv64 | ppc64le | s390x) arch="$goarch" ;;
	386) arch=i386 ;;
	arm) arch=armhf ;;
	*) echo "build.sh: no Debian architecture for GOARCH=$goarch" >&2; exit 1 ;;
esac
version="${DETOUR_VERSION:-$(deb_version)}"
revision="$(git rev-parse HEAD 2>/dev/null || true)"
built="$(date -u ${SOURCE_DATE_EPOCH:+-d @"$SOURCE_DATE_EPOCH"} +%Y-%m-%dT%H:%M:%SZ)"

stage="$(mktemp -d)"
chmod 0755 "$stage"
trap 'rm -rf "$stage"' EXIT
pkg=github.com/seed3787e6f1/detour/internal/buildinfo
CGO_ENABLED=0 GOOS=linux GOARCH="$goarch" go build -trimpath \
	-ldflags "-s -w -X $pkg.version=$version -X $pkg.buildTime=$built -X $pkg.revision=$revision" \
	-o "$stage/usr/bin/detour" ./cmd/detour

install -D -m 0644 deploy/systemd/detour.service "$stage/lib/systemd/system/detour.service"
install -D -m 0644 "$here/etc/node.yaml" "$stage/etc/detour/node.yaml"
install -D -m 0644 "$here/etc/spec.yaml" "$stage/etc/detour/spec.yaml"
install -D -m 0600 "$here/etc/default" "$stage/etc/default/detour"
install -D -m 0644 docs/install.md "$stage/usr/share/doc/detour/install.md"
install -D -m 0644 docs/monitoring.md "$stage/usr/share/doc/detour/monitoring.md"
install -D -m 0644 deploy/prometheus/detour-rules.yml "$stage/usr/share/doc/detour/examples/prometheus/detour-rules.yml"
install -D -m 0644 deploy/grafana/detour.json "$stage/usr/share/doc/detour/examples/grafana/detour.json"

mkdir -p "$stage/DEBIAN"
for s in postinst prerm postrm; do install -m 0755 "$here/$s" "$stage/DEBIAN/$s"; done
printf '%s\n' /etc/detour/node.yaml /etc/detour/spec.yaml /etc/default/detour >"$stage/DEBIAN/conffiles"
size="$(du -sk --exclude=DEBIAN "$stage" | cut -f1)"
cat >"$stage/DEBIAN/control" <<CONTROL
Package: detour
Version: $version
Architecture: $arch
Maintainer: detour maintainers <detour@example.invalid>
Installed-Size: $size
Depends: passwd
Section: net
Priority: optional
Homepage: https://github.com/seed3787e6f1/detour
Description: DNS-based global failover controller
 Three nodes, one per datacenter, health-check every site, agree on what
 is up through Raft, and answer DNS accordingly: as authoritative
 nameservers, or by pushing the answers to a DNS provider.
CONTROL

mkdir -p "$out"
deb="$out/detour_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
