#!/usr/bin/env bash
# Build a Debian base image (python3 + venv + CA certificates) from Debian packages with mmdebstrap and
# commit it to local container storage as $1 (default localhost/switchboard-base:bookworm), for machines
# that reach no container registry. Used by `just image` when no BASE is given (docs/deployment.md).
#
# The Debian mirror is this machine's own apt sources (the same mirror and snapshot apt uses here), or
# mmdebstrap's default when there are none. CA certificates the build machine adds locally
# (/usr/local/share/ca-certificates/*.crt, e.g. a TLS-inspecting proxy's) are trusted inside the base too,
# so that the image build can download the locked wheels through that proxy.
set -euo pipefail

name=${1:-localhost/switchboard-base:bookworm}
suite=${DEBIAN_SUITE:-bookworm}
for tool in mmdebstrap buildah; do
  command -v "$tool" >/dev/null || { echo "build-base: $tool is not installed (apt-get install mmdebstrap buildah)" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mirrors=()
for sources in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do
  [[ -s $sources ]] && mirrors+=("$sources")
done

hooks=()
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  hooks+=(--customize-hook='mkdir -p "$1/usr/local/share/ca-certificates"')
  hooks+=(--customize-hook='copy-in /usr/local/share/ca-certificates/. /usr/local/share/ca-certificates')
  hooks+=(--customize-hook='chroot "$1" update-ca-certificates --fresh >/dev/null 2>&1')
fi

mmdebstrap --quiet --variant=minbase --mode=unshare --format=tar \
  --include=python3,python3-venv,ca-certificates,tzdata \
  --aptopt='Acquire::Retries "3"' \
  --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*' \
  "${hooks[@]}" \
  "$suite" "$work/rootfs.tar" "${mirrors[@]}"

container=$(buildah from scratch)
trap 'buildah rm "$container" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
buildah add --quiet "$container" "$work/rootfs.tar" /
buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd /bin/sh "$container"
buildah commit --quiet --rm "$container" "$name" >/dev/null
trap 'rm -rf "$work"' EXIT
echo "$name"
