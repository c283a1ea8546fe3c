#!/usr/bin/env bash
# The GPU rows of docs/benchmarks.md in one run on one GPU (about 8 minutes on
# an H200 is the budget it is sized for; each part has its own time limit and
# writes its JSON as it goes, so a cut-off run keeps what it measured):
#
#  1. Train step, ImageNet ResNet-50 at 224 px, batch 128, the papers'
#     projectors: the reference's eager fp32 step (mmpretrain; lightly for
#     DINO) against ours with channels_last + bf16, eager and compiled
#     (mmengine's compile=True); img/s and model FLOPs utilisation.
#  2. End-to-end training img/s, loading included, on generated 500x375
#     JPEGs (BYOL 2x224 and SwAV 2x224 + 6x96, ResNet-18, batch 256,
#     channels_last + bf16): mmpretrain's pipeline, ours
#     (DeviceDecodeCropPreprocessor), and the compute-only step (the ceiling).
#
# Usage: bash benchmarks/gpu.sh [OUT_DIR]
#   METHODS="byol swav"   train-step methods (default: all five)
#   PARTS="speed"         which parts (default: "speed pipeline")
#   WORKERS=14            loader workers of part 2 (default: cores - 2)
#   PYTHON=python3        the interpreter
#   DEVICE, SPEED_ARGS, PIPELINE_ARGS: a dry run elsewhere, e.g. on a CPU:
#     DEVICE=cpu SPEED_ARGS="--batch-size 2 --img-size 32 --iters 1
#     --warmup 1 --compile-backend eager" PIPELINE_ARGS="--arch tiny
#     --images 8 --batch-size 4 --warmup 1 --iters 1" bash benchmarks/gpu.sh
set -u
out=${1:-benchmarks/results/gpu_$(date +%F)}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
py=${PYTHON:-python}
methods=${METHODS:-byol simsiam barlow_twins swav dino}
parts=${PARTS:-speed pipeline}
device=${DEVICE:-cuda}
cores=$(nproc)
workers=${WORKERS:-$((cores > 3 ? cores - 2 : 1))}

{ nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total \
    --format=csv; $py -c 'import torch; print("torch", torch.__version__)'
} > "$out/gpu.txt" 2>&1

status=0
case " $parts " in *" speed "*)
  # --threads 8: the host side of the step (Python, kernel launches)
  timeout "${SPEED_LIMIT:-420}" $py benchmarks/speed.py --device "$device" \
      --threads 8 --sections train --arch resnet50 --preset paper \
      --batch-size 128 --iters 10 --methods $methods \
      --variants channels_last+bf16 compile+channels_last+bf16 \
      --json "$out/speed_resnet50.json" ${SPEED_ARGS:-} 2>&1 \
      | tee "$out/speed_resnet50.log"
  status=$((status | PIPESTATUS[0]));;
esac
case " $parts " in *" pipeline "*)
  timeout "${PIPELINE_LIMIT:-240}" $py benchmarks/device_pipeline.py \
      --device "$device" --workers "$workers" --images 2048 \
      --batch-size 256 --channels-last --bf16 \
      --json "$out/device_pipeline.json" ${PIPELINE_ARGS:-} 2>&1 \
      | tee "$out/device_pipeline.log"
  status=$((status | PIPESTATUS[0]));;
esac
exit $status
