#!/usr/bin/env bash
# Runs `ssb-harness check --peer` against a freshly started peer and writes its report:
#   conformance/scripts/live-check.sh reference   -> reports/conformance/reference-node/
#   conformance/scripts/live-check.sh db2         -> reports/conformance/js-db2-peer/
#   conformance/scripts/live-check.sh classic     -> reports/conformance/js-classic-peer/
#   conformance/scripts/live-check.sh gosbot      -> reports/conformance/go-sbot-peer/
# The peer is started on 127.0.0.1 with a fresh data directory and told to replicate the two
# harness feeds (`ssb-harness check --print-harness-id`); JS peers are checked with their
# documented deviations (conformance/adapters/js-node/deviations*.toml), go-sbot (go-ssb's sbot,
# built here from conformance/adapters/go-sbot/go.sum, run with -promisc since the suite's clients
# are fresh keys) with conformance/adapters/go-sbot/deviations-gosbot.toml. Exits with the check's
# status. Expects the workspace to be built (target/debug/ssb-harness).
set -euo pipefail
cd "$(dirname "$0")/../.."
kind=${1:?usage: live-check.sh reference|db2|classic|gosbot}
bin=target/debug/ssb-harness
ids=$("$bin" check --print-harness-id)
h=$(echo "$ids" | sed -n 1p)
t=$(echo "$ids" | sed -n 2p)
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
case "$kind" in
  reference)
    "$bin" node --listen "127.0.0.1:$port" --data "$work/data" --seed live-check \
      --replicate "$h" --replicate "$t" >"$work/out" 2>"$work/err" &
    pid=$!
    name=reference-node
    deviations=()
    ;;
  db2|classic)
    # The peer reads its commands from a FIFO kept open for the whole check.
    mkfifo "$work/in"
    node conformance/adapters/js-node/peer.js --stack "$kind" --port "$port" --data "$work/data" \
      --seed "$(printf '5a%.0s' $(seq 32))" <"$work/in" >"$work/out" 2>"$work/err" &
    pid=$!
    exec 3>"$work/in"
    printf '{"id":1,"cmd":"replicate","feed":"%s"}\n{"id":2,"cmd":"replicate","feed":"%s"}\n' "$h" "$t" >&3
    name=js-$kind-peer
    deviations=(--deviations "conformance/adapters/js-node/deviations-$kind.toml")
    ;;
  gosbot)
    (cd conformance/adapters/go-sbot && go build -mod=readonly -buildvcs=false -o ../../../target/go-sbot/peer .)
    mkfifo "$work/in"
    target/go-sbot/peer --port "$port" --data "$work/data" --seed "$(printf '5b%.0s' $(seq 32))" \
      --promisc <"$work/in" >"$work/out" 2>"$work/err" &
    pid=$!
    exec 3>"$work/in"
    printf '{"id":1,"cmd":"replicate","feed":"%s"}\n{"id":2,"cmd":"replicate","feed":"%s"}\n' "$h" "$t" >&3
    name=go-sbot-peer
    deviations=(--deviations conformance/adapters/go-sbot/deviations-gosbot.toml)
    ;;
  *) echo "unknown peer kind $kind" >&2; exit 2 ;;
esac
for _ in $(seq 100); do
  grep -q '"ready"' "$work/out" 2>/dev/null && break
  sleep 0.1
done
id=$(grep -m1 '"ready"' "$work/out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
"$bin" check --peer "127.0.0.1:$port" --peer-id "$id" --name "$name" "${deviations[@]}"
