#!/usr/bin/env bash
# Runs the fleet simulation for the cases in docs/fleet.md and prints one
# JSON line per run. Takes about half an hour; pass case names to run only
# some of them.
set -euo pipefail
cd "$(dirname "$0")/.."

run() {
    local name=$1
    shift
    local result
    result=$(cargo bench --quiet --bench fleet -- --json "$@")
    printf '{"case":"%s","result":%s}\n' "$name" "$result"
}

cases=${*:-"paced-1k paced-10k paced-1k-long unpaced-1k unpaced-10k small-guess large-guess"}
cargo bench --no-run --quiet --bench fleet
for case in $cases; do
    case $case in
    paced-1k) run "$case" --devices 1000 --outage 60s ;;
    paced-10k) run "$case" --devices 10000 --outage 60s ;;
    paced-1k-long) run "$case" --devices 1000 --outage 5m ;;
    unpaced-1k) run "$case" --devices 1000 --outage 60s --no-pacing ;;
    unpaced-10k) run "$case" --devices 10000 --outage 60s --no-pacing ;;
    small-guess) run "$case" --devices 1000 --outage 60s --fleet-size 500 ;;
    large-guess) run "$case" --devices 1000 --outage 60s --fleet-size 2000 ;;
    *)
        echo "unknown case $case" >&2
        exit 2
        ;;
    esac
done
