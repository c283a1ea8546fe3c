# Multi-crop BYOL on ImageNet: the paper's recipe
# (byol_resnet50_16xb256-coslr-200e_in1k.py) with SwAV's multi-crop, 2 x 224 px
# + 6 x 96 px ("-mcrop-2-6"). Not in the BYOL paper: every view's prediction
# regresses the target projection of each other global view (DINO's pairing);
# the target sees the global crops only. Crops and ops:
# ../_base_/datasets/imagenet_bs32_byol.py (mcrop_train_pipeline).
_base_ = ['./byol_resnet50_16xb256-coslr-200e_in1k.py']

model = dict(num_global_views=2)
train_dataloader = dict(dataset=dict(pipeline={{_base_.mcrop_train_pipeline}}))
