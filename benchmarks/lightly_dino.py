"""lightly 1.6's DINO training step: the reference for our ``DINO`` in
``speed.py`` (benchmark-only; ``lightly`` is never a runtime dependency).

Assembled from lightly's pieces the way its own DINO example
(``examples/pytorch/dino.py``) and ResNet-50 benchmark
(``benchmarks/imagenet/resnet50/dino.py``) do it:

- student = backbone + ``DINOProjectionHead``; teacher = ``copy.deepcopy``
  of the backbone and a second ``DINOProjectionHead`` (the example's way: a
  head with torch's old ``weight_norm`` cannot be deep-copied), both with
  ``deactivate_requires_grad``;
- each step starts with ``update_momentum(student, teacher, m)`` for the
  backbone and the head, ``m = cosine_schedule(step, max_steps, 0.996, 1)``
  (lightly's example calls it right after ``optimizer.step``, the official
  code too; at the start of the next step, as ours, is the same point in
  the sequence);
- the teacher sees the global crops in one backbone call, the student the
  global crops in one call and the local crops in another (the benchmark's
  ``torch.cat(views[:2])`` / ``torch.cat(views[2:])``), one head call on
  the concatenation, ``DINOLoss(teacher_out.chunk(2),
  student_out.chunk(len(views)), teacher_temp=...)``, which also moves its
  centre;
- plain torch for the update: ``backward``, ``clip_grad_norm_`` (Lightning's
  ``gradient_clip_val``), ``optimizer.step``, ``zero_grad``. The optimizer
  (and the clipping norm, ``clip_grad_kwargs``) come from the
  ``OptimWrapper`` the benchmark hands to every model, which is used only as
  their carrier. The last-layer gradient cancelling of the first epoch is
  not in the timed step (nor is our ``FreezeLastLayerHook``).

The backbone is the benchmark's mmpretrain ResNet (same config as ours),
global-average pooled and flattened like torchvision's ResNet with
``fc = Identity()``; the images are normalised in the step with the same
mean/std as ours' data preprocessor (lightly does it in the loader's
transforms; here both steps pay for it).

Same math as ours: with the same weights and batch the first-step losses
agree to float rounding (no constant offset: both average the
cross-entropy over samples and over the ``2 * V - 2`` pairs of different
views, with a zero initial centre). ``max_steps`` must be the run's
iteration count + 1 for the teacher momentum to follow ours'
``cosine_momentum(0.996, it, total)``: lightly's schedule reaches its end
value at ``max_steps - 1``, ours at ``total``.
"""
import copy
import warnings
from typing import Dict, Sequence

import torch
from lightly.loss import DINOLoss
from lightly.models.modules import DINOProjectionHead
from lightly.models.utils import deactivate_requires_grad, update_momentum
from lightly.utils.scheduler import cosine_schedule
from torch import nn


class PooledBackbone(nn.Module):
    """mmpretrain backbone -> last output -> global average pool -> flatten.

    Plays the part of lightly's torchvision ``resnet`` with ``fc =
    Identity()``: a plain ``(N, C)`` feature extractor.
    """

    def __init__(self, cfg: dict):
        super().__init__()
        from ssl_plugins.registry import MODELS
        self.body = MODELS.build(cfg)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.body(x)
        if isinstance(feats, (tuple, list)):
            feats = feats[-1]
        return torch.flatten(self.pool(feats), 1)


class LightlyDINO(nn.Module):
    """DINO from lightly's head, loss and momentum update (see the module
    docstring).

    Args:
        backbone (dict): mmpretrain backbone config (ours' too).
        in_channels, hidden_channels, bottleneck_channels, out_channels (int):
            ``DINOProjectionHead`` sizes (3 linear layers, no BN).
        norm_last_layer (bool): fixed weight norm of the last layer.
        base_momentum (float): teacher momentum at step 0 (-> 1 by cosine).
        student_temp, teacher_temp, center_momentum (float): ``DINOLoss``.
        num_global_views (int): leading views the teacher sees.
        mean, std (sequence of float): input normalisation.
    """

    #: Our parts -> the attributes here that receive them in
    #: ``benchmarks.pairs.copy_parameters`` (the teacher starts equal to the
    #: student, as ours after ``init_weights``).
    PARTS: Dict[str, Sequence[str]] = dict(
        backbone=('student_backbone', 'teacher_backbone'),
        neck=('student_head', 'teacher_head'),
        head=('criterion', ))

    def __init__(self,
                 backbone: dict,
                 in_channels: int,
                 hidden_channels: int,
                 bottleneck_channels: int,
                 out_channels: int,
                 norm_last_layer: bool = True,
                 base_momentum: float = 0.996,
                 student_temp: float = 0.1,
                 teacher_temp: float = 0.04,
                 center_momentum: float = 0.9,
                 num_global_views: int = 2,
                 mean: Sequence[float] = (0., 0., 0.),
                 std: Sequence[float] = (1., 1., 1.)):
        super().__init__()
        self.student_backbone = PooledBackbone(backbone)
        head = dict(input_dim=in_channels, hidden_dim=hidden_channels,
                    bottleneck_dim=bottleneck_channels,
                    output_dim=out_channels, batch_norm=False,
                    norm_last_layer=norm_last_layer)
        with warnings.catch_warnings():  # torch.nn.utils.weight_norm
            warnings.simplefilter('ignore', FutureWarning)
            self.student_head = DINOProjectionHead(**head)
            self.teacher_head = DINOProjectionHead(**head)
        self.teacher_backbone = copy.deepcopy(self.student_backbone)
        deactivate_requires_grad(self.teacher_backbone)
        deactivate_requires_grad(self.teacher_head)
        self.criterion = DINOLoss(output_dim=out_channels,
                                  warmup_teacher_temp=teacher_temp,
                                  teacher_temp=teacher_temp,
                                  student_temp=student_temp,
                                  center_momentum=center_momentum)
        self.teacher_temp = teacher_temp
        self.base_momentum = base_momentum
        self.num_global_views = num_global_views
        self.register_buffer('mean', torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer('std', torch.tensor(std).view(1, -1, 1, 1))
        self.step = 0
        self.max_steps = 1  # set by the benchmark (iterations + 1)

    def forward_teacher(self, x: torch.Tensor) -> torch.Tensor:
        return self.teacher_head(self.teacher_backbone(x))

    @torch._dynamo.disable
    def _teacher_update(self) -> None:
        """EMA of the teacher at ``cosine_schedule(step)``, then ``step +=
        1``. Eager under ``torch.compile``, as our EMA step: Dynamo
        specialises on the int ``step`` of a module and would recompile
        every iteration."""
        momentum = cosine_schedule(self.step, self.max_steps,
                                   self.base_momentum, 1.0)
        update_momentum(self.student_backbone, self.teacher_backbone,
                        m=momentum)
        update_momentum(self.student_head, self.teacher_head, m=momentum)
        self.step += 1

    @torch._dynamo.disable
    def _update_params(self, loss: torch.Tensor, optim_wrapper) -> None:
        """Backward, clipping, ``optimizer.step``, ``zero_grad``: eager
        under ``torch.compile``, as our ``update_params``."""
        optimizer = optim_wrapper.optimizer
        loss.backward()
        clip = optim_wrapper.clip_grad_kwargs
        if clip:
            params = [p for g in optimizer.param_groups for p in g['params']]
            torch.nn.utils.clip_grad_norm_(params, **clip)
        optimizer.step()
        optimizer.zero_grad()

    def train_step(self, data: dict, optim_wrapper) -> Dict[str, torch.Tensor]:
        """One lightly-style DINO iteration on ``data['inputs']`` (uint8
        views, global views first); returns ``dict(loss=...)``."""
        self._teacher_update()
        views = [(v.float() - self.mean) / self.std for v in data['inputs']]
        n_global = self.num_global_views
        global_views = torch.cat(views[:n_global])
        with torch.no_grad():
            teacher_out = self.forward_teacher(global_views)
        feats = [self.student_backbone(global_views)]
        if len(views) > n_global:
            feats.append(self.student_backbone(torch.cat(views[n_global:])))
        student_out = self.student_head(torch.cat(feats))
        loss = self.criterion(teacher_out.chunk(n_global),
                              student_out.chunk(len(views)),
                              teacher_temp=self.teacher_temp)
        self._update_params(loss, optim_wrapper)
        return dict(loss=loss.detach())
