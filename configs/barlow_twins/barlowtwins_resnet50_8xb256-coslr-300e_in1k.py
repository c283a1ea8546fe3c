# Barlow Twins, ImageNet recipe (Zbontar et al. 2021 §4, official main.py),
# 300 epochs (the paper's ablation length; 1000 for the headline results):
# ResNet-50 (zero-init residual), projector 8192-8192-8192 without biases,
# affine-free BN over the global batch inside BarlowTwinsLoss, lambda 0.0051;
# LARS (official update rule) momentum 0.9, eta 0.001, wd 1.5e-6,
# lr 0.2 (weights) / 0.0048 (biases, BN) x bs/256 = 1.6 / 0.0384 at bs 2048,
# biases and BN excluded from weight decay and LARS adaptation; 10 warm-up
# epochs, then cosine to 0.001 x lr, per iteration; BYOL's augmentations;
# SyncBN (official converts the whole model).
_base_ = [
    '../_base_/datasets/imagenet_bs32_byol.py',
    '../_base_/default_runtime.py',
]

train_dataloader = dict(batch_size=256)  # x8 GPUs = 2048

model = dict(
    type='BarlowTwins',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(type='ResNet',
                  depth=50,
                  norm_cfg=dict(type='SyncBN'),
                  zero_init_residual=True),
    neck=dict(type='MLPNeck',
              in_channels=2048,
              hid_channels=8192,
              out_channels=8192,
              num_layers=3,
              with_bias=False,
              with_last_bias=False,
              norm_cfg=dict(type='SyncBN')),
    head=dict(type='BarlowTwinsLoss', lambd=0.0051),
)

max_epochs = 300
warmup_epochs = 10
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='OfficialLARS',
                                    lr=1.6,
                                    momentum=0.9,
                                    weight_decay=1.5e-6,
                                    eta=0.001),
                     constructor='BiasNormExcludedOptimWrapperConstructor',
                     paramwise_cfg=dict(bias_norm_lr_mult=0.0048 / 0.2))
param_scheduler = [
    # official: linear from 0; 1.6e-4 = 1 / (10 epochs x 625 iterations)
    dict(type='LinearLR',
         start_factor=1.6e-4,
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

# NHWC layout on the GPU, same values: 0.67x of the NCHW iteration on an H200
# (docs/benchmarks.md, "GPU")
custom_hooks = [dict(type='ChannelsLastHook')]

default_hooks = dict(checkpoint=dict(max_keep_ckpts=3))
auto_scale_lr = dict(base_batch_size=2048)
