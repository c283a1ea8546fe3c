# ImageNet with DINO's multi-crop (Caron et al. 2021, App. D; official
# DataAugmentationDINO): bicubic random-resized crops + flip, colour jitter
# 0.4/0.4/0.2/0.1 p=0.8, grey p=0.2 (luma weights, BGR order), then
#   global crop 1: Gaussian blur p=1.0
#   global crop 2: Gaussian blur p=0.1, solarize p=0.2
#   local crops:   Gaussian blur p=0.5
# The blur radius is drawn per image, uniform in [0.1, 2.0] (PIL
# GaussianBlur as the official code; mmpretrain's GaussianBlur draws it at
# every call: magnitude_std='inf', magnitude_level = total_level = 10).
# Crop counts/scales: the ViT-S/16 recipe, 2 x 224 px scale (0.4, 1) and
# 10 x 96 px scale (0.05, 0.4); a config may override ``train_pipeline``.
data_root = 'data/imagenet/'
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)


def _photometric(blur_prob, solarize_prob=0.0):
    steps = [
        dict(type='RandomApply',
             transforms=[dict(type='ColorJitter', brightness=0.4,
                              contrast=0.4, saturation=0.2, hue=0.1)],
             prob=0.8),
        dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
             channel_weights=(0.114, 0.587, 0.299)),
        dict(type='GaussianBlur', magnitude_range=(0.1, 2.0),
             magnitude_std='inf', magnitude_level=10, total_level=10,
             prob=blur_prob),
    ]
    if solarize_prob:
        steps.append(dict(type='Solarize', thr=128, prob=solarize_prob))
    return steps


dino_global1_transforms = _photometric(1.0)
dino_global2_transforms = _photometric(0.1, 0.2)
dino_local_transforms = _photometric(0.5)
del _photometric

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiCrop',
         num_crops=(1, 1, 10),
         crop_sizes=(224, 224, 96),
         crop_scales=((0.4, 1.), (0.4, 1.), (0.05, 0.4)),
         transforms=[dino_global1_transforms, dino_global2_transforms,
                     dino_local_transforms],
         interpolation='bicubic'),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=10,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='ResumableSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ImageNet', data_root=data_root, split='train',
                 pipeline=train_pipeline))
