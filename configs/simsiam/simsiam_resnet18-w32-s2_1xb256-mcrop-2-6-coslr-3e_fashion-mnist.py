# Multi-crop SimSiam on Fashion-MNIST: the CPU config
# (simsiam_resnet18-w32-s2_1xb256-coslr-3e_fashion-mnist.py, whose header names
# its budget changes) with 2 global crops of 28 px + 6 local crops of 12 px
# ("-mcrop-2-6"). Not in the SimSiam paper: D(p_v, sg(z_g)) over every view v
# and every other global view g (DINO's pairing); local crops leave the BN
# running statistics alone. Crops: ../_base_/datasets/fashion_mnist_simsiam.py.
_base_ = ['./simsiam_resnet18-w32-s2_1xb256-coslr-3e_fashion-mnist.py']

model = dict(num_global_views=2)
train_dataloader = dict(dataset=dict(pipeline={{_base_.mcrop_train_pipeline}}))
