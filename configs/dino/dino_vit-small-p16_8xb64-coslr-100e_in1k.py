# DINO, ViT-S/16, 100 epochs on ImageNet (Caron et al. 2021; official
# main_dino.py): 8 GPUs x 64 images, AdamW lr 0.0005 x 512/256 = 1e-3,
# linear warm-up 10 epochs then cosine to 1e-6 (per iteration); weight
# decay 0.04 -> 0.4 by cosine per iteration, none on biases and 1-d
# parameters; each parameter's gradient norm clipped to 3.0 (official
# clip_gradients; clip_grad type 'per_param'); teacher EMA 0.996 -> 1
# (cosine per iteration); teacher temperature 0.04 -> 0.07 over 30 epochs;
# student temperature 0.1; centre momentum 0.9; last layer frozen during
# epoch 0; head 2048-2048-256 -> 65536 (GELU, L2 norm, weight-normalised
# last layer with fixed norm); drop-path 0.1 in the student only.
# Multi-crop: 2 x 224 (0.4-1) + 10 x 96 (0.05-0.4). The official code
# trains in fp16: add --amp.
_base_ = [
    '../_base_/datasets/imagenet_bs64_dino.py',
    '../_base_/default_runtime.py',
]

out_channels = 65536
model = dict(
    type='DINO',
    base_momentum=0.996,
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(
        type='VisionTransformer',
        arch='deit-small',  # 384 dims, 12 layers, 6 heads (ViT-S)
        img_size=224,
        patch_size=16,
        drop_path_rate=0.1,
        out_type='cls_token',
        final_norm=True,
        # official ViT init: trunc-normal(0.02) linears, LayerNorm 1/0
        init_cfg=[
            dict(type='TruncNormal', layer='Linear', std=0.02, bias=0.),
            dict(type='Constant', layer='LayerNorm', val=1., bias=0.),
        ]),
    neck=dict(type='DINONeck', in_channels=384, out_channels=out_channels,
              hidden_channels=2048, bottleneck_channels=256, num_layers=3,
              norm_last_layer=True),
    head=dict(type='DINOHead',
              loss=dict(type='DINOLoss', out_channels=out_channels,
                        student_temp=0.1, teacher_temp=0.04,
                        center_momentum=0.9)),
)

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.0005 * 512 / 256, betas=(0.9, 0.999),
                   weight_decay=0.04),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0,
                       flat_decay_mult=0.0),
    clip_grad=dict(type='per_param', max_norm=3.0))

max_epochs = 100
warmup_epochs = 10
param_scheduler = [
    # official: linear from 0 (mmengine needs a factor > 0)
    dict(type='LinearLR', start_factor=1e-6, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, T_max=max_epochs - warmup_epochs,
         convert_to_iter_based=True),
    # weight decay 0.04 -> 0.4 (groups at 0 stay at 0)
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
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
# lr = 0.0005 x total batch / 256 with --auto-scale-lr
auto_scale_lr = dict(base_batch_size=512)
