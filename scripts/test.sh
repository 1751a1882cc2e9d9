#!/usr/bin/env bash
# Runs the whole test suite on a Debian machine with Rust installed.
#
# Installs what the tests drive from Debian's packages when it is missing: Chromium and
# ChromeDriver for the browser tests, and sipp, baresip, svwar and svcrack for
# crates/tandem/tests/sip_peers.rs. Then runs every test of the workspace, or what its
# arguments select (they go to cargo test). Tests use a fresh SQLite file each, unless
# TEST_DATABASE_URL names a PostgreSQL server on which they create their own databases, such as
#   TEST_DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres scripts/test.sh
# The run's temporary files and the databases of the tests in crates/tandem are removed at
# the end.
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

# Each run keeps its temporary files in a folder of its own, and names its PostgreSQL databases
# with a prefix of its own, and removes both when it ends, whether the tests passed or not.
# The folder's path is made absolute, because the tests run in their crates' folders.
run_dir="$(mktemp -d "${TMPDIR:-/tmp}/tandem-test-run.XXXXXXXX")"
run_dir="$(cd "$run_dir" && pwd -P)"
run_id="$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
export TMPDIR="$run_dir"
export TANDEM_TEST_DATABASE_PREFIX="tandem_test_${run_id}_"

# Runs at exit. A failed clean-up is reported, and the script still exits with the tests'
# status. A SIGTERM sent to the script alone runs it while the tests go on: stop the whole
# process group instead, as Ctrl-C does.
remove_run_files() {
    local status=$?
    set +e
    rm -rf "$run_dir"
    if [[ -n "${TEST_DATABASE_URL:-}" ]]; then
        if command -v psql >/dev/null; then
            drop_run_databases
        else
            echo "psql is missing, so the databases named ${TANDEM_TEST_DATABASE_PREFIX}* were" \
                "not dropped: install postgresql-client and drop them by hand" >&2
        fi
    fi
    exit "$status"
}

drop_run_databases() {
    local names name
    names="$(psql "$TEST_DATABASE_URL" -X -w -qAt -c "SELECT datname FROM pg_database \
        WHERE starts_with(datname, '${TANDEM_TEST_DATABASE_PREFIX}')")" || {
        echo "could not list the test databases named ${TANDEM_TEST_DATABASE_PREFIX}*" >&2
        return
    }
    for name in $names; do
        psql "$TEST_DATABASE_URL" -X -w -q -c "DROP DATABASE IF EXISTS \"${name}\" WITH (FORCE)" ||
            echo "could not drop the test database ${name}" >&2
    done
}
trap remove_run_files EXIT

# TEST_DATABASE_URL, when set, reaches the tests through the environment unchanged. Arguments
# go to cargo test in place of --workspace, for example `-p tandem --test ledger` to run one
# test file (with --workspace, cargo would ignore -p).
if [[ $# -eq 0 ]]; then
    set -- --workspace
fi
cargo test --locked "$@"
