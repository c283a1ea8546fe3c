# BYOL on Fashion-MNIST for CPUs (the README's demo).
# Changed for the budget, as the file name says:
# - "resnet10-w16-s2": CIFAR-stem ResNet with one BasicBlock per stage
#   (ResNet10_CIFAR; ResNet-18 has two: half the cost per image, twice the
#   iterations in a wall-clock budget: 10 min beat the random-init network
#   with it, not with ResNet-18, docs/benchmarks.md), base width 16 (channels
#   16-32-64-128 instead of 64-512) and stride 2 in the first stage
#   (28 -> 14 px);
# - "-mlp1024": projector and predictor with 1024 hidden units (paper: 4096;
#   at this width the MLPs would cost as much as the backbone), 256 out;
# - crops of scale (0.2, 1), set in the data base file (see there);
# - LARS lr 1.0 and wd 1e-5 for batch 256 (solo-learn's CIFAR BYOL recipe;
#   measured after one epoch: 68.6% with lr 1.0 vs 55.8% with lr 0.3),
#   biases and BN excluded; cosine tau 0.99 -> 1 (paper); 4 epochs with a
#   0.3-epoch warm-up.
_base_ = [
    '../_base_/datasets/fashion_mnist_byol.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='BYOL',
    base_momentum=0.99,
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(
        type='ResNet10_CIFAR',
        stem_channels=16,
        base_channels=16,
        strides=(2, 2, 2, 2),
        norm_cfg=dict(type='BN'),
        zero_init_residual=False),
    neck=dict(type='MLPNeck', in_channels=128, hid_channels=1024,
              out_channels=256, num_layers=2),
    head=dict(
        type='LatentPredictHead',
        predictor=dict(type='MLPNeck', in_channels=256, hid_channels=1024,
                       out_channels=256, num_layers=2, with_avg_pool=False),
        loss=dict(type='BYOLLoss')),
)

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='LARS', lr=1.0, momentum=0.9, weight_decay=1e-5),
    # biases and all BN parameters (ndim <= 1, the projector's/predictor's
    # BN included): no weight decay, no LARS adaptation (BYOL §3.3)
    constructor='BiasNormExcludedOptimWrapperConstructor',
    paramwise_cfg=dict(bias_norm_lr_mult=1.0))

max_epochs = 4
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
         end=0.3, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0.3, end=max_epochs,
         T_max=max_epochs - 0.3, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)

# NHWC layout, same values: 0.74-0.87x of the NCHW step on a Xeon CPU
# (docs/benchmarks.md)
custom_hooks = [dict(type='TargetMomentumHook', end_momentum=1.0),
                dict(type='ChannelsLastHook')]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=256)
