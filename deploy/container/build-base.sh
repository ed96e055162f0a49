#!/usr/bin/env bash
# Build the base image the Containerfiles use when the official Python image
# cannot be pulled (an air-gapped builder, a mirror that only serves Debian
# packages): Debian 12's own Python 3.11 in a minimal root file system, made
# with mmdebstrap from Debian's archive and imported into podman.
#
#   bash deploy/container/build-base.sh            # -> localhost/vantage-base:3.11-bookworm
#   podman build --build-arg BASE_IMAGE=localhost/vantage-base:3.11-bookworm \
#       -f deploy/container/Containerfile.probe -t vantage-probe .
#
# With a registry in reach, skip this: the Containerfiles default to
# docker.io/library/python:3.11-slim-bookworm. Either base works because the
# build runs `python3 -m venv` and the runtime stage reuses the same base.
# Idempotent: an image already present is kept (pass --rebuild to replace it).
set -euo pipefail
image=${VANTAGE_BASE_IMAGE:-localhost/vantage-base:3.11-bookworm}
suite=${DEBIAN_SUITE:-bookworm}
if [ "${1:-}" != "--rebuild" ] && podman image exists "$image"; then
    echo "==> $image is present"
    exit 0
fi
for tool in mmdebstrap podman; do
    command -v "$tool" >/dev/null || { echo "build-base.sh: $tool is not installed (scripts/setup.sh)" >&2; exit 2; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# essential + the interpreter: no apt, no perl (merged-usr hook instead of the
# usrmerge package), no documentation, manual pages or translations.
# libstdc++6 for grpcio's extension; python3-venv is for the build stage's `python3 -m venv`; passwd for useradd;
# ca-certificates for the HTTP(S) measurements' trust store.
mmdebstrap --quiet --variant=essential --mode=root \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --include=python3,python3-venv,libstdc++6,ca-certificates,passwd \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/*.log' \
    "$suite" "$work/rootfs.tar"
podman import --quiet \
    --change 'ENV LANG=C.UTF-8' --change 'CMD ["/usr/bin/python3"]' \
    "$work/rootfs.tar" "$image" >/dev/null
echo "==> $image: $(podman image inspect --format '{{.Size}}' "$image") bytes"
