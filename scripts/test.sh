#!/usr/bin/env bash
# Install Sealbox with its test dependencies into .venv, then lint, type-check and test.
# Usage: bash scripts/test.sh [pytest arguments]
#
# Some tests need system programs pip cannot install: PostgreSQL's initdb/postgres (the
# PostgreSQL store tests), SoftHSM2 (the PKCS#11 root key tests), wrk (the service
# benchmark's smoke test), Chromium (the web console's browser tests) and AWS's Ruby S3
# encryption client (ruby-aws-sdk-s3, the S3 interoperability tests). They are installed
# with apt-get when missing and this runs as root or with sudo; otherwise those tests
# skip with a one-line reason. SEALBOX_SKIP_SYSTEM_PACKAGES=1 never installs them.
set -euo pipefail
cd "$(dirname "$0")/.."

install_system_packages() {
    local missing=()
    if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && ! command -v initdb >/dev/null; then
        missing+=(postgresql)
    fi
    if ! command -v softhsm2-util >/dev/null; then
        missing+=(softhsm2)
    fi
    if ! command -v wrk >/dev/null; then
        missing+=(wrk)
    fi
    if ! command -v chromium >/dev/null; then
        missing+=(chromium)
    fi
    if ! ruby -e "require 'aws-sdk-s3'; require 'aws-sdk-kms'" >/dev/null 2>&1; then
        missing+=(ruby ruby-aws-sdk-s3 ruby-aws-sdk-kms)
    fi
    [ "${#missing[@]}" -eq 0 ] && return 0
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            sudo="sudo -n"
        else
            echo "scripts/test.sh: ${missing[*]} missing and no root or sudo: their tests will skip" >&2
            return 0
        fi
    fi
    if ! command -v apt-get >/dev/null; then
        echo "scripts/test.sh: ${missing[*]} missing and no apt-get: their tests will skip" >&2
        return 0
    fi
    echo "scripts/test.sh: installing ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if [ "${SEALBOX_SKIP_SYSTEM_PACKAGES:-0}" != "1" ]; then
    install_system_packages
fi
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1  # the console tests drive Debian's chromium
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check --quiet src tests bench
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
