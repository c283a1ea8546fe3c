"""The momentum target (BYOL's target network, DINO's teacher) and the
online/target bookkeeping shared by BYOL and DINO."""
import copy
from typing import Dict

import torch
from torch import nn

from ssl_plugins.functional.ema import ema_update_


class MomentumTarget(nn.Module):
    """Target network ``xi`` of BYOL / teacher of DINO.

    Holds deep copies of the given online modules under the same names
    (checkpoint keys ``target.backbone.*``, ``target.neck.*``), with
    ``requires_grad=False``. :meth:`update` applies
    ``xi <- tau * xi + (1 - tau) * theta`` to all parameters in one foreach
    op (tau: the papers' convention, weight of the old value). Buffers (BN
    running statistics) are the target's own, updated by its forward passes.

    Args:
        online (dict[str, nn.Module]): the online modules to follow.
    """

    def __init__(self, online: Dict[str, nn.Module]):
        super().__init__()
        self.names = list(online)
        for name, module in online.items():
            self.add_module(name, copy.deepcopy(module))
        for param in self.parameters():
            param.requires_grad_(False)

    def _pairs(self, online: Dict[str, nn.Module]):
        if list(online) != self.names:
            raise KeyError(f'MomentumTarget follows {self.names}, got '
                           f'{list(online)}')
        target, source = [], []
        for name in self.names:
            target += list(getattr(self, name).parameters())
            source += list(online[name].parameters())
        return target, source

    def copy_from(self, online: Dict[str, nn.Module]) -> None:
        """Set the target equal to the online modules (tau = 0)."""
        for name in self.names:
            getattr(self, name).load_state_dict(online[name].state_dict())

    def update(self, online: Dict[str, nn.Module], tau: float) -> None:
        """One EMA step towards the online modules."""
        ema_update_(*self._pairs(online), tau)


class MomentumTargetMixin:
    """Gives a :class:`BaseSelfSupervisor` a :class:`MomentumTarget`.

    The target (DINO: the teacher) is a copy of ``backbone`` and ``neck``
    (checkpoint keys ``target.backbone.*``, ``target.neck.*``) that follows
    them by ``xi <- tau xi + (1 - tau) theta``. ``tau`` is the papers'
    momentum, the weight of the *old* value (mmengine's EMA ``momentum`` is
    ``1 - tau``); :class:`TargetMomentumHook` sets it every iteration
    through :meth:`set_momentum`. Mixed in before the base class, so that
    :meth:`init_weights` runs after the base's.

    **One EMA step per optimizer step.** The algorithms call
    :meth:`update_target` at the start of ``loss()``. Once the model follows
    its optimizer (:meth:`follow_optimizer`: done by ``train_step`` and by
    ``TargetMomentumHook`` before training, so also under DDP), that call
    moves the target only if the optimizer has really stepped since the last
    EMA step: with gradient accumulation over k iterations the target moves
    once per k, and a step that AMP's loss scaler skipped (inf gradients)
    does not move it (BYOL §3.2, DINO §3.1: one update per training step).
    A model that follows no optimizer (a hand-written loop calling ``loss``)
    moves the target at every training-mode ``loss()``.

    **Under ``torch.compile``** (mmengine's ``compile=True`` compiles
    ``train_step``): :meth:`train_step` takes the due EMA step itself, before
    the forward pass, so the ``update_target()`` at the start of ``loss()``
    finds nothing due and the whole forward traces as one graph (the
    algorithms' ``loss()`` keeps the call for DDP, whose wrapper never calls
    the module's ``train_step``). The EMA step itself always runs eagerly
    (``torch.compiler.disable``): tau changes every iteration and
    ``_foreach_lerp_`` takes it as a Python scalar, which a compiled graph
    would bake in (one recompilation per step); it is one foreach op over
    the parameters without autograd, so compiling it would save nothing.
    """

    def _build_momentum_target(self, base_momentum: float) -> None:
        """Check ``base_momentum`` and create ``self.target``; call it at the
        end of ``__init__``, once backbone and neck exist."""
        if not 0.0 <= base_momentum <= 1.0:
            raise ValueError(
                f'{type(self).__name__}: base_momentum must be in [0, 1] (the '
                f'weight of the old target), got {base_momentum}')
        self.base_momentum = base_momentum
        self.momentum = base_momentum
        self.target = MomentumTarget(self._online())
        self._followed_optimizer = None  # the optimizer whose steps count
        self._step_pending = False  # it stepped since the last EMA step

    def _online(self) -> Dict[str, nn.Module]:
        return dict(backbone=self.backbone, neck=self.neck)

    def init_weights(self) -> None:
        """Initialise the online network, then start the target equal to it."""
        super().init_weights()
        self.target.copy_from(self._online())

    def set_momentum(self, tau: float) -> None:
        """Set the current momentum tau (``TargetMomentumHook``)."""
        self.momentum = float(tau)

    def follow_optimizer(self, optimizer: torch.optim.Optimizer,
                         stepped: bool = False) -> None:
        """Tie the target's EMA steps to ``optimizer``'s steps.

        Registers a step post-hook on ``optimizer`` (once; a later call with
        another optimizer moves the tie there). ``stepped``: the optimizer
        has already stepped since the target last moved (a resumed run: the
        checkpoint was saved after a step whose EMA step is still due).
        """
        if self._followed_optimizer is optimizer:
            return
        if self._followed_optimizer is not None:
            self._step_hook_handle.remove()
        self._followed_optimizer = optimizer
        self._step_pending = bool(stepped)
        self._step_hook_handle = optimizer.register_step_post_hook(
            self._optimizer_stepped)

    def _optimizer_stepped(self, optimizer, args, kwargs) -> None:
        self._step_pending = True

    def train_step(self, data, optim_wrapper):
        """mmengine's ``train_step``, following ``optim_wrapper``'s
        optimizer and taking the EMA step due since its last step first (see
        the class docstring)."""
        self._follow_and_update(optim_wrapper)
        return super().train_step(data, optim_wrapper)

    @torch.compiler.disable
    def _follow_and_update(self, optim_wrapper) -> None:
        optimizer = getattr(optim_wrapper, 'optimizer', None)
        if optimizer is not None:
            self.follow_optimizer(optimizer)
        if self._followed_optimizer is not None:
            self.update_target()

    def update_target(self) -> None:
        """One EMA step of the target, in training mode only (the algorithms
        call it at the start of ``loss()``, right after the previous
        optimizer step); skipped when the followed optimizer has not stepped
        since the last one."""
        if not self.training:
            return
        if self._followed_optimizer is not None:
            if not self._step_pending:
                return
            self._step_pending = False
        self._ema_step()

    @torch.compiler.disable
    def _ema_step(self) -> None:
        self.target.update(self._online(), self.momentum)
