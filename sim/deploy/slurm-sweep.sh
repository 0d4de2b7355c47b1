#!/usr/bin/env bash
# A simulator sweep as a Slurm job array: each array task runs one shard of the seeds
# (ssb-harness takes K from SLURM_ARRAY_TASK_ID), then one dependent job merges the shards.
#
#   SEEDS=1..100000 SHARDS=64 sbatch --array=0-63 sim/deploy/slurm-sweep.sh
#   sbatch --dependency=afterany:<array job id> --wrap \
#     "ssb-harness sim sweep-merge $OUT/shard-* --out $OUT/merged"
#
# Settings (environment, with defaults): SEEDS (1..10000), SHARDS (the array's size), OUT (a
# shared directory, sweep-out), SCENARIOS (all bundled), HARNESS (ssb-harness on PATH). Each
# task uses the CPUs Slurm gives it (--cpus-per-task) as parallel runs. A task whose sweep finds a
# violation exits non-zero; afterany still merges, so the merged report lists it. sweep-merge
# takes whatever shard directories exist: a task that died before writing its sweep.json leaves
# its slice out, so compare the merged run count with an unsharded count when it matters.
# sim/deploy/slurm-test.sh runs this script through a single-node Slurm and checks the merge.
#SBATCH --job-name=ssb-sweep
#SBATCH --cpus-per-task=4
#SBATCH --time=02:00:00
#SBATCH --output=ssb-sweep-%A_%a.log
set -euo pipefail
: "${SLURM_ARRAY_TASK_ID:?run through sbatch --array=0-(SHARDS-1)}"
SEEDS=${SEEDS:-1..10000}
SHARDS=${SHARDS:-${SLURM_ARRAY_TASK_COUNT:?set SHARDS to the array size}}
OUT=${OUT:-sweep-out}
HARNESS=${HARNESS:-ssb-harness}
JOBS=${SLURM_CPUS_PER_TASK:-1}
# The array index is the shard: an array that is not 0..SHARDS-1 (say --array=1-64) would skip a
# slice and ask for one that does not exist, and the merge would not notice the gap.
if [ "${SLURM_ARRAY_TASK_MIN:-0}" != 0 ] || [ "${SLURM_ARRAY_TASK_MAX:-$((SHARDS - 1))}" != $((SHARDS - 1)) ]; then
  echo "slurm-sweep.sh: submit with --array=0-$((SHARDS - 1)) (one task per shard), not" \
    "${SLURM_ARRAY_TASK_MIN:-?}-${SLURM_ARRAY_TASK_MAX:-?}" >&2
  exit 2
fi
# shellcheck disable=SC2086
exec "$HARNESS" sim sweep ${SCENARIOS:-} --swarm --seeds "$SEEDS" --shard "$SHARDS" \
  --jobs "$JOBS" --out "$OUT/shard-$SLURM_ARRAY_TASK_ID"
