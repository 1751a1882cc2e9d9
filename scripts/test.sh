#!/usr/bin/env bash
# Runs the whole test suite on a Debian machine with Rust installed.
#
# Installs what the tests drive from Debian's packages when it is missing: Chromium and
# ChromeDriver for the browser tests, and sipp, baresip, svwar and svcrack for
# crates/tandem/tests/sip_peers.rs. Then runs every test of the workspace. Tests use a fresh SQLite file each, unless
# TEST_DATABASE_URL names a PostgreSQL server on which they create their own databases, such as
#   TEST_DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres scripts/test.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=()
if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
    packages+=(chromium chromium-driver)
fi
if [[ ! -x /usr/bin/sipp ]]; then
    packages+=(sip-tester)
fi
if [[ ! -x /usr/bin/baresip ]]; then
    packages+=(baresip)
fi
if [[ ! -x /usr/bin/svwar || ! -x /usr/bin/svcrack ]]; then
    packages+=(sipvicious)
fi
if [[ ${#packages[@]} -gt 0 ]]; then
    echo "Installing ${packages[*]} from Debian's packages"
    sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${packages[@]}"
fi

# TEST_DATABASE_URL, when set, reaches the tests through the environment unchanged.
cargo test --workspace --locked
