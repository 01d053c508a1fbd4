#!/usr/bin/env bash
# Install the system services BlueRanch runs for real: Mosquitto (MQTT 3.1.1 and 5) and InfluxDB 1.x
# from Debian's packages, Chromium (headless, to render the MRV report in tests) with a Chinese font (the report
# in Chinese; WenQuanYi Micro Hei, 1.6 MB, rather than Noto CJK's 57 MB), and Node.js with npm (the
# TypeScript check of the dashboards against Grafana's schema, scripts/node-deps.sh).
# As root it runs apt-get; otherwise it prints what to install. Does nothing when all are present.
set -euo pipefail

declare -A need=(
  [mosquitto]=mosquitto
  [mosquitto_pub]=mosquitto-clients
  [influxd]=influxdb
  [influx]=influxdb-client
  [chromium]=chromium
  [node]=nodejs
  [npm]=npm
)
missing=()
for bin in "${!need[@]}"; do
  if ! command -v "$bin" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$bin" ]; then
    missing+=("${need[$bin]}")
  fi
done
# A font with Chinese glyphs (fontconfig's fc-list comes with Chromium).
if ! command -v fc-list >/dev/null 2>&1 || [ -z "$(fc-list :lang=zh 2>/dev/null)" ]; then
  missing+=(fonts-wqy-microhei)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
  echo "BlueRanch needs these Debian packages: ${pkgs[*]}" >&2
  echo "Install them as root:  apt-get update && apt-get install -y ${pkgs[*]}" >&2
  exit 1
fi
echo "Installing ${pkgs[*]} with apt-get (about a minute) ..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
# Debian's packages may start system-wide instances; BlueRanch starts its own on free ports.
