# SwAV on Fashion-MNIST for CPUs (a short demo next to the BYOL one).
# Network as the BYOL Fashion-MNIST config: CIFAR-stem ResNet-18 made narrow
# and cheap (base width 32, channels 32-64-128-256, stride 2 in the first
# stage). Multi-crop scaled to 28 px: 2 x 28 px + 6 x 12 px.
# SwAV head as the paper: projector 2048 hidden (BN, ReLU) -> 128, L2 norm,
# 3000 prototypes, epsilon 0.05, 3 Sinkhorn iterations, temperature 0.1.
# Recipe of the official batch-256 script (LARS lr 0.6 cosine to 0.0006,
# wd 1e-6, no warm-up), shortened to 3 epochs, with two choices scaled to the
# short run (not the paper's): the queue (3840 = 15 batches) from epoch 1
# instead of 15, prototypes frozen for the first 20 iterations instead of one
# epoch. Backbone zero_init_residual=False as the official ResNet: with True
# (mmpretrain's SwAV config) the first 60 iterations drifted to flat
# predictions at ln K (docs/swav.md, "Measured").
_base_ = [
    '../_base_/datasets/fashion_mnist_swav_mcrop-2-6.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='SwAV',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(
        type='ResNet_CIFAR',
        depth=18,
        stem_channels=32,
        base_channels=32,
        strides=(2, 2, 2, 2),
        norm_cfg=dict(type='BN'),
        zero_init_residual=False),  # as the official ResNet
    neck=dict(type='MLPNeck', in_channels=256, hid_channels=2048,
              out_channels=128, num_layers=2),
    head=dict(
        type='SwAVHead',
        feat_dim=128,
        num_prototypes=3000,
        loss=dict(type='SwAVLoss', crops_for_assign=(0, 1), temperature=0.1,
                  epsilon=0.05, num_iters=3)),
)

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='LARS', lr=0.6, momentum=0.9, weight_decay=1e-6,
                   eta=0.001))

max_epochs = 3
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.0006,
         by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)

custom_hooks = [
    dict(type='SwAVQueueHook', length=3840, start_epoch=1),
    dict(type='FreezePrototypesHook', iters=20),
    # NHWC layout, same values: 0.74x of the NCHW step on a Xeon CPU
    # (docs/benchmarks.md)
    dict(type='ChannelsLastHook'),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=256)
