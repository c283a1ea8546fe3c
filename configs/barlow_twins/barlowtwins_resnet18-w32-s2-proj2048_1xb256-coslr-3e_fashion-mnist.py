# Barlow Twins on Fashion-MNIST for CPUs. Network as the BYOL Fashion-MNIST
# config (CIFAR-stem ResNet-18, "-w32-s2": base width 32, stride 2 in the
# first stage). Projector SCALED DOWN ("-proj2048"): 2048-2048-2048 instead
# of the paper's 8192-8192-8192 (a 8192^2 layer and cross-correlation would
# dominate CPU time by ~10x); lambda kept at the official 0.0051.
# Recipe: the paper's (official LARS, lr 0.2 / 0.0048 x bs/256 for weights /
# biases+BN, wd 1.5e-6 on weights only, no LARS adaptation of biases and BN,
# warm-up then cosine to 0.001 x lr), shortened to 3 epochs with a 10%
# warm-up; BYOL's augmentations (as the official code).
_base_ = [
    '../_base_/datasets/fashion_mnist_byol.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='BarlowTwins',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(type='ResNet_CIFAR',
                  depth=18,
                  stem_channels=32,
                  base_channels=32,
                  strides=(2, 2, 2, 2),
                  norm_cfg=dict(type='BN'),
                  zero_init_residual=True),
    neck=dict(type='MLPNeck',
              in_channels=256,
              hid_channels=2048,
              out_channels=2048,
              num_layers=3,
              with_bias=False,
              with_last_bias=False),
    head=dict(type='BarlowTwinsLoss', lambd=0.0051),
)

max_epochs = 3
warmup_epochs = 0.3
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='OfficialLARS',
                                    lr=0.2,
                                    momentum=0.9,
                                    weight_decay=1.5e-6,
                                    eta=0.001),
                     constructor='BiasNormExcludedOptimWrapperConstructor',
                     paramwise_cfg=dict(bias_norm_lr_mult=0.0048 / 0.2))
param_scheduler = [
    dict(type='LinearLR',
         start_factor=1e-3,
         by_epoch=True,
         begin=0,
         end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR',
         T_max=max_epochs - warmup_epochs,
         eta_min_ratio=0.001,
         by_epoch=True,
         begin=warmup_epochs,
         end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)

# NHWC layout, same values: 0.74-0.87x of the NCHW step on a Xeon CPU
# (docs/benchmarks.md)
custom_hooks = [dict(type='ChannelsLastHook')]

default_hooks = dict(logger=dict(type='LoggerHook', interval=20),
                     checkpoint=dict(type='CheckpointHook',
                                     interval=1,
                                     max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=256)
