#!/usr/bin/env bash
# Installs the system packages Lodestar needs (tesseract with Simplified Chinese, CJK fonts,
# Pango for the PDF reports, PostgreSQL for the dbt parity test, Chromium for the cockpit's browser tests).
# Idempotent: does nothing when they are already there.
set -euo pipefail
need=()
command -v tesseract >/dev/null 2>&1 || need+=(tesseract-ocr)
tesseract --list-langs 2>/dev/null | grep -qx chi_sim || need+=(tesseract-ocr-chi-sim)
[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || need+=(fonts-noto-cjk)
{ command -v pg_ctlcluster >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || need+=(postgresql)
# Pango (with its FreeType backend) is what weasyprint lays the quarterly value reports out with.
ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0' || need+=(libpango-1.0-0 libpangoft2-1.0-0)
command -v make >/dev/null 2>&1 || need+=(make)
# dbt on Spark (the `spark` extra, tests/dbt/test_spark_parity.py): pyspark 4 runs on Java 17+
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
# the cockpit's browser tests drive Debian's Chromium through Playwright (its own browser download is blocked)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Lodestar needs these system packages: ${need[*]}" >&2
  echo "Run as root, or install them yourself:  sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
