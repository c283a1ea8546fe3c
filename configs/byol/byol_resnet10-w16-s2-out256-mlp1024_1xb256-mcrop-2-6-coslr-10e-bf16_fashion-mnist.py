# Multi-crop BYOL on the demo's network: the demo config
# (byol_resnet10-w16-s2-out256-mlp1024_1xb256-coslr-10e-bf16_fashion-mnist.py,
# whose header names its budget changes) with 2 global crops of 28 px + 6 local
# crops of 12 px ("-mcrop-2-6"). Not in the BYOL paper: every view's prediction
# regresses the target projection of each other global view (DINO's pairing,
# ssl_plugins.functional.multi_crop); the target sees the global crops only;
# local crops leave the backbone's BN running statistics alone. Crops and their
# ops: ../_base_/datasets/fashion_mnist_byol.py (mcrop_train_pipeline).
# Measured against the 2-view config at equal wall clock in docs/benchmarks.md
# ("Multi-crop at equal wall clock").
_base_ = [
    './byol_resnet10-w16-s2-out256-mlp1024_1xb256-coslr-10e-bf16_'
    'fashion-mnist.py'
]

model = dict(num_global_views=2)
train_dataloader = dict(dataset=dict(pipeline={{_base_.mcrop_train_pipeline}}))
