from .vit_last_blocks import ViTLastBlocksClsToken

__all__ = ['ViTLastBlocksClsToken']
