#!/bin/bash
# slurm-swarm.sh — the swarm as a Slurm job array: task K runs seed block K through
# sim/swarm/swarm-job.sh (which reads SLURM_ARRAY_TASK_ID). As shipped: 1000 blocks of 10,000
# seeds = seeds 0 .. 9,999,999. Submit from the repository root (after `make`), on a
# file system every node sees, into an empty results/:
#   rm -rf results && sbatch deploy/slurm-swarm.sh
# Each task's output ends with the report command for the array it belongs to (its seeds
# from SLURM_ARRAY_TASK_MIN/MAX and ALICHAIN_BLOCK_SEEDS), e.g. for the shipped array:
#   ./alichain-sim report --first 0 --seeds 10000000 results/block-*.jsonl
# More or fewer seeds: sbatch --array=0-(BLOCKS-1) deploy/slurm-swarm.sh. docs/SCALING.md.
#SBATCH --job-name=alichain-swarm
#SBATCH --array=0-999
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --mem=512M
#SBATCH --time=00:30:00
#SBATCH --output=slurm-%A_%a.out
set -uo pipefail
# Slurm runs a copy of this script from its spool directory, in the directory sbatch --chdir
# names (default: where sbatch was called), and results/ is relative to that directory. The
# repository is the first of: that directory, SLURM_SUBMIT_DIR, this script's own (outside
# Slurm); none holding sim/swarm/swarm-job.sh is exit 2, the job script's "could not run".
repo=
for d in "$PWD" "${SLURM_SUBMIT_DIR:-}" "$(dirname "$0")/.."; do
    if [ -n "$d" ] && [ -x "$d/sim/swarm/swarm-job.sh" ]; then repo=$(cd "$d" && pwd) && break; fi
done
if [ -z "$repo" ]; then
    echo "slurm-swarm: no repository (sim/swarm/swarm-job.sh) in $PWD or SLURM_SUBMIT_DIR" \
         "\"${SLURM_SUBMIT_DIR:-}\": submit from the repository root, or --chdir into it" >&2
    exit 2
fi
export ALICHAIN_BLOCK_SEEDS=${ALICHAIN_BLOCK_SEEDS:-10000}
export ALICHAIN_RESULTS=${ALICHAIN_RESULTS:-results}
"$repo/sim/swarm/swarm-job.sh"
rc=$?
# the merge for the whole array (a contiguous --array: every block from MIN to MAX)
if [[ ${SLURM_ARRAY_TASK_MIN:-} =~ ^[0-9]+$ && ${SLURM_ARRAY_TASK_MAX:-} =~ ^[0-9]+$ && $ALICHAIN_BLOCK_SEEDS =~ ^[0-9]+$ ]]; then
    echo "slurm-swarm: merge with: $repo/alichain-sim report --first $((SLURM_ARRAY_TASK_MIN * ALICHAIN_BLOCK_SEEDS))" \
         "--seeds $(((SLURM_ARRAY_TASK_MAX - SLURM_ARRAY_TASK_MIN + 1) * ALICHAIN_BLOCK_SEEDS)) $ALICHAIN_RESULTS/block-*.jsonl"
fi
exit $rc
