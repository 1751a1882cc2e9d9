#!/usr/bin/env bash
# Runs the whole test suite on a Debian machine with Rust installed.
#
# Installs the browser test's Chromium and ChromeDriver from Debian's packages when they are
# missing, then runs every test of the workspace. Tests use a fresh SQLite file each, unless
# TEST_DATABASE_URL names a PostgreSQL server on which they create their own databases, such as
#   TEST_DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres scripts/test.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
    echo "Installing chromium and chromium-driver from Debian's packages"
    sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends chromium chromium-driver
fi

# TEST_DATABASE_URL, when set, reaches the tests through the environment unchanged.
cargo test --workspace --locked
