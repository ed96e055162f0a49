#!/usr/bin/env bash
# Set up a fresh Debian 12 machine for Vantage: Debian packages, a virtual
# environment in .venv with Vantage and its test tools. Idempotent; run as root
# (or through sudo) because it installs Debian packages.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
    python3-venv python3-pip   # the virtual environment
    iproute2 nftables          # network namespaces, staged cuts and filtering
    dnsmasq-base               # DNS servers in the lab (no system service)
    bird2 exabgp               # real BGP in the lab: BIRD 2 routers, ExaBGP 4.2 route collector
    fping                      # the ICMP peer the benchmark compares against
    bind9-dnsutils             # dig: the DNS peer of bench/probe_rates.py (dig -f)
    traceroute scamper         # the traceroute peers bench/traceroute.py compares against
    prometheus                 # Prometheus server and promtool (rule tests)
    postgresql                 # the scale-out storage backend
    chromium fonts-dejavu-core # the browser test of vantage web (Playwright drives Debian's chromium)
    procps psmisc curl ca-certificates openssl
    podman runc                # the container images' tests (tests/deploy/test_containers.py)
    mmdebstrap                 # their base image, from Debian's archive (deploy/container/build-base.sh)
    systemd                    # systemd-analyze verify/security for the units (tests/deploy/)
    util-linux                 # setpriv: file-mode tests as root (tests/deploy/test_path_errors.py)
)

if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh installs Debian packages: run it as root (sudo $0)" >&2
    exit 2
fi

missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "==> installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts packaged daemons on install where it can; Vantage's tests and
# lab start their own instances on their own ports.
for service in prometheus bird exabgp; do
    if command -v systemctl >/dev/null && systemctl is-active --quiet "$service" 2>/dev/null; then
        systemctl stop "$service" || true
    fi
done

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv"
    "$PYTHON" -m venv .venv
fi
echo "==> installing vantage into .venv"
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".[dev]"
echo "==> ready: $(.venv/bin/vantage --version)"
