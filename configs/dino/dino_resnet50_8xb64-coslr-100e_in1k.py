# DINO, ResNet-50, 100 epochs on ImageNet: the official ResNet-50 run
# (facebookresearch/dino README and the released checkpoint's args:
# --arch resnet50 --optimizer sgd --lr 0.03 --weight_decay 1e-4
# --weight_decay_end 1e-4 --global_crops_scale 0.14 1
# --local_crops_scale 0.05 0.14; other arguments at their defaults:
# 8 local crops, teacher temperature 0.04 without warm-up, each parameter's
# gradient clipped to norm 3.0, last layer frozen in epoch 0, teacher
# 0.996 -> 1, out_dim 65536, no BN in the head, fp16). 8 GPUs x 64
# images: SGD (momentum 0.9) lr 0.03 x 512/256 = 0.06, 10 warm-up epochs
# then cosine to 1e-6; constant weight decay 1e-4 (none on biases / BN);
# SyncBN in student and teacher.
# The ViT-S config shows the AdamW recipe (wd cosine, temperature warm-up).
_base_ = [
    '../_base_/datasets/imagenet_bs64_dino.py',
    '../_base_/default_runtime.py',
]

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiCrop',
         num_crops=(1, 1, 8),
         crop_sizes=(224, 224, 96),
         crop_scales=((0.14, 1.), (0.14, 1.), (0.05, 0.14)),
         transforms=[{{_base_.dino_global1_transforms}},
                     {{_base_.dino_global2_transforms}},
                     {{_base_.dino_local_transforms}}],
         interpolation='bicubic'),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

out_channels = 65536
model = dict(
    type='DINO',
    base_momentum=0.996,
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(
        type='ResNet',
        depth=50,
        norm_cfg=dict(type='SyncBN'),
        zero_init_residual=False),  # torchvision's default, as official
    neck=dict(type='DINONeck', in_channels=2048, out_channels=out_channels,
              hidden_channels=2048, bottleneck_channels=256, num_layers=3,
              norm_last_layer=True),
    head=dict(type='DINOHead',
              loss=dict(type='DINOLoss', out_channels=out_channels,
                        student_temp=0.1, teacher_temp=0.04,
                        center_momentum=0.9)),
)

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.03 * 512 / 256, momentum=0.9,
                   weight_decay=1e-4),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0,
                       flat_decay_mult=0.0),
    clip_grad=dict(type='per_param', max_norm=3.0))

max_epochs = 100
warmup_epochs = 10
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, T_max=max_epochs - warmup_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)

custom_hooks = [
    dict(type='TargetMomentumHook', end_momentum=1.0),
    # c <- 0.9 c + 0.1 mean(teacher), all-reduced (paper §3.1)
    dict(type='DINOTeacherCenteringHook', momentum=0.9),
    dict(type='FreezeLastLayerHook', freeze_epochs=1),
    # NHWC layout on the GPU, same values: 0.65x of the NCHW iteration on
    # an H200 (docs/benchmarks.md, "GPU")
    dict(type='ChannelsLastHook'),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
auto_scale_lr = dict(base_batch_size=512)
