# Multi-crop Barlow Twins on ImageNet: the paper's recipe
# (barlowtwins_resnet50_8xb256-coslr-300e_in1k.py) with SwAV's multi-crop,
# 2 x 224 px + 6 x 96 px ("-mcrop-2-6"). Not in the Barlow Twins paper: the
# loss of every (global, other view) pair, averaged. Crops:
# ../_base_/datasets/imagenet_bs32_byol.py (mcrop_train_pipeline).
_base_ = ['./barlowtwins_resnet50_8xb256-coslr-300e_in1k.py']

model = dict(num_global_views=2)
train_dataloader = dict(dataset=dict(pipeline={{_base_.mcrop_train_pipeline}}))
