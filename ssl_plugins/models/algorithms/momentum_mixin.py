"""The online/target bookkeeping shared by BYOL and DINO."""
from typing import Dict

from torch import nn

from ..utils import MomentumTarget


class MomentumTargetMixin:
    """Gives a :class:`BaseSelfSupervisor` a :class:`MomentumTarget`.

    The target (DINO: the teacher) is a copy of ``backbone`` and ``neck``
    (checkpoint keys ``target.backbone.*``, ``target.neck.*``) that follows
    them by ``xi <- tau xi + (1 - tau) theta``. ``tau`` is the papers'
    momentum, the weight of the *old* value (mmengine's EMA ``momentum`` is
    ``1 - tau``); :class:`TargetMomentumHook` sets it every iteration
    through :meth:`set_momentum`. Mixed in before the base class, so that
    :meth:`init_weights` runs after the base's.
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

    def _online(self) -> Dict[str, nn.Module]:
        return dict(backbone=self.backbone, neck=self.neck)

    def init_weights(self) -> None:
        """Initialise the online network, then start the target equal to it."""
        super().init_weights()
        self.target.copy_from(self._online())

    def set_momentum(self, tau: float) -> None:
        """Set the current momentum tau (``TargetMomentumHook``)."""
        self.momentum = float(tau)

    def update_target(self) -> None:
        """One EMA step of the target, in training mode only (the algorithms
        call it at the start of ``loss()``, right after the previous
        optimizer step)."""
        if self.training:
            self.target.update(self._online(), self.momentum)
