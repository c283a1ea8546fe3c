"""Plain-torch math of the methods: losses, Sinkhorn-Knopp, EMA, multi-crop
pairings, DINO's per-parameter gradient clipping, collapse statistics and the
autograd-aware collectives (with the rank / world-size helpers) they use.

Nothing here imports anything else of ``ssl_plugins`` (nor mmengine): every
function is testable on random tensors and reusable outside a Runner. Tools
of other layers live next to their users: augmentation in
``models/data_preprocessors``, kNN and t-SNE in ``evaluation``, LARS in
``engine/optimizers``.
"""
