# ImageNet with SwAV's multi-crop (Caron et al. 2020, Sec. 3.2 and the
# official swav_200ep_bs256_pretrain.sh / src/multicropdataset.py); data root,
# normalisation and loader from imagenet_bs32_byol.py:
# 2 global crops 224 px, scale (0.14, 1) + 6 local crops 96 px, scale
# (0.05, 0.14); flip p=0.5; colour jitter 0.8/0.8/0.8/0.2 p=0.8, grey p=0.2,
# Gaussian blur sigma U(0.1, 2.0) p=0.5 on every crop; bilinear resize.
_base_ = ['./imagenet_bs32_byol.py']

swav_view = [
    dict(type='RandomApply',
         transforms=[dict(type='ColorJitter', brightness=0.8, contrast=0.8,
                          saturation=0.8, hue=0.2)],
         prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0),
         magnitude_std='inf', prob=0.5),
]

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiCrop', num_crops=(2, 6), crop_sizes=(224, 96),
         crop_scales=((0.14, 1.), (0.05, 0.14)),
         transforms=[swav_view, swav_view]),
    dict(type='PackInputs'),
]

train_dataloader = dict(drop_last=True, dataset=dict(pipeline=train_pipeline))
