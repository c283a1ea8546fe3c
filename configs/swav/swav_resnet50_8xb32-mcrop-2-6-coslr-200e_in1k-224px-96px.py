# SwAV, ImageNet, batch 256 recipe (Caron et al. 2020; official
# scripts/swav_200ep_bs256_pretrain.sh): ResNet-50, multi-crop 2x224 + 6x96,
# projector 2048-2048-128 (BN, ReLU), 3000 prototypes, epsilon 0.05,
# 3 Sinkhorn iterations, temperature 0.1, queue of 3840 from epoch 15,
# prototypes frozen for 5005 iterations (1 epoch at batch 256), LARS
# (trust 0.001, momentum 0.9, wd 1e-6 on every parameter, as the official
# LARC(SGD)) lr 0.6 for batch 256 cosine to 0.0006 over 200 epochs, SyncBN.
# Warm-up: the official batch-256 script uses none (warmup_epochs 0); the
# batch-4096 recipe uses 10 epochs. Set `warmup_epochs` to add a linear one.
_base_ = [
    '../_base_/datasets/imagenet_bs32_swav_mcrop-2-6.py',
    '../_base_/default_runtime.py',
]

train_dataloader = dict(batch_size=32)  # x8 GPUs = 256

model = dict(
    type='SwAV',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(
        type='ResNet',
        depth=50,
        norm_cfg=dict(type='SyncBN'),
        zero_init_residual=False),  # official src/resnet50.py default
    neck=dict(
        type='MLPNeck',
        in_channels=2048,
        hid_channels=2048,
        out_channels=128,
        num_layers=2,
        norm_cfg=dict(type='SyncBN')),
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

max_epochs = 200
warmup_epochs = 0
final_lr = 0.0006
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs,
         eta_min=final_lr, by_epoch=True, begin=warmup_epochs,
         end=max_epochs, convert_to_iter_based=True)
]
if warmup_epochs > 0:
    param_scheduler.insert(
        0, dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
                end=warmup_epochs, convert_to_iter_based=True))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)

# The prototypes stay in the graph while frozen (grad dropped after
# backward), so DDP needs no unused-parameter search.
find_unused_parameters = False
custom_hooks = [
    dict(type='SwAVQueueHook', length=3840, start_epoch=15),
    dict(type='FreezePrototypesHook', iters=5005),
    # NHWC layout on the GPU, same values: 0.62x of the NCHW iteration on
    # an H200 (docs/benchmarks.md, "GPU")
    dict(type='ChannelsLastHook'),
]
default_hooks = dict(checkpoint=dict(max_keep_ckpts=3))
auto_scale_lr = dict(base_batch_size=256)
