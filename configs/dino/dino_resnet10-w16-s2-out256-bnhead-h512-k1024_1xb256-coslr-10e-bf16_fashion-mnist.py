# DINO on Fashion-MNIST for CPUs, on the network of the README's demo
# (byol_resnet10-w16-s2-out256-mlp1024_...): the 4-epoch DINO config
# (dino_resnet10-w16-s2-bnhead-h512-k1024_1xb256-coslr-4e_..., whose header
# names its departures from the paper: BN in the head, 512 hidden, K = 1024,
# teacher momentum 0.97 -> 1) with:
# - "-out256": a 256-channel last stage (16-32-64-256) instead of 128, as the
#   BYOL, SimSiam and Barlow Twins CPU configs; the head takes 256;
# - "10e", "-bf16": 10 epochs (lr warm-up 0.3 epoch, then cosine; weight
#   decay 0.04 -> 0.4 over all of them) under bf16 autocast
#   (AutocastOptimWrapper; the loss, centring and softmaxes run in fp32).
# Validation probe (last 10,000 train images, 4 minutes = 575 iterations):
# teacher kNN 82.56 / linear 83.92 (docs/benchmarks.md, "Every method at 30
# minutes on the demo's network").
# The official ResNet-50 recipe instead of the ViT-S one (SGD lr 0.03, wd
# 1e-4, global crops 0.14-1), validation probe at 1000 iterations: SGD level
# (teacher kNN 84.49 vs 84.34), its smaller global and local crops 2.3
# points lower than SGD alone (82.18);
# docs/benchmarks.md, "Recipe probes: DINO's official ResNet recipe".
_base_ = ['./dino_resnet10-w16-s2-bnhead-h512-k1024_1xb256-coslr-4e_'
          'fashion-mnist.py']
model = dict(
    backbone=dict(stage_channels=(16, 32, 64, 256)),
    neck=dict(in_channels=256))
max_epochs = 10
warmup_epochs = 0.3
optim_wrapper = dict(type='AutocastOptimWrapper', dtype='bfloat16')
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True,
         begin=warmup_epochs, end=max_epochs,
         T_max=max_epochs - warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingParamScheduler', param_name='weight_decay',
         eta_min_ratio=0.4 / 0.04, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
