# ImageNet with SimSiam's augmentations (Chen & He 2021, §4.1: MoCo v2's):
# crop 224 scale (0.2, 1), flip, colour jitter 0.4/0.4/0.4/0.1 p=0.8,
# grey p=0.2, Gaussian blur sigma 0.1-2.0 p=0.5; the same for both views,
# bilinear crops (torchvision's default in the official code). Data root,
# normalisation and loader settings from imagenet_bs32_byol.py.
_base_ = ['./imagenet_bs32_byol.py']

view_pipeline = [
    dict(type='RandomApply',
         transforms=[
             dict(type='ColorJitter',
                  brightness=0.4,
                  contrast=0.4,
                  saturation=0.4,
                  hue=0.1)
         ],
         prob=0.8),
    dict(type='RandomGrayscale',
         prob=0.2,
         keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='GaussianBlur',
         magnitude_range=(0.1, 2.0),
         magnitude_std='inf',
         prob=0.5),
]

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiCrop',
         num_crops=(2, ),
         crop_sizes=(224, ),
         crop_scales=((0.2, 1.), ),
         transforms=[view_pipeline]),
    dict(type='PackInputs'),
]

# Multi-crop form (simsiam_*_mcrop-2-6_*): SwAV's crops (2 x 224 px scale
# (0.14, 1) + 6 x 96 px scale (0.05, 0.14)), SimSiam's ops on every crop.
mcrop_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiCrop',
         num_crops=(2, 6),
         crop_sizes=(224, 96),
         crop_scales=((0.14, 1.), (0.05, 0.14)),
         transforms=[view_pipeline, view_pipeline]),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    drop_last=True,  # official main_simsiam.py
    dataset=dict(pipeline=train_pipeline))
