"""The data sets a probe fits on and is scored on."""
from typing import Dict, Optional

from ssl_plugins.registry import DATASETS


def probe_splits(knn_cfg: dict, val: int = 0,
                 train_limit: Optional[int] = None,
                 test_limit: Optional[int] = None) -> Dict[str, object]:
    """Build the (bank / fit, query) data sets of a config's ``knn_eval``.

    Args:
        knn_cfg (dict): the config's ``knn_eval`` (``train`` and ``test``
            data set configs).
        val (int): 0 for the train and test splits; N > 0 for a validation
            split carved from the train split: its first ``len - N`` images
            as the bank / fit set, its last N as the queries. Recipes are
            chosen this way, never on the test split.
        train_limit (int, optional): keep the first images of the bank only.
        test_limit (int, optional): keep the first queries only.

    Returns:
        dict: ``{'train': dataset, 'test': dataset}``.

    Raises:
        ValueError: ``val`` outside ``0 <= val < len(train split)``.
    """
    if val:
        full = DATASETS.build(dict(knn_cfg['train']))
        if not 0 < val < len(full):
            raise ValueError(f'the train split has {len(full)} images; '
                             f'give 0 < val < {len(full)} (got {val})')
        cut = len(full) - val
        bank = list(range(cut))[:train_limit]
        query = list(range(cut, len(full)))[:test_limit]
        return {'train': DATASETS.build(dict(knn_cfg['train'], indices=bank)),
                'test': DATASETS.build(dict(knn_cfg['train'], indices=query))}
    out = {}
    for split, limit in (('train', train_limit), ('test', test_limit)):
        ds_cfg = dict(knn_cfg[split])
        if limit:
            ds_cfg['indices'] = limit
        out[split] = DATASETS.build(ds_cfg)
    return out
