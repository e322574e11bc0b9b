#!/bin/bash
# SST-2 with everything the harness has (issue 30, item 6): a word-level LSTM language
# model on the SST-2 training text -> its input embeddings -> textrnn (BiLSTM) initialised
# from them, with dropout, a linear warm-up and a cosine decay, 3 epochs, 3 seeds.
# Run from the repository root:  bash results/reference/sst2-best/run.sh [OUT_DIR]
# Writes OUT_DIR (default /tmp/sst2-best): lm.json, sst2-lm.vec, textrnn-S.json, times.txt.
set -euo pipefail
OUT=${1:-/tmp/sst2-best}
DATA=${RNNBENCH_DATA:-../shared/data}/sst2
mkdir -p "$OUT"
export HF_HUB_OFFLINE=1
t0=$(date +%s)
rnnbench run --model lstm --task language-modelling --set task.dataset=$DATA/train.tsv \
  --set task.level=word --set model.embedding_dim=128 --set model.hidden_size=256 \
  --set train.lr=0.003 --max-epochs 2 --seed 0 --results-dir "$OUT/results" --json > "$OUT/lm.json"
t1=$(date +%s); echo "language model: $((t1 - t0)) s" > "$OUT/times.txt"
RUN=$(tail -1 "$OUT/lm.json" | python -c "import json, sys; print(json.load(sys.stdin)['mlflow_run_id'])")
rnnbench export-embeddings --run "$RUN" "$OUT/sst2-lm.vec" --results-dir "$OUT/results"
for seed in 0 1 2; do
  s=$(date +%s)
  rnnbench run --model textrnn --task text-classification --set task.dataset=$DATA \
    --set train.embeddings="$OUT/sst2-lm.vec" --set model.dropout=0.5 \
    --set train.lr=0.002 --set train.lr_schedule=cosine --set train.warmup_steps=100 \
    --set train.val_check_interval=200 --max-epochs 3 --seed $seed \
    --results-dir "$OUT/results" --json > "$OUT/textrnn-$seed.json"
  echo "textrnn seed $seed: $(( $(date +%s) - s )) s" >> "$OUT/times.txt"
done
echo "total: $(( $(date +%s) - t0 )) s" >> "$OUT/times.txt"
cat "$OUT/times.txt"
