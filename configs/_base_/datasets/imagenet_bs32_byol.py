# ImageNet with BYOL's asymmetric augmentations (Grill et al. 2020, Table 6):
# crop 224 scale (0.08, 1), flip, colour jitter 0.4/0.4/0.2/0.1 p=0.8,
# grey p=0.2, blur p=1.0 / 0.1, solarize p=0.0 / 0.2.
data_root = 'data/imagenet/'
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)


def _view(blur_prob, solarize_prob):
    return [
        dict(type='RandomApply',
             transforms=[dict(type='ColorJitter', brightness=0.4,
                              contrast=0.4, saturation=0.2, hue=0.1)],
             prob=0.8),
        dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
             channel_weights=(0.114, 0.587, 0.2989)),
        dict(type='GaussianBlur', magnitude_range=(0.1, 2.0),
             magnitude_std='inf', prob=blur_prob),
        dict(type='Solarize', thr=128, prob=solarize_prob),
    ]


train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiCrop', num_crops=(1, 1), crop_sizes=(224, 224),
         crop_scales=((0.08, 1.), (0.08, 1.)),
         transforms=[_view(1.0, 0.0), _view(0.1, 0.2)],
         interpolation='bicubic'),
    dict(type='PackInputs'),
]
# Multi-crop form (BYOL / Barlow Twins `*_mcrop-2-6_*`): SwAV's crops (Caron
# et al. 2020, §3.2: 2 x 224 px scale (0.14, 1) + 6 x 96 px scale
# (0.05, 0.14)) with BYOL's two view pipelines on the global crops and, on the
# local ones, blur p=0.5 and no solarize (DINO's local-crop ops, App. D).
mcrop_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiCrop', num_crops=(1, 1, 6), crop_sizes=(224, 224, 96),
         crop_scales=((0.14, 1.), (0.14, 1.), (0.05, 0.14)),
         transforms=[_view(1.0, 0.0), _view(0.1, 0.2), _view(0.5, 0.0)],
         interpolation='bicubic'),
    dict(type='PackInputs'),
]
del _view

train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='ResumableSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ImageNet', data_root=data_root, split='train',
                 pipeline=train_pipeline))
