#!/usr/bin/env bash
# Builds the release binary and measures start-to-listening time and idle memory with the default config.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s release >/dev/null
python3 bench/startup.py --binary .build-release/release/outrider "$@"
