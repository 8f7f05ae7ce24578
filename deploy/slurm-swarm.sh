#!/bin/bash
# slurm-swarm.sh — the swarm as a Slurm job array: task K runs seed block K through
# sim/swarm/swarm-job.sh (which reads SLURM_ARRAY_TASK_ID). As shipped: 1000 blocks of 10,000
# seeds = seeds 0 .. 9,999,999. Submit from the repository root (after `make`), on a
# file system every node sees:   sbatch deploy/slurm-swarm.sh
# then merge:   ./alichain-sim report --first 0 --seeds 10000000 results/block-*.jsonl
# More or fewer seeds: sbatch --array=0-(BLOCKS-1) deploy/slurm-swarm.sh. docs/SCALING.md.
#SBATCH --job-name=alichain-swarm
#SBATCH --array=0-999
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --mem=512M
#SBATCH --time=00:30:00
#SBATCH --output=slurm-%A_%a.out
set -euo pipefail
# Slurm runs a copy of this script from its spool directory: the repository is where
# sbatch was called (SLURM_SUBMIT_DIR); outside Slurm, the script's own repository.
cd "${SLURM_SUBMIT_DIR:-$(dirname "$0")/..}"
export ALICHAIN_BLOCK_SEEDS=${ALICHAIN_BLOCK_SEEDS:-10000}
export ALICHAIN_RESULTS=${ALICHAIN_RESULTS:-results}
exec sim/swarm/swarm-job.sh
