# SimSiam on Fashion-MNIST for CPUs. Network as the BYOL Fashion-MNIST config:
# CIFAR-stem ResNet-18 made narrow ("-w32-s2": base width 32, channels
# 32-64-128-256, stride 2 in the first stage). Projector and predictor at the
# paper's sizes (3 x 2048 with BN on every layer, output BN affine-free;
# predictor 2048-512-2048). Recipe: the paper's (SGD momentum 0.9, wd 1e-4,
# lr 0.05 x bs/256, cosine, predictor lr fixed), shortened to 3 epochs.
_base_ = [
    '../_base_/datasets/fashion_mnist_simsiam.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='SimSiam',
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
              with_last_bias=False,
              with_last_bn=True,
              with_last_bn_affine=False),
    head=dict(type='LatentPredictHead',
              predictor=dict(type='MLPNeck',
                             in_channels=2048,
                             hid_channels=512,
                             out_channels=2048,
                             num_layers=2,
                             with_bias=False,
                             with_last_bias=True,
                             with_avg_pool=False),
              loss=dict(type='SimSiamLoss')),
)

max_epochs = 3
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
         end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)

# NHWC layout, same values: 0.74-0.87x of the NCHW step on a Xeon CPU
# (docs/benchmarks.md)
custom_hooks = [dict(type='FixedLrHook'), dict(type='ChannelsLastHook')]
default_hooks = dict(logger=dict(type='LoggerHook', interval=20),
                     checkpoint=dict(type='CheckpointHook',
                                     interval=1,
                                     max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=256)
