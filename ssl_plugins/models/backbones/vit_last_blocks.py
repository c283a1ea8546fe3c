"""ViT features of DINO's linear evaluation: last blocks' class tokens."""
from typing import Tuple

import torch
from mmpretrain.models import VisionTransformer
from mmpretrain.models.utils import resize_pos_embed

from ssl_plugins.registry import MODELS


@MODELS.register_module()
class ViTLastBlocksClsToken(VisionTransformer):
    """mmpretrain ``VisionTransformer`` returning DINO's linear-probe feature.

    DINO's ``eval_linear.py`` (Caron et al. 2021, Sec. 4.1 / App. D) feeds the
    linear classifier the class tokens of the last ``n_last_blocks`` blocks,
    each passed through the backbone's final LayerNorm, concatenated; ViT-S
    uses ``n_last_blocks=4`` (384 x 4 = 1536 dims), ViT-B uses 1 block plus
    the average of the normed patch tokens (``avgpool_patchtokens=True``).
    mmpretrain's own ViT only norms the last block's output, hence this
    subclass. Same parameters and checkpoint keys as ``VisionTransformer``:
    pretrained weights load unchanged.

    Args:
        n_last_blocks (int): Blocks whose class token is used. Default 4.
        avgpool_patchtokens (bool): Also append the mean of the last block's
            normed patch tokens. Default False.
        **kwargs: ``VisionTransformer`` arguments (``arch``, ``patch_size``,
            ``frozen_stages``, ``init_cfg``...). ``final_norm`` must stay True.

    Returns (forward):
        tuple[Tensor]: one ``(B, n_last_blocks * C [+ C])`` tensor.
    """

    def __init__(self,
                 n_last_blocks: int = 4,
                 avgpool_patchtokens: bool = False,
                 **kwargs):
        if not kwargs.get('final_norm', True):
            raise ValueError('ViTLastBlocksClsToken norms every used block '
                             'with the final LayerNorm: final_norm must be '
                             'True')
        if not kwargs.get('with_cls_token', True):
            raise ValueError('ViTLastBlocksClsToken needs the class token '
                             '(with_cls_token=True)')
        super().__init__(**kwargs)
        if not 1 <= n_last_blocks <= len(self.layers):
            raise ValueError(f'n_last_blocks={n_last_blocks} is not in '
                             f'[1, {len(self.layers)}] (the number of blocks)')
        self.n_last_blocks = n_last_blocks
        self.avgpool_patchtokens = avgpool_patchtokens

    @property
    def out_channels(self) -> int:
        """Dimension of the returned feature (the linear head's input)."""
        return self.embed_dims * (self.n_last_blocks +
                                  int(self.avgpool_patchtokens))

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        batch = x.shape[0]
        x, patch_resolution = self.patch_embed(x)
        x = torch.cat((self.cls_token.expand(batch, -1, -1), x), dim=1)
        x = x + resize_pos_embed(self.pos_embed,
                                 self.patch_resolution,
                                 patch_resolution,
                                 mode=self.interpolate_mode,
                                 num_extra_tokens=self.num_extra_tokens)
        x = self.pre_norm(self.drop_after_pos(x))
        first = len(self.layers) - self.n_last_blocks
        normed = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i >= first:
                normed.append(self.ln1(x))
        feats = [tokens[:, 0] for tokens in normed]
        if self.avgpool_patchtokens:
            feats.append(normed[-1][:, self.num_extra_tokens:].mean(dim=1))
        return (torch.cat(feats, dim=-1), )
