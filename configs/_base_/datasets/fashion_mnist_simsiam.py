# Fashion-MNIST (28x28 grey, repeated to 3 channels) with SimSiam's symmetric
# augmentation (MoCo v2's, Chen & He 2021 §4.1) adapted to 28 px images as
# fashion_mnist_byol.py: crop 28 px scale (0.2, 1), flip, colour jitter
# 0.4/0.4/0.4/0.1 p=0.8 (saturation/hue are no-ops on grey), greyscale p=0.2
# (a no-op, kept for parity); Gaussian blur dropped (sigma 0.1-2.0 px is for
# 224 px crops: below 0.25 px at 28 px).
_base_ = ['./fashion_mnist_byol.py']

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
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True),
]

train_pipeline = [
    dict(type='MultiCrop',
         num_crops=(2, ),
         crop_sizes=(28, ),
         crop_scales=((0.2, 1.), ),
         transforms=[view_pipeline]),
    dict(type='PackInputs'),
]

# Multi-crop form (simsiam_*_mcrop-2-6_*): + 6 local crops of 12 px, scale
# (0.05, 0.2), the same photometric pipeline.
mcrop_train_pipeline = [
    dict(type='MultiCrop',
         num_crops=(2, 6),
         crop_sizes=(28, 12),
         crop_scales=((0.2, 1.), (0.05, 0.2)),
         transforms=[view_pipeline, view_pipeline]),
    dict(type='PackInputs'),
]

train_dataloader = dict(drop_last=True, dataset=dict(pipeline=train_pipeline))
