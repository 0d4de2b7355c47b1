#!/usr/bin/env bash
# Checks the reports of `ssb-harness check` with outside tools (run from CI after the reference
# check wrote reports/conformance/reference/):
# - JUnit XML of three runs (all pass; one failing case; a skipped suite and unsupported cases)
#   validated with xmllint (Debian libxml2-utils) against the JUnit schema junit-10.xsd (the
#   Jenkins xunit-plugin schema, MIT licence), taken from pytest's source distribution on PyPI
#   (pinned version and sha256), which ships it for its own JUnit tests;
# - report.html of the reference opened in headless Chromium (Debian package): the page must
#   render its title and summary, and a screenshot is saved as
#   reports/conformance/reference/report.png; the report of run 2 (one failing case) is
#   screenshot too, as reports/conformance/report-with-a-failure.png.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
bin=${SSB_HARNESS:-$root/target/debug/ssb-harness}
work=$root/target/report-checks
rm -rf "$work" && mkdir -p "$work"

need=()
command -v xmllint >/dev/null || need+=(libxml2-utils)
command -v chromium >/dev/null || need+=(chromium)
if ((${#need[@]})); then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

pytest_version=8.3.4
pytest_sha256=965370d062bce11e73868e0335abac31b4d3de0e82f4007408d242b4f8610761
xsd=$root/target/junit-10.xsd
if [[ ! -s $xsd ]]; then
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    "pytest==$pytest_version" -d "$work/pytest"
  sdist=$work/pytest/pytest-$pytest_version.tar.gz
  echo "$pytest_sha256  $sdist" | sha256sum -c --quiet
  tar -xzf "$sdist" -C "$work/pytest" "pytest-$pytest_version/testing/example_scripts/junit-10.xsd"
  cp "$work/pytest/pytest-$pytest_version/testing/example_scripts/junit-10.xsd" "$xsd"
fi

# Run 1: the reference, every suite. Run 2: one boxstream expectation changed, so one case
# fails. Run 3: an adapter that lists boxstream only and supports nothing of it.
"$bin" check --reports "$work/r1" --junit "$work/pass.xml" >/dev/null
mkdir -p "$work/vectors"
python3 - vectors/boxstream.json "$work/vectors/boxstream.json" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))
case = next(c for c in f["cases"] if "error" not in c["expect"])
case["expect"] = {"output": "00"}
json.dump(f, open(sys.argv[2], "w"), indent=2)
PY
"$bin" check --reports "$work/r2" --suite boxstream --junit "$work/fail.xml" \
  --vectors "$work/vectors" >/dev/null 2>&1 || true
"$bin" check --reports "$work/r3" --suite boxstream,box1 --junit "$work/skip.xml" \
  --adapter conformance/tests/fixtures/adapter-unsupported.sh >/dev/null || true
for f in pass fail skip; do
  xmllint --noout --schema "$xsd" "$work/$f.xml" 2>&1 | tail -n 1
done
grep -q '<failure ' "$work/fail.xml" && grep -q '<skipped ' "$work/skip.xml" \
  && echo "junit: pass, fail and skip runs valid against junit-10.xsd"

html=$root/reports/conformance/reference/report.html
png=$root/reports/conformance/reference/report.png
[[ -s $html ]] || "$bin" check --reports "$root/reports" >/dev/null
chrome=(chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run
  --user-data-dir="$work/chromium")
dom=$(timeout 120 "${chrome[@]}" --dump-dom "file://$html" 2>/dev/null)
grep -q '<h1>Conformance report: reference</h1>' <<<"$dom"
grep -q 'id="suite-boxstream"' <<<"$dom"
timeout 120 "${chrome[@]}" --window-size=1280,1400 --screenshot="$png" "file://$html" >/dev/null 2>&1
[[ -s $png ]]
failing=$work/r2/conformance/reference/report.html
grep -q 'class="badge fail"' "$failing"
timeout 120 "${chrome[@]}" --window-size=1280,1400 \
  --screenshot="$root/reports/conformance/report-with-a-failure.png" "file://$failing" >/dev/null 2>&1
echo "html: report.html rendered by $(chromium --version 2>/dev/null | head -n 1); screenshot $(basename "$png") ($(stat -c %s "$png") bytes)"
