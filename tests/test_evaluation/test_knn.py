import torch

from ssl_plugins.evaluation.knn import knn_accuracy


def test_top_k_beyond_the_number_of_classes():
    """Two classes: top-1 is computed, top-5 is left out (not an error)."""
    train = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    labels = torch.tensor([0, 0, 1, 1])
    test = torch.tensor([[1.0, 0.05], [0.05, 1.0], [1.0, 0.0]])
    truth = torch.tensor([0, 1, 1])  # the last one is wrong
    acc = knn_accuracy(train, labels, test, truth, k=2, topk=(1, 5))
    assert list(acc) == ['top1']
    assert abs(acc['top1'] - 200 / 3) < 1e-4
