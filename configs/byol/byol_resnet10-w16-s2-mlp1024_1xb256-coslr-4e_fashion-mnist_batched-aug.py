# BYOL on Fashion-MNIST with the photometric augmentations done on the batch
# by the data preprocessor (on the GPU when training on one): the loader only
# crops and flips. Same augmentation distributions as the base config
# (colour jitter 0.4/0.4/0.2/0.1 p=0.8, greyscale p=0.2, no blur at 28 px,
# solarize p=0 / 0.2), drawn per sample and per view.
_base_ = './byol_resnet10-w16-s2-mlp1024_1xb256-coslr-4e_fashion-mnist.py'

_jitter = dict(brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1,
               jitter_prob=0.8, grayscale_prob=0.2, blur_prob=0.0)
model = dict(
    data_preprocessor=dict(
        type='BatchedAugmentDataPreprocessor',
        mean=[72.94, 72.94, 72.94],
        std=[90.02, 90.02, 90.02],
        view_augments=[
            dict(num_views=1, solarize_prob=0.0, **_jitter),
            dict(num_views=1, solarize_prob=0.2, **_jitter),
        ]))
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='MultiCrop', num_crops=(1, 1), crop_sizes=(28, 28),
         crop_scales=((0.2, 1.), (0.2, 1.)), transforms=[[], []]),
    dict(type='PackInputs'),
]))
del _jitter
