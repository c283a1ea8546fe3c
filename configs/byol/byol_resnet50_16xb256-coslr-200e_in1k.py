# BYOL, ImageNet recipe (Grill et al. 2020, §3.3 and App. C): ResNet-50,
# projector/predictor 4096-256, LARS lr 0.2 x bs/256 (bs 4096 -> 3.2),
# wd 1.5e-6 (no decay/adaptation on biases and BN), 10 warm-up epochs then
# cosine, tau_base 0.996 -> 1 by cosine. 200 epochs: the length mmpretrain
# ships, so the two are comparable.
_base_ = [
    '../_base_/datasets/imagenet_bs32_byol.py',
    '../_base_/default_runtime.py',
]

train_dataloader = dict(batch_size=256)  # x16 GPUs = 4096

model = dict(
    type='BYOL',
    base_momentum=0.996,
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(
        type='ResNet',
        depth=50,
        norm_cfg=dict(type='SyncBN'),
        zero_init_residual=False),
    neck=dict(
        type='MLPNeck',
        in_channels=2048,
        hid_channels=4096,
        out_channels=256,
        num_layers=2,
        norm_cfg=dict(type='SyncBN')),
    head=dict(
        type='LatentPredictHead',
        predictor=dict(
            type='MLPNeck',
            in_channels=256,
            hid_channels=4096,
            out_channels=256,
            num_layers=2,
            with_avg_pool=False,
            norm_cfg=dict(type='SyncBN')),
        loss=dict(type='BYOLLoss')),
)

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='LARS', lr=3.2, momentum=0.9, weight_decay=1.5e-6),
    # biases and all BN parameters (ndim <= 1, the projector's/predictor's
    # BN included): no weight decay, no LARS adaptation (BYOL §3.3)
    constructor='BiasNormExcludedOptimWrapperConstructor',
    paramwise_cfg=dict(bias_norm_lr_mult=1.0))

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=190, by_epoch=True, begin=10,
         end=200, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=200)

# NHWC layout on the GPU, same values: 0.58-0.67x of the NCHW iteration on an
# H200 (docs/benchmarks.md, "GPU")
custom_hooks = [dict(type='TargetMomentumHook', end_momentum=1.0),
                dict(type='ChannelsLastHook')]
default_hooks = dict(checkpoint=dict(max_keep_ckpts=3))
auto_scale_lr = dict(base_batch_size=4096)
