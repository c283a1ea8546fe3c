# Barlow Twins on Fashion-MNIST for CPUs, on the network of the README's demo
# (byol_resnet10-w16-s2-out256-mlp1024_1xb256-coslr-10e-bf16_fashion-mnist.py).
# Changed for the budget, as the file name says:
# - "resnet10-w16-s2-out256": CIFAR-stem ResNet with one BasicBlock per stage
#   (ResNet10_CIFAR), stage widths 16-32-64-256, stride 2 in the first stage;
#   half the cost per image of the ResNet-18 w32 config, which trained 177
#   iterations in a 10-minute quality run (docs/benchmarks.md);
# - "-proj2048": projector 2048-2048-2048 instead of the paper's 8192 (an
#   8192^2 layer and cross-correlation would cost ~10x the backbone here);
#   lambda kept at the official 0.0051;
# - "10e", "-bf16": 10 epochs under bf16 autocast (AutocastOptimWrapper; the
#   cross-correlation is computed in fp32 by the loss).
# Recipe: the paper's (official LARS, lr 0.2 / 0.0048 x bs/256 for weights /
# biases+BN, wd 1.5e-6 on weights only, warm-up then cosine to 0.001 x lr,
# Zbontar et al. 2021 §3 and the official code) with a 0.3-epoch warm-up;
# BYOL's augmentations (as the official code).
_base_ = [
    './barlowtwins_resnet18-w32-s2-proj2048_1xb256-coslr-3e_fashion-mnist.py'
]

model = dict(
    backbone=dict(_delete_=True,
                  type='ResNet10_CIFAR',
                  stem_channels=16,
                  base_channels=16,
                  stage_channels=(16, 32, 64, 256),
                  strides=(2, 2, 2, 2),
                  norm_cfg=dict(type='BN'),
                  zero_init_residual=False))

max_epochs = 10
warmup_epochs = 0.3
optim_wrapper = dict(type='AutocastOptimWrapper', dtype='bfloat16')
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs,
         eta_min_ratio=0.001, by_epoch=True, begin=warmup_epochs,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
