#!/usr/bin/env bash
# Records the three committed curve banks (benchmarks/banks/), one task after another, each an
# exhaustive 72-config grid (4 lr x 2 warmup_ratio x 3 num_epochs x 3 schedulers) on the
# packaged MiniLM, single-threaded and niced (the machine is shared): 30-60 min per task on a
# busy shared core. The grid order is shuffled, so a recording cut short is still a random
# sample of the grid (export it with `python -m sweeper.bank export`).
# Usage: GLUE_DIR=... [BANK_TIMEOUT_S=2100] scripts/record_banks.sh OUT_DIR RESULTS_DIR [TASK...]
# BANK_TIMEOUT_S (sweep.timeout_s) starts no new trial after that many seconds per task and
# exports what was recorded; a task that fails does not stop the next one.
set -euo pipefail
out=${1:?bank folder}; results=${2:?results folder outside the repository}; shift 2
tasks=${*:-sst2 cola mrpc}
glue=${GLUE_DIR:?GLUE_DIR must name the GLUE folder}
export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1
grid=(--grid lr=1e-5,3e-5,1e-4,3e-4 --grid warmup_ratio=0.05,0.2)
for task in $tasks; do
  case $task in
    sst2) data=(data.max_train_samples=1000 data.max_eval_samples=500 data.max_seq_length=64) ;;
    # MRPC and CoLA on the first 3 of MiniLM's 6 layers: the shared 2-core machine gave each
    # task about half an hour.
    mrpc) data=(data.max_train_samples=600 data.max_eval_samples=null data.max_seq_length=128
                model.num_hidden_layers=3) ;;
    cola) data=(data.max_train_samples=800 data.max_eval_samples=400 data.max_seq_length=64
                model.num_hidden_layers=3) ;;
    *) echo "unknown task $task" >&2; exit 2 ;;
  esac
  echo "== $task $(date -u +%FT%TZ)"
  nice -n 10 python -m sweeper.bank record --out "$out/$task.json.gz" \
    --results-dir "$results/$task" "${grid[@]}" \
    data.task="$task" data.source=glue_dir data.glue_dir="$glue" "${data[@]}" \
    train.batch_size=32 seed=42 ${BANK_TIMEOUT_S:+sweep.timeout_s=$BANK_TIMEOUT_S} \
    && echo "== $task done $(date -u +%FT%TZ)" || echo "== $task FAILED $(date -u +%FT%TZ)"
done
