"""A frozen copy of online modules that follows them by EMA."""
import copy
from typing import Dict

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
