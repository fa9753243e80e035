#!/usr/bin/env bash
# crawlfish with GNU parallel: N shards as N processes here, or spread over machines with --sshlogin
# (README: "Running on many machines (shards)"). Every shard reads the SAME full list.
#
#   deploy/parallel.sh urls.txt 4                       # 4 shards on this machine
#   SSHLOGIN=host1,host2 deploy/parallel.sh urls.txt 8  # 8 shards over two hosts (crawlfish and the
#                                                         # list at the same path there; state stays there)
#   cat state/*/latest.jsonl > all.jsonl                  # merge (on each host, with --sshlogin)
set -euo pipefail

LIST=${1:?usage: parallel.sh URLS.txt N}
N=${2:?usage: parallel.sh URLS.txt N}
STATE=${STATE:-state}

# --halt never: one failing shard does not stop the others; each shard's exit code is in the joblog.
# A shard that stopped half-way resumes from state/I/current.jsonl when run again (--resume-failed).
parallel ${SSHLOGIN:+--sshlogin "$SSHLOGIN"} --jobs "$N" --halt never --joblog "parallel-$N.log" \
    crawlfish --shard {}/"$N" --state "$STATE"/{} --depth 2 --scope domain -r 2 "$LIST" \
    ::: $(seq 0 $((N - 1)))
