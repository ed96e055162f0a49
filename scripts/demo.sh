#!/usr/bin/env bash
# The README's first command: set up a fresh Debian 12 machine and run the
# lab demo (a staged, Kazakhstan-2022-like shutdown in network namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/vantage lab demo "$@"
