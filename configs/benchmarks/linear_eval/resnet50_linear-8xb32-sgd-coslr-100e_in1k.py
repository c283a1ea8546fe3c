# Linear evaluation of a pretrained ResNet-50 on ImageNet, SGD protocol:
# frozen backbone (all 4 stages, BN in eval mode), global average pooling,
# one linear layer; SGD momentum 0.9, lr 0.3, weight decay 1e-6, batch 256
# (8 GPUs x 32), 100 epochs cosine -- the linear protocol of SwAV's
# eval_linear.py and Barlow Twins' evaluate.py (and mmselfsup/mmpretrain's
# 100-epoch SGD benchmark).
#
#   CONFIG=configs/benchmarks/linear_eval/resnet50_linear-8xb32-sgd-coslr-100e_in1k.py
#   bash tools/benchmarks/linear_eval.sh $CONFIG \
#       work_dirs/byol_r50/epoch_300.pth 8
#
# or by hand: --cfg-options model.backbone.init_cfg.checkpoint=CKPT
# (prefix 'backbone.' = the online network; 'target.backbone.' for the
# momentum target; an exported file from tools/extract_backbone_weights.py
# needs model.backbone.init_cfg.prefix=None).
_base_ = [
    './_imagenet_linear_data.py',
    '../../_base_/default_runtime.py',
]

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet',
        depth=50,
        out_indices=(3, ),
        frozen_stages=4,  # conv1 + 4 stages: no grad, BN statistics frozen
        norm_cfg=dict(type='BN'),
        init_cfg=dict(type='Pretrained', checkpoint='',
                      prefix='backbone.', strict=True)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
        init_cfg=dict(type='Normal', layer='Linear', std=0.01)))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.3, momentum=0.9, weight_decay=1e-6))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=100, by_epoch=True, begin=0, end=100)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=10)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3,
                    save_best='accuracy/top1'),
    # a linear classifier on frozen features: no embedding collapse to watch
    collapse_monitor=None)
