#!/usr/bin/env bash
# A sharded sweep through a real single-node Slurm: starts munged, slurmctld and slurmd (Debian's
# munge and slurm-wlm) as plain daemons with a private slurm.conf in a temporary directory,
# submits sim/deploy/slurm-sweep.sh as a job array of SHARDS tasks over a small swarm sweep of
# the sweep test scenario, merges the slices with `ssb-harness sim sweep-merge`, and checks that
# the merged runs equal those of one unsharded `sim sweep` over the same seeds (every field of
# every run but wall_ms). Exits non-zero when they differ, when a task or a sweep failed, or
# when a step runs past its bound.
#
#   sim/deploy/slurm-test.sh                 HARNESS: target/release or target/debug ssb-harness
#   HARNESS=path/to/ssb-harness SEEDS=1..30 SHARDS=3 sim/deploy/slurm-test.sh
#
# Slurm needs root here (the daemons run as root, SlurmUser=root) and apt-get to install it if
# it is missing. Where either is lacking, or the daemons do not come up, the script says why and
# falls back to running slurm-sweep.sh SHARDS times locally with the array's environment
# (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT) set by hand, followed by the same merge and
# comparison; SLURM_TEST_REQUIRE=1 makes that fallback a failure instead, SLURM_TEST_LOCAL=1
# takes it without trying Slurm.
#
# No systemd is assumed: every daemon runs in the foreground as a child of this script, with its
# own socket, ports, state and spool directories, and is stopped (by its process id) on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

SEEDS=${SEEDS:-1..30}
SHARDS=${SHARDS:-3}
SCENARIO="$root/sim/tests/fixtures/tiny.toml"
if [ -z "${HARNESS:-}" ]; then
  for h in target/release/ssb-harness target/debug/ssb-harness; do
    if [ -x "$h" ]; then HARNESS="$root/$h"; break; fi
  done
fi
: "${HARNESS:?build ssb-harness first (cargo build -p ssb-conformance) or set HARNESS}"
HARNESS=$(cd "$(dirname "$HARNESS")" && pwd)/$(basename "$HARNESS")

# Every daemon this script starts, by process id, stopped in reverse order on exit.
pids=()
work=$(mktemp -d "${TMPDIR:-/tmp}/ssb-slurm-test.XXXXXX")
cleanup() {
  local rc=$?
  trap '' INT TERM
  local i p
  # An unfinished array is cancelled while slurmd still runs, so that slurmd ends each task's
  # slurmstepd (and the sweep under it); killing the daemons first would orphan them. Done when
  # no job is left and the node has left COMPLETING (every slurmstepd has reported), or after 20 s.
  if kill -0 "${ctld_pid:-0}" 2>/dev/null; then
    [ -z "${job:-}" ] || timeout 10 scancel "$job" >/dev/null 2>&1 || true
    i=$((SECONDS + 20))
    while [ "$SECONDS" -lt "$i" ]; do
      if [ -z "$(timeout 5 squeue --noheader --format=%i 2>/dev/null)" ] \
        && [ "$(timeout 5 sinfo --noheader --nodes=localhost --format=%T 2>/dev/null)" = idle ]; then
        break
      fi
      sleep 0.5
    done
  fi
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null || true
  done
  i=$((SECONDS + 10))
  for p in "${pids[@]}"; do
    while kill -0 "$p" 2>/dev/null && [ "$SECONDS" -lt "$i" ]; do sleep 0.2; done
    kill -9 "$p" 2>/dev/null || true
  done
  # Whatever still runs inside the temporary directory was started by this script's Slurm (a
  # task's sweep has its working directory there, a slurmstepd inherits slurmd's): end it.
  for p in /proc/[0-9]*; do
    case "$(readlink "$p/cwd" 2>/dev/null)" in
      "$work" | "$work"/*) kill -9 "${p#/proc/}" 2>/dev/null || true ;;
    esac
  done
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf 'slurm-test: %s\n' "$*"; }
fail() {
  say "FAILED: $*"
  exit 1
}
logs() {
  local f
  for f in "$@"; do
    [ -f "$f" ] || continue
    echo "--- $f (last 20 lines)"
    tail -n 20 "$f"
  done
}

# Why Slurm cannot be used here (empty: it can be tried).
no_slurm=""
if [ "${SLURM_TEST_LOCAL:-0}" = 1 ]; then
  no_slurm="SLURM_TEST_LOCAL=1 asks for local shards"
elif [ "$(id -u)" != 0 ]; then
  no_slurm="not root (the test runs munged, slurmctld and slurmd as root)"
elif ! command -v sbatch >/dev/null || ! command -v slurmctld >/dev/null \
  || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurm-wlm and munge (apt-get)"
  if ! command -v apt-get >/dev/null; then
    no_slurm="slurm-wlm and munge are not installed and there is no apt-get"
  elif ! { timeout 300 apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq \
      --no-install-recommends slurm-wlm munge; } >"$work/apt.log" 2>&1; then
    logs "$work/apt.log"
    no_slurm="apt-get install slurm-wlm munge failed"
  fi
fi

# Two free TCP ports on 127.0.0.1 for slurmctld and slurmd (the defaults, 6817 and 6818, may be
# taken by another Slurm on the machine).
free_ports() {
  python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])'
}

# Starts munged, slurmctld and slurmd; returns non-zero (with the reason in $no_slurm) when one
# of them does not come up or the node does not turn idle within 30 seconds.
start_slurm() {
  local d="$work/slurm"
  mkdir -p "$d/munge" "$d/run" "$d/state" "$d/spool" "$d/log"
  # munged refuses a socket directory that others cannot traverse and a key others can read.
  chmod 755 "$work" "$d" "$d/run"
  chmod 700 "$d/munge"
  head -c 1024 /dev/urandom >"$d/munge/munge.key"
  chmod 400 "$d/munge/munge.key"
  local sock="$d/run/munge.socket"
  # Each daemon gets its own session, so that a signal to this script's process group (timeout,
  # Ctrl-C) reaches this script, which then stops the jobs before the daemons.
  setsid munged --foreground --socket="$sock" --key-file="$d/munge/munge.key" \
    --pid-file="$d/run/munged.pid" --seed-file="$d/munge/munged.seed" \
    --log-file="$d/log/munged.log" >"$d/log/munged.out" 2>&1 &
  pids+=($!)
  local i
  local munged_pid=$!
  for i in $(seq 50); do
    if munge -n --socket="$sock" 2>/dev/null | unmunge --socket="$sock" >/dev/null 2>&1; then
      break
    fi
    if [ "$i" = 50 ] || ! kill -0 "$munged_pid" 2>/dev/null; then
      logs "$d/log/munged.out"
      no_slurm="munged did not start (no credential round-trip; its log is above)"
      return 1
    fi
    sleep 0.2
  done

  local ctld_port slurmd_port
  read -r ctld_port slurmd_port < <(free_ports)
  cat >"$d/slurm.conf" <<EOF
# Written by sim/deploy/slurm-test.sh: one node, everything under $d.
ClusterName=ssbsweep
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/run/slurmctld.pid
SlurmdPidFile=$d/run/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF="$d/slurm.conf"
  (cd "$d/state" && exec setsid slurmctld -D -i -f "$SLURM_CONF") >"$d/log/slurmctld.out" 2>&1 &
  ctld_pid=$!
  pids+=("$ctld_pid")
  (cd "$d/spool" && exec setsid slurmd -D -N localhost -f "$SLURM_CONF") >"$d/log/slurmd.out" 2>&1 &
  pids+=($!)
  local state="" deadline=$((SECONDS + 30))
  while :; do
    state=$(timeout 10 sinfo --noheader --nodes=localhost --format=%T 2>/dev/null || true)
    [ "$state" = idle ] && break
    if [ "$SECONDS" -ge "$deadline" ]; then
      logs "$d/log/slurmctld.out" "$d/log/slurmctld.log" "$d/log/slurmd.out" "$d/log/slurmd.log"
      no_slurm="the node did not turn idle in 30 s (sinfo says '${state:-nothing}')"
      return 1
    fi
    sleep 0.5
  done
  say "$(sinfo --version) up: node localhost idle, $(nproc) CPUs, munge $(munged --version 2>&1 | awk '{print $1}')"
}

out="$work/out"
mkdir -p "$out"
export SEEDS SHARDS HARNESS SCENARIOS="$SCENARIO" OUT="$out"
start=$(date +%s)
if [ -z "$no_slurm" ] && start_slurm; then
  say "sbatch --array=0-$((SHARDS - 1)) sim/deploy/slurm-sweep.sh (seeds $SEEDS, $SHARDS shards)"
  job=$(timeout 30 sbatch --parsable --array="0-$((SHARDS - 1))" --cpus-per-task=1 --time=00:05:00 \
    --chdir="$out" --output="$out/task-%a.log" sim/deploy/slurm-sweep.sh)
  say "submitted array job $job"
  # Poll until no task of the array is queued or running (at most 150 s).
  deadline=$((SECONDS + 150))
  while :; do
    left=$(timeout 10 squeue --noheader --jobs="$job" --format=%i 2>/dev/null | wc -l)
    [ "$left" = 0 ] && break
    if [ "$SECONDS" -ge "$deadline" ]; then
      timeout 10 squeue --jobs="$job" || true
      logs "$out"/task-*.log
      fail "the array did not finish in 150 s"
    fi
    sleep 0.5
  done
  job_done=$job
  job=""
  # No accounting daemon here, so each task's end is read from the controller's memory of it.
  for k in $(seq 0 $((SHARDS - 1))); do
    line=$(timeout 10 scontrol show job "${job_done}_$k" 2>/dev/null | tr ' ' '\n' \
      | grep -E '^(JobState|ExitCode)=' | tr '\n' ' ')
    say "task $k: ${line:-no record}"
    case "$line" in
      *JobState=COMPLETED*ExitCode=0:0*) ;;
      *) logs "$out/task-$k.log"; fail "array task $k did not complete cleanly" ;;
    esac
  done
  how="sbatch array $job_done"
else
  [ "${SLURM_TEST_REQUIRE:-0}" = 1 ] && fail "Slurm cannot be used here: $no_slurm"
  say "Slurm cannot be used here: $no_slurm"
  say "falling back to $SHARDS local runs of slurm-sweep.sh with the array's environment set"
  for k in $(seq 0 $((SHARDS - 1))); do
    SLURM_ARRAY_TASK_ID=$k SLURM_ARRAY_TASK_COUNT=$SHARDS SLURM_ARRAY_TASK_MIN=0 \
      SLURM_ARRAY_TASK_MAX=$((SHARDS - 1)) SLURM_CPUS_PER_TASK=1 \
      timeout 150 bash sim/deploy/slurm-sweep.sh >"$out/task-$k.log" 2>&1 \
      || { logs "$out/task-$k.log"; fail "local shard $k failed"; }
  done
  how="$SHARDS local shards (no Slurm)"
fi
sharded=$(($(date +%s) - start))

timeout 60 "$HARNESS" sim sweep-merge "$out"/shard-* --out "$out/merged" >"$out/merge.log" 2>&1 \
  || { logs "$out/merge.log"; fail "sim sweep-merge failed"; }
start=$(date +%s)
timeout 150 "$HARNESS" sim sweep "$SCENARIO" --swarm --seeds "$SEEDS" --jobs "$(nproc)" \
  --out "$out/whole" >"$out/whole.log" 2>&1 \
  || { logs "$out/whole.log"; fail "the unsharded sweep failed"; }
whole=$(($(date +%s) - start))

# The merged runs must be the unsharded runs, field for field but wall_ms; each shard must hold
# exactly its slice (seed % SHARDS == K, K read by ssb-harness from the array index).
python3 - "$out" "$SHARDS" <<'EOF' || fail "the merged shards differ from the unsharded sweep"
import json, sys
out, shards = sys.argv[1], int(sys.argv[2])
def runs(path):
    with open(path) as f:
        doc = json.load(f)
    return doc, [{k: v for k, v in r.items() if k != "wall_ms"} for r in doc["runs"]]
_, whole = runs(f"{out}/whole/sweep.json")
merged_doc, merged = runs(f"{out}/merged/sweep.json")
bad = []
for k in range(shards):
    try:
        doc, part = runs(f"{out}/shard-{k}/sweep.json")
    except OSError as e:
        bad.append(f"shard {k} left no sweep.json ({e.strerror})")
        continue
    if doc.get("shard") != {"index": k, "count": shards}:
        bad.append(f"shard-{k}/sweep.json names shard {doc.get('shard')}")
    stray = sorted({r["task"]["seed"] for r in part if r["task"]["seed"] % shards != k})
    if stray or not part:
        bad.append(f"shard {k}: {len(part)} runs, seeds outside its slice: {stray}")
if merged_doc["merged_from"] != shards:
    bad.append(f"merged from {merged_doc['merged_from']} sweeps, not {shards}")
if not whole:
    bad.append("the unsharded sweep made no runs")
if merged != whole:
    wk = {json.dumps(r["task"], sort_keys=True): r for r in whole}
    mk = {json.dumps(r["task"], sort_keys=True): r for r in merged}
    for t in sorted(wk.keys() | mk.keys()):
        w, m = wk.get(t), mk.get(t)
        if w is None or m is None:
            bad.append(f"run {t}: only in the {'merged' if w is None else 'unsharded'} sweep")
        elif w != m:
            diff = {f: (w.get(f), m.get(f)) for f in sorted(w.keys() | m.keys()) if w.get(f) != m.get(f)}
            bad.append(f"run {t}: (unsharded, merged) {diff}")
statuses = {}
for r in whole:
    statuses[r["status"]] = statuses.get(r["status"], 0) + 1
for b in bad[:20]:
    print("  " + b)
print(f"  {len(whole)} runs unsharded ({', '.join(f'{v} {k}' for k, v in sorted(statuses.items()))}), "
      f"{len(merged)} merged from {shards} shards: {'equal' if not bad else f'{len(bad)} differences'}")
sys.exit(1 if bad else 0)
EOF
say "ok: $how over seeds $SEEDS (${sharded} s) merged equal the unsharded sweep (${whole} s)"
