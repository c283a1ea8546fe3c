#!/usr/bin/env bash
# Linear evaluation of a pretraining checkpoint's backbone.
#
# Usage:
#   bash tools/benchmarks/linear_eval.sh CONFIG CHECKPOINT GPUS [SOURCE] [train.py args...]
#
#   CONFIG      a config of configs/benchmarks/linear_eval/
#   CHECKPOINT  a pretraining checkpoint (work_dirs/<exp>/epoch_N.pth)
#   GPUS        number of processes: 1 runs tools/train.py directly (GPU, or
#               CPU when there is none), >1 runs tools/dist_train.sh
#   SOURCE      online (default), student, target or teacher (DINO's
#               published weights are the teacher's)
#
# The backbone is first exported with tools/extract_backbone_weights.py (which
# fails with a clear message when the checkpoint lacks that backbone), then
# loaded by the config's init_cfg with strict=True (any missing key or shape
# mismatch stops the run). Work dir:
#   work_dirs/linear_eval/<config name>/<checkpoint dir>_<checkpoint name>_<source>/
# Extra arguments go to train.py, e.g. --cfg-options train_dataloader.batch_size=64
#
# Example:
#   bash tools/benchmarks/linear_eval.sh \
#     configs/benchmarks/linear_eval/resnet50_linear-8xb32-sgd-coslr-100e_in1k.py \
#     work_dirs/byol_r50/epoch_300.pth 8 target
set -euo pipefail

if [ "$#" -lt 3 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
    sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'
    [ "$#" -ge 1 ] && { [ "$1" = "-h" ] || [ "$1" = "--help" ]; } && exit 0
    exit 1
fi

CONFIG=$1
CHECKPOINT=$2
GPUS=$3
SOURCE=online
shift 3
case "${1:-}" in
    online|student|target|teacher) SOURCE=$1; shift ;;
    ""|-*) ;;  # no SOURCE: train.py arguments follow
    *) echo "linear_eval.sh: SOURCE '$1' is not one of online, student," \
            "target, teacher" >&2; exit 2 ;;
esac
# checked before the export, which would otherwise run first
if [ ! -f "$CONFIG" ]; then
    echo "linear_eval.sh: CONFIG '$CONFIG' is not a file" >&2; exit 2
fi
if [ ! -f "$CHECKPOINT" ]; then
    echo "linear_eval.sh: CHECKPOINT '$CHECKPOINT' is not a file" >&2; exit 2
fi
case "$GPUS" in
    ''|*[!0-9]*|0) echo "linear_eval.sh: GPUS '$GPUS' is not a number of" \
                        "processes >= 1" >&2; exit 2 ;;
esac

TOOLS="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON=${PYTHON:-python}
CKPT_DIR=$(basename "$(dirname "$(readlink -f "$CHECKPOINT")")")
CKPT_NAME=$(basename "$CHECKPOINT" .pth)
CFG_NAME=$(basename "$CONFIG" .py)
WORK_DIR=${WORK_DIR:-work_dirs/linear_eval/$CFG_NAME/${CKPT_DIR}_${CKPT_NAME}_${SOURCE}}
BACKBONE="$WORK_DIR/backbone_${SOURCE}.pth"

mkdir -p "$WORK_DIR"
PYTHONPATH="$TOOLS/..":${PYTHONPATH:-} \
"$PYTHON" "$TOOLS/extract_backbone_weights.py" "$CHECKPOINT" "$BACKBONE" \
    --source "$SOURCE" --format mmpretrain

OPTIONS=(model.backbone.init_cfg.type=Pretrained
         "model.backbone.init_cfg.checkpoint=$BACKBONE"
         model.backbone.init_cfg.prefix=None
         model.backbone.init_cfg.strict=True)

if [ "$GPUS" -gt 1 ]; then
    bash "$TOOLS/dist_train.sh" "$CONFIG" "$GPUS" --work-dir "$WORK_DIR" \
        --cfg-options "${OPTIONS[@]}" "$@"
else
    PYTHONPATH="$TOOLS/..":${PYTHONPATH:-} \
    "$PYTHON" "$TOOLS/train.py" "$CONFIG" --work-dir "$WORK_DIR" \
        --cfg-options "${OPTIONS[@]}" "$@"
fi
