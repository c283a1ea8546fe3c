"""Stop (or skip) a diverging run before it writes a non-finite checkpoint."""
import itertools
from typing import List, Optional

import torch
from mmengine.hooks import Hook

from ssl_plugins.engine.hooks.arg_checks import check_int
from ssl_plugins.registry import HOOKS


def _max_abs(tensors: List[torch.Tensor]) -> torch.Tensor:
    """Largest absolute entry over a list of tensors; NaN if any entry is."""
    if hasattr(torch.nn.utils, 'get_total_norm'):
        return torch.nn.utils.get_total_norm(tensors, float('inf'))
    return torch.stack([t.abs().max() for t in tensors if t.numel()]).max()


def _total_norm(tensors: List[torch.Tensor]) -> torch.Tensor:
    """2-norm over a list of tensors; NaN / inf when any entry is."""
    if hasattr(torch.nn.utils, 'get_total_norm'):
        return torch.nn.utils.get_total_norm(tensors, 2.0)
    return torch.linalg.vector_norm(
        torch.stack([torch.linalg.vector_norm(t.float()) for t in tensors]))


@HOOKS.register_module()
class DivergenceGuardHook(Hook):
    """Check every step for NaN / inf in the loss, gradients and weights.

    Three checks, each naming the iteration and the term:

    - **gradients**, in a pre-hook of the optimizer's ``step``: their total
      norm must be finite, so a NaN gradient never reaches the weights.
      (Under fp16 ``AmpOptimWrapper`` the grad scaler skips inf steps before
      the optimizer is called: those never reach this check.)
    - **loss**: every ``loss*`` value the model returned, after the step.
    - **weights and buffers** (BN running statistics, the EMA target, the
      SwAV queue, DINO's centre), every ``interval`` iterations after the
      step: a step with finite gradients can still overflow the weights
      (e.g. an lr of 1e6).

    With ``on_nonfinite='stop'`` (default) the run stops with a
    ``FloatingPointError``; the checkpoint hook runs later in the same
    iteration and so never saves the bad state (and
    ``AtomicCheckpointHook`` refuses non-finite weights itself). With
    ``'skip'`` a step with non-finite gradients is dropped (the gradients
    are set to None, so the optimizer leaves every parameter and its
    momentum as they were) and the run stops after ``max_skips`` consecutive
    skips; non-finite weights or buffers always stop it (they cannot be
    undone).

    Args:
        on_nonfinite (str): ``'stop'`` or ``'skip'``. Defaults to 'stop'.
        max_skips (int): consecutive skipped steps that stop the run in
            ``'skip'`` mode. Defaults to 5.
        interval (int): iterations between the weight / buffer checks.
            Defaults to 1.
    """

    priority = 'ABOVE_NORMAL'  # before the logger and the checkpoint hooks

    def __init__(self, on_nonfinite: str = 'stop', max_skips: int = 5,
                 interval: int = 1):
        if on_nonfinite not in ('stop', 'skip'):
            raise ValueError(f"DivergenceGuardHook: on_nonfinite="
                             f"{on_nonfinite!r}; expected 'stop' or 'skip'")
        check_int('DivergenceGuardHook', 'max_skips', max_skips, 1)
        check_int('DivergenceGuardHook', 'interval', interval, 1)
        self.on_nonfinite = on_nonfinite
        self.max_skips = max_skips
        self.interval = interval
        self.skipped_in_a_row = 0
        self.skipped_total = 0
        self._iter = 0
        self._handles = []

    @staticmethod
    def _optimizers(runner):
        wrapper = runner.optim_wrapper
        if hasattr(wrapper, 'optim_wrappers'):  # OptimWrapperDict
            return [w.optimizer for w in wrapper.optim_wrappers.values()]
        return [wrapper.optimizer]

    def before_train(self, runner) -> None:
        model = runner.model
        model = getattr(model, 'module', model)
        names = {id(p): n for n, p in model.named_parameters()}
        for optimizer in self._optimizers(runner):
            self._handles.append(optimizer.register_step_pre_hook(
                lambda opt, args, kwargs: self._check_grads(opt, names)))

    def after_train(self, runner) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        self._iter = runner.iter

    def _check_grads(self, optimizer, names) -> None:
        params = [p for g in optimizer.param_groups for p in g['params']
                  if p.grad is not None]
        if not params:
            return
        norm = _total_norm([p.grad.detach() for p in params])
        if bool(torch.isfinite(norm)):
            self.skipped_in_a_row = 0
            return
        bad = [names.get(id(p), '?') for p in params
               if not bool(torch.isfinite(p.grad).all())][:5]
        where = (f'iteration {self._iter + 1}: non-finite gradient '
                 f'(total norm {float(norm)}) in {", ".join(bad)}')
        if self.on_nonfinite == 'skip':
            self.skipped_in_a_row += 1
            self.skipped_total += 1
            if self.skipped_in_a_row <= self.max_skips:
                for p in params:
                    p.grad = None
                from mmengine.logging import print_log
                print_log(f'DivergenceGuardHook: skipped the step of {where}'
                          f' ({self.skipped_in_a_row} in a row, '
                          f'{self.skipped_total} in all)',
                          logger='current', level=30)
                return
            raise FloatingPointError(
                f'DivergenceGuardHook: {self.skipped_in_a_row} steps in a '
                f'row with non-finite gradients (max_skips={self.max_skips})'
                f'; the last, {where}')
        raise FloatingPointError(f'DivergenceGuardHook: {where}. Lower the '
                                 'lr or check the data; the last checkpoint '
                                 'is untouched.')

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        it = runner.iter + 1
        for key, value in (outputs or {}).items():
            if key.startswith('loss') and isinstance(
                    value, (torch.Tensor, float)) and not bool(
                        torch.isfinite(torch.as_tensor(value)).all()):
                if self.on_nonfinite == 'skip' and self.skipped_in_a_row:
                    return  # the step was dropped; counted above
                raise FloatingPointError(
                    f'DivergenceGuardHook: iteration {it}: {key} = '
                    f'{float(torch.as_tensor(value).float().mean())}')
        if it % self.interval:
            return
        model = runner.model
        model = getattr(model, 'module', model)
        tensors = [t.detach() for t in itertools.chain(model.parameters(),
                                                       model.buffers())
                   if t.is_floating_point() and t.numel()]
        # one reduction over all of them (foreach max-abs: NaN and inf
        # propagate, large finite values do not overflow) and one sync
        if tensors and bool(torch.isfinite(_max_abs(tensors))):
            return
        names = [n for n, t in itertools.chain(model.named_parameters(),
                                               model.named_buffers())
                 if t.is_floating_point()
                 and not bool(torch.isfinite(t).all())][:5]
        if names:
            raise FloatingPointError(
                f'DivergenceGuardHook: iteration {it}: non-finite weights or '
                f'buffers after the step: {", ".join(names)}')
