#!/usr/bin/env bash
# Runs pushbind's main job on this machine, end to end: starts the stand-in
# IM server with a seeded app, user and push certificate, starts pushbindd
# against it, logs the user in, binds a device token, waits for the server
# to confirm it, and shows the daemon's status. Everything runs on loopback
# in a temporary directory that is removed at the end.
set -euo pipefail

cd "$(dirname "$0")/.."
echo "==> building pushbind (first build takes a few minutes)"
cargo build --quiet --bins --workspace
bin="${CARGO_TARGET_DIR:-target}/debug"

work="$(mktemp -d)"
chmod 700 "$work"
pids=()
cleanup() {
    local status=$?
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "$status" -ne 0 ]; then
        for log in "$work"/*.log; do
            [ -s "$log" ] || continue
            echo "--- last lines of $(basename "$log") ---" >&2
            tail -n 20 "$log" >&2
        done
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# Polls "$@" until it succeeds, for at most 20 seconds.
wait_for() {
    for _ in $(seq 200); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    echo "timed out waiting for: $*" >&2
    return 1
}

printf 'quickstart-secret' >"$work/secret"
chmod 600 "$work/secret"

echo "==> starting the stand-in IM server on 127.0.0.1"
"$bin/pushbind-standin" --listen 127.0.0.1:0 --addr-file "$work/standin.addr" \
    --app-key demo#quickstart --app-id quickstart1 \
    --client-id quickstart-client --client-secret-file "$work/secret" \
    --user alice --notifier fcm-demo:ANDROID:PRODUCTION \
    >/dev/null 2>"$work/standin.log" &
pids+=($!)
wait_for test -s "$work/standin.addr"
server="http://$(cat "$work/standin.addr")"
echo "    serving app demo#quickstart at $server"

cat >"$work/config.toml" <<TOML
server_url = "$server"
app_key = "demo#quickstart"
client_id = "quickstart-client"
client_secret_file = "$work/secret"
data_dir = "$work/data"
TOML
chmod 600 "$work/config.toml"
export PUSHBIND_SOCKET="$work/run/pushbindd.sock"

echo "==> starting pushbindd (its log is shown if anything fails)"
"$bin/pushbindd" --config "$work/config.toml" 2>"$work/pushbindd.log" &
pids+=($!)
wait_for "$bin/pushbind" status

run() {
    echo
    echo "\$ pushbind $*"
    "$bin/pushbind" "$@"
}
run login alice
run bind --notifier fcm-demo --token quickstart-device-token-0001 --wait
run status
echo
echo "==> done: the binding above is in state synced, which means the server"
echo "    confirmed it holds the token. Tokens show as fingerprints: sha256:,"
echo "    8 hex digits of the token's SHA-256, and its length."
