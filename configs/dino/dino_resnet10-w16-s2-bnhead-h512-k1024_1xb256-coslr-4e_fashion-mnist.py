# DINO on Fashion-MNIST for CPUs (short demo and the tests' tiny runs).
# Changes from the paper's recipe, each in the file name or below, so that a
# 10-minute run on 2 CPU cores learns features better than random init
# (measured in docs/benchmarks.md and docs/dino.md):
# - "resnet10-w16-s2": CIFAR-stem ResNet with one BasicBlock per stage
#   (ResNet10_CIFAR, half of ResNet-18's cost per image), base width 16
#   (channels 16-32-64-128), stride 2 in the first stage (28 -> 14 px); the
#   BYOL demo's network.
# - "-bnhead": BatchNorm1d after the head's hidden layers (the official
#   `use_bn_in_head` option, off in the paper's ViT runs). Without it the
#   random-init ResNet's outputs are so alike (mean cosine 0.75) that the
#   centred teacher is near uniform and the run collapses to the uniform
#   output (loss -> ln K) once the last layer is unfrozen.
# - "-h512-k1024": 512 hidden units and K = 1024 outputs (paper 2048 /
#   65536): on this network the paper-sized head would cost more than the
#   backbone; a collapsed run shows loss ln(1024) = 6.93.
# - teacher momentum 0.97 -> 1 (paper 0.996 -> 1): a run of a few hundred
#   iterations needs a teacher that averages over ~30 iterations, not ~250
#   (10-min runs: teacher 79.88 with 0.97 vs 78.44 with 0.99, student 80.8
#   and 80.6; with 0.996 the teacher lagged 10 points behind the student).
# - "-4e": 4 epochs, lr warm-up 0.3 epoch (paper 10 of 100 epochs).
# Everything else is the ViT-S recipe: AdamW, lr 0.0005 x bs/256, wd
# 0.04 -> 0.4 cosine, per-parameter clipping at 3.0, tau_s 0.1, teacher
# temperature 0.04 -> 0.07 over 30 epochs (so ~0.04 here), centre momentum
# 0.9, last layer frozen during epoch 0. The student's BN running statistics
# come from the global crops only (DINO's bn_stats_from_global_views
# default; training unchanged).
_base_ = [
    '../_base_/datasets/fashion_mnist_dino.py',
    '../_base_/default_runtime.py',
]

out_channels = 1024
model = dict(
    type='DINO',
    base_momentum=0.97,  # paper 0.996, see above
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(
        type='ResNet10_CIFAR',
        stem_channels=16,
        base_channels=16,
        strides=(2, 2, 2, 2),
        norm_cfg=dict(type='BN'),
        zero_init_residual=False),
    neck=dict(type='DINONeck', in_channels=128, out_channels=out_channels,
              hidden_channels=512, bottleneck_channels=256, num_layers=3,
              use_bn=True, norm_last_layer=True),
    head=dict(type='DINOHead',
              loss=dict(type='DINOLoss', out_channels=out_channels,
                        student_temp=0.1, teacher_temp=0.04,
                        center_momentum=0.9)),
)

# AdamW; no weight decay on biases and 1-d parameters (norms), as the
# official get_params_groups.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.0005, betas=(0.9, 0.999),
                   weight_decay=0.04),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0,
                       flat_decay_mult=0.0),
    clip_grad=dict(type='per_param', max_norm=3.0))

max_epochs = 4
warmup_epochs = 0.3
param_scheduler = [
    # official: linear from 0 (mmengine needs a factor > 0)
    dict(type='LinearLR', start_factor=1e-6, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True,
         begin=warmup_epochs, end=max_epochs,
         T_max=max_epochs - warmup_epochs, convert_to_iter_based=True),
    # weight decay 0.04 -> 0.4 by cosine per iteration (official
    # cosine_scheduler); groups at 0 (biases, norms) stay at 0.
    dict(type='CosineAnnealingParamScheduler', param_name='weight_decay',
         eta_min_ratio=0.4 / 0.04, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)

custom_hooks = [
    dict(type='TargetMomentumHook', end_momentum=1.0),
    # c <- 0.9 c + 0.1 mean(teacher), all-reduced (paper §3.1)
    dict(type='DINOTeacherCenteringHook', momentum=0.9),
    dict(type='TeacherTempWarmupHook', warmup_temp=0.04, temp=0.07,
         warmup_epochs=30),
    dict(type='FreezeLastLayerHook', freeze_epochs=1),
    # NHWC layout, same values: 0.66-0.68x of the NCHW step on a Xeon CPU
    # (docs/benchmarks.md)
    dict(type='ChannelsLastHook'),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1))
# lr = 0.0005 x total batch / 256 with --auto-scale-lr
auto_scale_lr = dict(base_batch_size=256)
