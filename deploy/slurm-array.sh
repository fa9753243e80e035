#!/usr/bin/env bash
# crawlfish on Slurm: one array job, one task per shard (README: "Running on many machines (shards)").
#
# Every task reads the SAME full list; task i runs `--shard i/N` and handles only the URLs whose registrable
# domain hashes to i, so no host is crawled by two tasks and the union of the shards' outputs is what one
# machine would have written. Keep --array at 0-(N-1): N comes from Slurm itself (SLURM_ARRAY_TASK_COUNT).
#
#   sbatch deploy/slurm-array.sh urls.txt
#   # a failed or cancelled task: resubmit just that index, it resumes its shard's current.jsonl:
#   SHARDS=8 sbatch --array=5 deploy/slurm-array.sh urls.txt
#   # afterwards:
#   cat crawl-state/shard-*/latest.jsonl > all.jsonl
#
#SBATCH --job-name=crawlfish
#SBATCH --array=0-7
#SBATCH --cpus-per-task=2
#SBATCH --mem=1G
#SBATCH --time=12:00:00
#SBATCH --output=crawlfish-%A_%a.log

set -euo pipefail

LIST=${1:?usage: sbatch slurm-array.sh URLS.txt}
# The array's size is N: --shard I/N must use the same N on every task. A resubmitted single index
# (--array=5) has a task count of 1, so it takes N from SHARDS when set (without it, --shard 5/1 is a
# usage error, exit 2, not a wrong partition).
N=${SHARDS:-${SLURM_ARRAY_TASK_COUNT:?run through sbatch --array}}
I=${SLURM_ARRAY_TASK_ID:?run through sbatch --array}
STATE=${STATE:-crawl-state}

mkdir -p "$STATE"
# 1: the run finished and some URLs failed (their records say why): a finished shard, not a failed task.
# 75: another run holds this shard's --state lock (the same index still running): try again later.
status=0
crawlfish --shard "$I/$N" --state "$STATE/shard-$I" --depth 2 --scope domain -r 2 "$LIST" || status=$?
if [ "$status" -eq 1 ]; then
    exit 0
fi
exit "$status"
