"""mmengine's ``compile=True`` without a recompilation every step.

mmengine 0.10.7's Runner (``Runner._maybe_compile('train_step')``) replaces
``model.train_step`` by ``torch.compile(model.train_step, **cfg.compile)``:
the data preprocessor, the forward pass and the loss, *and*
``optim_wrapper.update_params`` (backward, gradient clipping, optimizer
step) run under TorchDynamo. Two things there break or recompile on every
iteration, whatever the model:

- ``update_params``: ``loss.backward()`` is a graph break anyway (the
  backward of the compiled forward is AOTAutograd's compiled graph, run by
  the eager call); the optimizer step reads the learning rate and weight
  decay as Python floats that the parameter schedulers change every
  iteration (a recompilation per step), runs Python loops over the
  parameters (DINO's per-parameter clipping, the optimizer hooks of
  ``FreezeLastLayerHook`` / ``FreezePrototypesHook`` /
  ``DivergenceGuardHook``), and mmpretrain's ``LARS`` stops torch 2.14's
  Dynamo with an internal error (``_set_capturable`` on its
  ``param_groups``). We wrap ``OptimWrapper.update_params`` in
  ``torch.compiler.disable``: it runs eagerly, as without ``compile``.
- ``optim_context`` asks ``should_sync()``, which reads the iteration
  counter ``_inner_count``: Dynamo specialises on its value, so the second
  step recompiles (then treats it as dynamic). Without gradient
  accumulation (``accumulative_counts == 1``) the answer is always True; we
  return it without reading the counter (same value, no recompilation).

Every subclass (``AmpOptimWrapper``, ``AutocastOptimWrapper``) inherits
both; without ``compile`` nothing changes (the disable wrapper only tells
Dynamo not to trace).
"""
import functools

_MARK = '_ssl_plugins_compiled_train_step'


def patch_compiled_train_step() -> None:
    """Make mmengine's ``OptimWrapper`` compile-friendly (idempotent)."""
    import torch
    from mmengine.optim import OptimWrapper

    if getattr(OptimWrapper.update_params, _MARK, False):
        return
    disable = getattr(getattr(torch, 'compiler', None), 'disable', None)
    if disable is None:  # torch < 2.1: nothing compiles the train step
        return

    update_params = disable(OptimWrapper.update_params)
    setattr(update_params, _MARK, True)
    OptimWrapper.update_params = update_params

    original_should_sync = OptimWrapper.should_sync

    @functools.wraps(original_should_sync)
    def should_sync(self) -> bool:
        if self._accumulative_counts == 1:
            return True  # (k + 1) % 1 == 0 for every counter value k
        return original_should_sync(self)

    OptimWrapper.should_sync = should_sync
