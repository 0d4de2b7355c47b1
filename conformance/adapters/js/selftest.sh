#!/usr/bin/env bash
# Checks of the JS adapter and TCP peer. Run from anywhere:
#   bash conformance/adapters/js/selftest.sh
# Installs node_modules with `npm ci` when missing. Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")"
[ -d node_modules ] || npm ci --no-audit --no-fund >&2 || exit 1

pass=0; fail=0
check() { # name, then a command; counts its exit status
  local name=$1; shift
  if "$@"; then pass=$((pass+1)); echo "ok   $name"; else fail=$((fail+1)); echo "FAIL $name"; fi
}

NET=d4a1cb88a66f02f8db635ce26441cc5dac1b08420ceaac230839b755845a9ffb
K=$(printf '11%.0s' $(seq 32)); N=$(printf 'ff%.0s' $(seq 24))

echo "== 1. a few raw request lines through adapter.js"
demo() {
  local enc
  enc=$(printf '%s\n' "{\"id\":1,\"op\":\"boxstream.encrypt\",\"args\":{\"key\":\"$K\",\"nonce\":\"$N\",\"writes\":[\"68656c6c6f\",\"\",\"776f726c64\"],\"goodbye\":true}}" \
        | node adapter.js 2>/dev/null | node -pe 'JSON.parse(require("fs").readFileSync(0)).ok.output')
  local out
  out=$(printf '%s\n' \
    '{"id":0,"op":"capabilities","args":{}}' \
    "{\"id\":1,\"op\":\"boxstream.encrypt\",\"args\":{\"key\":\"$K\",\"nonce\":\"$N\",\"writes\":[\"68656c6c6f\",\"\",\"776f726c64\"],\"goodbye\":true}}" \
    "{\"id\":2,\"op\":\"boxstream.decrypt\",\"args\":{\"key\":\"$K\",\"nonce\":\"$N\",\"input\":\"$enc\"}}" \
    "{\"id\":3,\"op\":\"boxstream.decrypt\",\"args\":{\"key\":\"$K\",\"nonce\":\"$N\",\"input\":\"${enc:0:100}\"}}" \
    "{\"id\":4,\"op\":\"shs.server\",\"args\":{\"network_key\":\"$NET\",\"server_seed\":\"$K\",\"server_ephemeral\":\"$K\",\"accept_client\":true,\"incoming\":[\"00\",\"00\"]}}" \
    '{"id":5,"op":"shs.client","args":{"network_key":"00"}}' \
    '{"id":6,"op":"frobnicate","args":{}}' \
    'not json' \
    | node adapter.js)
  echo "$out" | cut -c1-200
  [ "$(echo "$out" | wc -l)" -eq 8 ] &&
  echo "$out" | sed -n 3p | grep -q '"bodies":\["68656c6c6f","776f726c64"\]}' &&
  echo "$out" | sed -n 4p | grep -q '"kind":"truncated"' &&
  echo "$out" | sed -n 5p | grep -q '"kind":"msg1_rejected"' &&
  echo "$out" | sed -n 6p | grep -q '"kind":"invalid_args"' &&
  echo "$out" | sed -n 7p | grep -q '"kind":"unsupported"' &&
  echo "$out" | sed -n 8p | grep -q '"id":null'
}
check "raw request lines" demo

echo "== 2. selftest.js (handshake transcripts vs secret-handshake's network API, box-stream, deviations)"
check "selftest.js" node selftest.js

echo "== 3. shs1-test suites (shs1-crypto as the peer) against the adapter's handshake code"
shs1() { # server|client; the exe logs each rejected fault to stderr (dropped here)
  local out
  out=$(npx --no-install "shs1test$1" ./shs1-exe.js 1 2>/dev/null)
  echo "$out" | tail -1
  echo "$out" | grep -q "^Passed the $1 test suite"
}
check "shs1testserver" shs1 server
check "shs1testclient" shs1 client

echo "== 4. TCP interop: tcp-peer.js server <-> tcp-peer.js client on 127.0.0.1"
tcp() { # payload-bytes [network key for the client] ; expect success iff no override
  local size=$1 cnet=${2:-$NET}
  local ss cs payload out err srv line port pub crc src
  ss=$(node -e 'console.log(require("crypto").randomBytes(32).toString("hex"))')
  cs=$(node -e 'console.log(require("crypto").randomBytes(32).toString("hex"))')
  payload=$(node -e "console.log(require('crypto').randomBytes($size).toString('hex'))")
  out=$(mktemp); err=$(mktemp)
  node tcp-peer.js server --seed "$ss" --network-key "$NET" >"$out" 2>"$err" & srv=$!
  for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.1; done
  line=$(head -1 "$out"); echo "   server: $line"
  port=$(echo "$line" | node -pe 'JSON.parse(require("fs").readFileSync(0)).port')
  pub=$(echo "$line" | node -pe 'JSON.parse(require("fs").readFileSync(0)).public')
  local cout
  cout=$(node tcp-peer.js client --seed "$cs" --network-key "$cnet" --connect "127.0.0.1:$port" \
       --server-public "$pub" --payload "$payload" 2>&1); crc=$?
  echo "   client: rc=$crc $cout"
  wait $srv; src=$?
  local sfinal
  sfinal=$(tail -n +2 "$out")
  echo "   server: rc=$src $sfinal $(cat "$err")"
  rm -f "$out" "$err"
  local cpub
  cpub=$(node -e "console.log(require('chloride').crypto_sign_seed_keypair(Buffer.from('$cs','hex')).publicKey.toString('hex'))")
  if [ -z "${2:-}" ]; then
    [ "$crc" -eq 0 ] && [ "$cout" = '{"ok":true}' ] && [ "$src" -eq 0 ] &&
      [ "$sfinal" = "{\"ok\":true,\"remote_public\":\"$cpub\"}" ]
  else
    [ "$crc" -ne 0 ] && [ "$src" -ne 0 ]
  fi
}
check "tcp 10000-byte echo" tcp 10000
check "tcp 1-byte echo" tcp 1
check "tcp wrong network key fails" tcp 10 "$(printf '00%.0s' $(seq 32))"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
