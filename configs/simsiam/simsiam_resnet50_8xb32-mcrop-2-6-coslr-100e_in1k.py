# Multi-crop SimSiam on ImageNet: the paper's recipe
# (simsiam_resnet50_8xb32-coslr-100e_in1k.py) with SwAV's multi-crop,
# 2 x 224 px + 6 x 96 px ("-mcrop-2-6"). Not in the SimSiam paper:
# D(p_v, sg(z_g)) over every view v and every other global view g (DINO's
# pairing). Crops: ../_base_/datasets/imagenet_bs32_simsiam.py.
_base_ = ['./simsiam_resnet50_8xb32-coslr-100e_in1k.py']

model = dict(num_global_views=2)
train_dataloader = dict(dataset=dict(pipeline={{_base_.mcrop_train_pipeline}}))
