#!/usr/bin/env bash
# Installs what the tests need from Debian when it is missing: Chromium for the browser tests,
# a PostgreSQL server (with pg_virtualenv) for the PostgreSQL leg, Pango for WeasyPrint's PDFs
# and poppler-utils (pdftoppm) to look at them. Idempotent.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v pg_virtualenv >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql postgresql-common)
ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0' || need+=(libpango-1.0-0 libpangoft2-1.0-0)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "Installing from Debian: ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
