# DINO's linear evaluation of a ViT-S/16 (Caron et al. 2021, eval_linear.py):
# frozen backbone; the feature is the concatenated class tokens of the last
# 4 blocks, each through the final LayerNorm (384 x 4 = 1536 dims,
# ViTLastBlocksClsToken); a linear layer initialised N(0, 0.01), bias 0;
# SGD momentum 0.9, no weight decay, lr 0.001 x batch / 256 = 0.004 for the
# total batch 1024 (8 GPUs x 128), cosine to 0 over 100 epochs.
# RandomResizedCrop 224 + flip; eval resize 256 (bicubic) + centre crop 224.
# DINO's published numbers use the *teacher* weights: load them with
#   --cfg-options model.backbone.init_cfg.checkpoint=CKPT \
#                 model.backbone.init_cfg.prefix=target.backbone.
# DINO sweeps the lr per checkpoint; 0.004 is its reference value.
# Data, runtime, epochs and hooks: the ResNet-50 SGD config's.
_base_ = ['./resnet50_linear-8xb32-sgd-coslr-100e_in1k.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='ViTLastBlocksClsToken',
        arch='deit-small',  # 384 dims, 12 blocks, 6 heads
        img_size=224,
        patch_size=16,
        n_last_blocks=4,
        avgpool_patchtokens=False,
        frozen_stages=12,
        init_cfg=dict(type='Pretrained', checkpoint='',
                      prefix='backbone.', strict=True)),
    neck=None,
    head=dict(in_channels=384 * 4))

test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=128)
val_dataloader = dict(batch_size=128, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.001 * 1024 / 256, momentum=0.9,
                   weight_decay=0.))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=100, by_epoch=True, begin=0, end=100,
         eta_min=0.)
]
auto_scale_lr = dict(base_batch_size=1024)
