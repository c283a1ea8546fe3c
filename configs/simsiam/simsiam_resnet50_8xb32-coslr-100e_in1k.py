# SimSiam, the paper's 100-epoch ImageNet recipe (Chen & He 2021, §4.1-4.2,
# official main_simsiam.py): ResNet-50 (zero-init residual), projector
# 3 x 2048 with BN on every layer (output BN affine-free), predictor
# 2048-512-2048; SGD momentum 0.9, wd 1e-4, lr 0.05 x bs/256 (bs 256 -> 0.05),
# cosine per epoch to 0 (official adjust_learning_rate is per epoch), the
# predictor's lr fixed at the base lr (FixedLrHook); SyncBN (official converts
# the model).
_base_ = [
    '../_base_/datasets/imagenet_bs32_simsiam.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='SimSiam',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(type='ResNet',
                  depth=50,
                  norm_cfg=dict(type='SyncBN'),
                  zero_init_residual=True),
    neck=dict(
        type='MLPNeck',
        in_channels=2048,
        hid_channels=2048,
        out_channels=2048,
        num_layers=3,
        with_bias=False,
        with_last_bias=False,  # frozen in the official code: it precedes BN
        with_last_bn=True,
        with_last_bn_affine=False,
        norm_cfg=dict(type='SyncBN')),
    head=dict(type='LatentPredictHead',
              predictor=dict(type='MLPNeck',
                             in_channels=2048,
                             hid_channels=512,
                             out_channels=2048,
                             num_layers=2,
                             with_bias=False,
                             with_last_bias=True,
                             with_avg_pool=False,
                             norm_cfg=dict(type='SyncBN')),
              loss=dict(type='SimSiamLoss')),
)

max_epochs = 100
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'head.predictor': dict(fix_lr=True)}))
param_scheduler = [
    dict(type='CosineAnnealingLR',
         T_max=max_epochs,
         eta_min=0.0,
         by_epoch=True,
         begin=0,
         end=max_epochs),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)

# NHWC layout on the GPU, same values: 0.58-0.67x of the NCHW iteration on an
# H200 (docs/benchmarks.md, "GPU")
custom_hooks = [dict(type='FixedLrHook'), dict(type='ChannelsLastHook')]
default_hooks = dict(checkpoint=dict(max_keep_ckpts=3))
auto_scale_lr = dict(base_batch_size=256)
