# DINO without multi-crop on the demo's network: the CPU config
# (dino_resnet10-w16-s2-out256-bnhead-h512-k1024_1xb256-coslr-10e-bf16_...,
# whose header names its departures from the paper) with its 6 local crops
# removed ("-mcrop-2-0"): 2 global crops of 28 px only, the "2x224" setting
# of the paper's multi-crop ablation (Caron et al. 2021, which compares
# 2x224 with 2x224 + 2/6/10x96 in time, memory and accuracy). Teacher and
# student both see the two global crops; the loss pairs each with the other.
# Measured against the 2+6 config at equal wall clock in docs/benchmarks.md
# ("Multi-crop at equal wall clock").
_base_ = [
    './dino_resnet10-w16-s2-out256-bnhead-h512-k1024_1xb256-coslr-10e-bf16_'
    'fashion-mnist.py'
]

train_dataloader = dict(
    dataset=dict(pipeline={{_base_.global_crops_train_pipeline}}))
