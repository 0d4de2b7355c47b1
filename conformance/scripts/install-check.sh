#!/usr/bin/env bash
# The implementer's install path, as a test: `cargo install` of ssb-harness into a temporary
# root, then, from a temporary directory away from the checkout (with the checkout's vectors/
# moved aside, so nothing can be read from it), `ssb-harness check --strict` on the reference
# with the vectors compiled into the binary, its reports under the current directory, and
# `ssb-harness completions bash`.
# Run from CI after `cargo run -p ssb-conformance`, so cargo install reuses that build (the
# workspace's target/ and the same feature set) and only links: a few seconds. Run inside
# `cargo test --workspace` it would compile the dependency tree a second time (the workspace
# unifies other features of serde, tokio and syn than ssb-conformance alone).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
tmp=$(mktemp -d)
restore() {
  if [[ -d $tmp/vectors-aside ]]; then mv "$tmp/vectors-aside" "$root/vectors"; fi
  rm -rf "$tmp"
}
trap restore EXIT

cargo install -q --locked --offline --debug --path conformance --root "$tmp/root" --bin ssb-harness
mv "$root/vectors" "$tmp/vectors-aside"
mkdir "$tmp/away"
cd "$tmp/away"
"$tmp/root/bin/ssb-harness" check --strict | tail -n 1
grep -q '"vectors": "embedded in ssb-harness' reports/conformance/reference/report.json
[[ -s reports/conformance/reference/report.html ]]
"$tmp/root/bin/ssb-harness" completions bash > "$tmp/completions.bash"
grep -q 'complete -F' "$tmp/completions.bash"
# A reader that stops early must not make the binary panic (it did: clap_complete's writer).
"$tmp/root/bin/ssb-harness" completions bash | head -n 1 > /dev/null
echo "install: cargo install into a temporary root; the installed binary checked the reference from $(basename "$tmp")/away with the checkout's vectors/ moved aside"
