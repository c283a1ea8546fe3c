# SwAV on Fashion-MNIST for CPUs, on the network of the README's demo
# (byol_resnet10-w16-s2-out256-mlp1024_...): the w16 SwAV config
# (swav_resnet10-w16-s2-proj1024-k1000_1xb256-mcrop-2-6-cj0.4-coslr-3e_...,
# whose header names its departures from the paper: projector hidden 1024,
# 1000 prototypes, colour jitter 0.4) with:
# - "-out256": a 256-channel last stage (16-32-64-256) instead of 128, as the
#   BYOL, SimSiam and Barlow Twins CPU configs; the projector takes 256;
# - "10e", "-bf16": 10 epochs (cosine lr over all of them, queue from
#   epoch 1, prototypes frozen for the first 20 iterations, as the base)
#   under bf16 autocast (AutocastOptimWrapper; the prototype scores and the
#   Sinkhorn iterations stay in fp32, see SwAVHead).
# Validation probe (last 10,000 train images, 4 minutes = 593 iterations):
# kNN 82.37 / linear 82.03 (docs/benchmarks.md, "Recipe probes").
_base_ = [
    './swav_resnet10-w16-s2-proj1024-k1000_1xb256-mcrop-2-6-cj0.4-coslr-3e_'
    'fashion-mnist.py'
]
model = dict(
    backbone=dict(stage_channels=(16, 32, 64, 256)),
    neck=dict(in_channels=256))
max_epochs = 10
optim_wrapper = dict(type='AutocastOptimWrapper', dtype='bfloat16')
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.0006,
         by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
