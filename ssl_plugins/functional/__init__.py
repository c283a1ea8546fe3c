"""Plain-torch math of the methods: losses, Sinkhorn-Knopp, EMA, kNN.

Nothing here imports anything else of ``ssl_plugins`` (nor mmengine): every
function is testable on random tensors and reusable outside a Runner.
"""
