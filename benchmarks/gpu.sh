#!/usr/bin/env bash
# The GPU rows of docs/benchmarks.md in one run on one GPU, within BUDGET
# seconds (default 540: a 10-minute command with room to spare). Each part
# prints and writes its JSON after every method, so a cut-off run keeps what
# it measured:
#
#  1. End-to-end training img/s, loading included, on generated 500x375
#     JPEGs (BYOL 2x224 and SwAV 2x224 + 6x96, ResNet-18, batch 256,
#     channels_last + bf16): mmpretrain's pipeline, ours
#     (DeviceDecodeCropPreprocessor), and the compute-only step (the ceiling).
#     At most PIPELINE_LIMIT seconds (default 180).
#  2. Train step, ImageNet ResNet-50 at 224 px, batch 128, the papers'
#     projectors: the reference's eager step (mmpretrain; lightly for DINO;
#     fp32 with cuDNN's default TF32 convolutions) against ours with
#     channels_last + bf16, eager and compiled (mmengine's compile=True);
#     img/s and model FLOPs utilisation. The rest of the budget; methods in
#     order of priority, one inductor compilation each.
#
# Usage: bash benchmarks/gpu.sh OUT_DIR      (default benchmarks/results/gpu_DATE)
#   METHODS="byol swav"   train-step methods (default: byol swav dino simsiam
#                         barlow_twins; dino needs lightly)
#   PARTS="speed"         which parts (default: "pipeline speed")
#   WORKERS=14            loader workers of part 1 (default: cores - 2)
#   PYTHON=python         the interpreter (default python3)
#   DEVICE, SPEED_ARGS, PIPELINE_ARGS: a dry run elsewhere, e.g. on a CPU:
#     DEVICE=cpu SPEED_ARGS="--batch-size 2 --img-size 32 --iters 1
#     --warmup 1 --compile-backend eager" PIPELINE_ARGS="--arch tiny
#     --images 8 --batch-size 4 --warmup 1 --iters 1" bash benchmarks/gpu.sh
set -u
out=${1:-benchmarks/results/gpu_$(date +%F)}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
py=${PYTHON:-python3}
methods=${METHODS:-byol swav dino simsiam barlow_twins}
parts=${PARTS:-pipeline speed}
device=${DEVICE:-cuda}
budget=${BUDGET:-540}
cores=$(nproc)
workers=${WORKERS:-$((cores > 3 ? cores - 2 : 1))}

if ! $py -c 'import mmengine, mmcv, mmpretrain' 2>"$out/preflight.txt"; then
  echo "gpu.sh: $py cannot import mmengine, mmcv (mmcv-lite) and mmpretrain" \
       "(requirements.txt); see $out/preflight.txt" >&2
  exit 2
fi
if [[ " $methods " == *" dino "* ]] && ! $py -c 'import lightly' 2>/dev/null
then
  echo "gpu.sh: lightly is not installed (requirements/benchmark.txt):" \
       "DINO left out" | tee -a "$out/preflight.txt"
  methods=$(echo " $methods " | sed 's/ dino / /')
fi
{ nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total \
    --format=csv; $py -c 'import torch; print("torch", torch.__version__)'
} > "$out/gpu.txt" 2>&1

pipeline_rc=-
speed_rc=-
if [[ " $parts " == *" pipeline "* ]]; then
  timeout "${PIPELINE_LIMIT:-180}" $py benchmarks/device_pipeline.py \
      --device "$device" --workers "$workers" --images 2048 \
      --batch-size 256 --channels-last --bf16 \
      --json "$out/device_pipeline.json" ${PIPELINE_ARGS:-} 2>&1 \
      | tee "$out/device_pipeline.log"
  pipeline_rc=${PIPESTATUS[0]}
fi
if [[ " $parts " == *" speed "* ]]; then
  left=$((budget - SECONDS))
  # --threads 8: the host side of the step (Python, kernel launches)
  timeout "$((left > 60 ? left : 60))" $py benchmarks/speed.py \
      --device "$device" --threads 8 --sections train --arch resnet50 \
      --preset paper --batch-size 128 --iters 10 --methods $methods \
      --variants channels_last+bf16 compile+channels_last+bf16 \
      --json "$out/speed_resnet50.json" ${SPEED_ARGS:-} 2>&1 \
      | tee "$out/speed_resnet50.log"
  speed_rc=${PIPESTATUS[0]}
fi
echo "gpu.sh: exit status pipeline $pipeline_rc, speed $speed_rc (124: cut" \
     "off by its time limit; '-': not run); ${SECONDS}s" | tee "$out/status.txt"
[[ $pipeline_rc == [-0] && $speed_rc == [-0] ]]
