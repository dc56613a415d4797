#!/usr/bin/env bash
# Tools the tests need beyond Python packages: promtool (Debian's prometheus package) checks the rules;
# Debian's chromium runs the web pages' browser tests (Playwright drives it; no browser is downloaded).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

if ! command -v promtool >/dev/null; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  log "tools: installing Debian's prometheus package for promtool"
  $sudo apt-get update -qq
  # policy-rc.d keeps the package from starting its own Prometheus server.
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  $sudo rm -f /usr/sbin/policy-rc.d
fi

if ! command -v chromium >/dev/null; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  log "tools: installing Debian's chromium for the browser tests"
  [ -n "$(find /var/lib/apt/lists -name '*Packages*' -print -quit 2>/dev/null)" ] || $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium fonts-wqy-microhei >/dev/null \
    || { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium fonts-wqy-microhei >/dev/null; }
fi
