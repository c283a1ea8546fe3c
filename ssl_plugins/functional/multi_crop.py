"""Which views are compared with which under multi-crop.

A multi-crop batch holds ``num_global`` global views (full-size crops) first,
then local views (small crops). Following DINO (Caron et al. 2021, eq. 3 and
Algorithm 1: ``for v in views: for g in global views: if v != g``), every
view is compared with every *global* view other than itself; only the
global views are targets (BYOL's target network and DINO's teacher see them
alone). With two views this is the symmetric loss of BYOL, SimSiam and
Barlow Twins.
"""
from typing import List, Tuple


def _check(num_views: int, num_global: int) -> None:
    if num_global < 2 or num_views < num_global:
        raise ValueError(
            f'multi-crop needs at least 2 global views and no fewer views '
            f'than global ones, got {num_views} views with {num_global} '
            'global')


def global_view_pairs(num_views: int, num_global: int
                      ) -> List[Tuple[int, int]]:
    """Ordered pairs ``(v, g)``: view ``v`` predicts global view ``g != v``.

    For asymmetric losses (BYOL, SimSiam: ``v``'s prediction regresses
    ``g``'s stopped-gradient projection). ``num_global * (num_views - 1)``
    pairs; 2 views give ``[(0, 1), (1, 0)]``.

    Example:
        >>> global_view_pairs(3, 2)
        [(1, 0), (2, 0), (0, 1), (2, 1)]
    """
    _check(num_views, num_global)
    return [(v, g) for g in range(num_global) for v in range(num_views)
            if v != g]


def unordered_global_pairs(num_views: int, num_global: int
                           ) -> List[Tuple[int, int]]:
    """Unordered pairs ``(g, v)``, ``g`` global and ``v > g``.

    For symmetric losses (Barlow Twins: the loss of ``(a, b)`` equals that of
    ``(b, a)``). 2 views give ``[(0, 1)]``; 2 + N views ``1 + 2N`` pairs.

    Example:
        >>> unordered_global_pairs(4, 2)
        [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3)]
    """
    _check(num_views, num_global)
    return [(g, v) for g in range(num_global)
            for v in range(g + 1, num_views)]
