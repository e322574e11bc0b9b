#!/bin/bash
# SST-2: word-level LM on the training sentences -> export-embeddings -> textrnn from it vs from scratch
set -e
cd /work/wt-embeddings
export HF_HUB_OFFLINE=1
R=/tmp/sst2-exp/results
B=.venv/bin/rnnbench
t0=$(date +%s)
$B run --model lstm --task language-modelling --set task.dataset=../shared/data/sst2/train.tsv \
  --set task.level=word --set model.embedding_dim=128 --set model.hidden_size=256 \
  --set train.lr=0.003 --max-epochs 2 --seed 0 --results-dir $R --json > /tmp/sst2-exp/lm.json 2> /tmp/sst2-exp/lm.err
t1=$(date +%s); echo "lm $((t1-t0)) s" >> /tmp/sst2-exp/times.txt
RUN=$(tail -1 /tmp/sst2-exp/lm.json | .venv/bin/python -c "import json,sys; print(json.load(sys.stdin)['mlflow_run_id'])")
$B export-embeddings --run $RUN /tmp/sst2-exp/sst2-lm.vec --results-dir $R > /tmp/sst2-exp/export.out
t2=$(date +%s); echo "export $((t2-t1)) s" >> /tmp/sst2-exp/times.txt
COMMON="--model textrnn --task text-classification --set task.dataset=../shared/data/sst2 --max-epochs 1 --set train.lr=0.002 --set model.dropout=0.5 --set train.val_check_interval=200 --results-dir $R --json"
for seed in 0 1 2; do
  for arm in scratch lm; do
    s=$(date +%s)
    if [ $arm = lm ]; then EXTRA="--set train.embeddings=/tmp/sst2-exp/sst2-lm.vec"; else EXTRA="--set model.embedding_dim=128"; fi
    $B run $COMMON --seed $seed $EXTRA > /tmp/sst2-exp/$arm-$seed.json 2> /tmp/sst2-exp/$arm-$seed.err
    e=$(date +%s); echo "$arm seed $seed $((e-s)) s" >> /tmp/sst2-exp/times.txt
  done
done
echo "total $(( $(date +%s)-t0 )) s" >> /tmp/sst2-exp/times.txt
