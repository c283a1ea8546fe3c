"""Weighted k-nearest-neighbour classification (Wu et al. 2018; DINO eval).

Features are L2-normalised; the k most similar training samples vote for their
label with weight ``exp(sim / T)``.
"""
import torch
import torch.nn.functional as F


@torch.no_grad()
def weighted_knn_predict(train_feats: torch.Tensor,
                         train_labels: torch.Tensor,
                         test_feats: torch.Tensor,
                         k: int = 20,
                         temperature: float = 0.07,
                         num_classes: int = None,
                         chunk_size: int = 1024) -> torch.Tensor:
    """Class scores of each test sample from its k nearest training samples.

    Args:
        train_feats (Tensor): (N, D) training features.
        train_labels (Tensor): (N,) integer labels.
        test_feats (Tensor): (M, D) test features.
        k (int): Neighbours. Defaults to 20.
        temperature (float): Vote weight ``exp(cos / T)``. Defaults to 0.07.
        num_classes (int, optional): Defaults to ``max(train_labels) + 1``.
        chunk_size (int): Test samples per similarity block (memory bound).

    Returns:
        Tensor: (M, num_classes) summed vote weights; ``argmax`` is the
        prediction.
    """
    if train_feats.shape[1] != test_feats.shape[1]:
        raise ValueError(f'weighted_knn_predict: train features have dim '
                         f'{train_feats.shape[1]}, test {test_feats.shape[1]}')
    num_classes = num_classes or int(train_labels.max()) + 1
    k = min(k, train_feats.shape[0])
    train = F.normalize(train_feats.float(), dim=1)
    test = F.normalize(test_feats.float(), dim=1)
    labels = train_labels.long()
    scores = []
    for start in range(0, test.shape[0], chunk_size):
        sim = test[start:start + chunk_size] @ train.T
        top_sim, top_idx = sim.topk(k, dim=1)
        weights = (top_sim / temperature).exp()
        votes = torch.zeros(sim.shape[0], num_classes, device=sim.device)
        votes.scatter_add_(1, labels[top_idx], weights)
        scores.append(votes)
    return torch.cat(scores)


def knn_accuracy(train_feats, train_labels, test_feats, test_labels,
                 k: int = 20, temperature: float = 0.07, topk=(1, 5)):
    """Top-k accuracies (in %) of :func:`weighted_knn_predict`."""
    scores = weighted_knn_predict(train_feats, train_labels, test_feats, k,
                                  temperature,
                                  int(max(train_labels.max(),
                                          test_labels.max())) + 1)
    # top-t for t up to the number of classes (top-5 of 2 classes: none)
    ranked = scores.topk(min(max(topk), scores.shape[1]), dim=1).indices
    hits = ranked == test_labels.view(-1, 1).long()
    return {f'top{t}': float(hits[:, :t].any(1).float().mean() * 100)
            for t in topk if t <= scores.shape[1]}
