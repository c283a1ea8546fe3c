# BYOL on Fashion-MNIST for CPUs (the README's demo: ~10 minutes on 2 cores).
# Network: CIFAR-stem ResNet-18 made narrow and cheap for the budget
# ("-w32-s2"): base width 32 (channels 32-64-128-256, not 64-512) and stride
# 2 in the first stage (28 -> 14 px). Projector/predictor as the paper
# (4096 hidden, 256 out). Recipe: the paper's (LARS, lr 0.2 x bs/256,
# wd 1.5e-6, cosine tau 0.99 -> 1), shortened to 3 epochs with a 10%
# warm-up.
_base_ = [
    '../_base_/datasets/fashion_mnist_byol.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='BYOL',
    base_momentum=0.99,
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(
        type='ResNet_CIFAR',
        depth=18,
        stem_channels=32,
        base_channels=32,
        strides=(2, 2, 2, 2),
        norm_cfg=dict(type='BN'),
        zero_init_residual=False),
    neck=dict(type='MLPNeck', in_channels=256, hid_channels=4096,
              out_channels=256, num_layers=2),
    head=dict(
        type='LatentPredictHead',
        predictor=dict(type='MLPNeck', in_channels=256, hid_channels=4096,
                       out_channels=256, num_layers=2, with_avg_pool=False),
        loss=dict(type='BYOLLoss')),
)

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='LARS', lr=0.2, momentum=0.9, weight_decay=1.5e-6),
    # biases and all BN parameters (ndim <= 1, the projector's/predictor's
    # BN included): no weight decay, no LARS adaptation (BYOL §3.3)
    constructor='BiasNormExcludedOptimWrapperConstructor',
    paramwise_cfg=dict(bias_norm_lr_mult=1.0))

max_epochs = 3
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=0.3, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0.3, end=max_epochs,
         T_max=max_epochs - 0.3, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)

custom_hooks = [dict(type='TargetMomentumHook', end_momentum=1.0)]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=256)
