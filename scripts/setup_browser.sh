#!/usr/bin/env bash
# Headless Chromium + chromedriver (and a CJK font for readable screenshots) from Debian's
# packages, for the browser tests in tests/web/test_browser.py. Idempotent: when everything is
# installed it only checks and exits within a second. Nothing is downloaded outside apt.
set -euo pipefail

need=()
for pkg in chromium chromium-driver fonts-noto-cjk; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -eq 0 ] && [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  echo "[browser] chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}') ready" >&2
  exit 0
fi
[ ${#need[@]} -eq 0 ] && need=(chromium chromium-driver)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "[browser] 需要 root 权限安装 ${need[*]}（not root and no sudo: install them with apt-get）" >&2
    exit 1
  fi
fi
echo "[browser] installing ${need[*]} from apt" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${need[@]}" >/dev/null
/usr/bin/chromium --version >&2
