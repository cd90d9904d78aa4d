"""The default per-frame classifier that adversarial negatives are computed against."""

from __future__ import annotations

import inspect

import torch
from torch import nn

__all__ = ["FrameMLP", "make_frame_classifier"]


class FrameMLP(nn.Module):
    """A small fully connected network from frame features to class scores (logits).

    ``Linear -> ReLU -> Dropout -> Linear``, or a single ``Linear`` layer when
    ``hidden_units=0``.

    Parameters
    ----------
    n_features : int
        Size of a frame's feature vector.
    n_classes : int
        Number of classes.
    hidden_units : int, default=128
        Width of the hidden layer; 0 for a linear classifier.
    dropout : float, default=0.2
        Dropout rate after the hidden layer (training only).
    """

    def __init__(self, n_features, n_classes, hidden_units=128, dropout=0.2):
        super().__init__()
        if hidden_units:
            self.net = nn.Sequential(
                nn.Linear(n_features, hidden_units),
                nn.ReLU(),
                nn.Dropout(dropout),
                nn.Linear(hidden_units, n_classes),
            )
        else:
            self.net = nn.Linear(n_features, n_classes)

    def forward(self, x):
        return self.net(x)


def make_frame_classifier(**kwargs):
    """The default per-frame classifier: a skorch ``NeuralNetClassifier`` on
    :class:`FrameMLP`.

    Adam (lr 3e-3, weight decay 1e-4), cross-entropy on logits, 20 epochs of
    shuffled minibatches of 256 frames, no internal validation split, silent. On the
    shipped data sets this reaches the frame accuracy of 30 epochs of 128 frames at
    lr 1e-3 (0.715 against 0.710 on BasicMotions' test frames, 0.911 against 0.908 on
    JapaneseVowels') in a quarter of the time.
    ``module__n_features`` and ``module__n_classes`` are set from the data at fit time.

    Parameters
    ----------
    **kwargs
        Overrides of any ``NeuralNetClassifier`` parameter (e.g. ``max_epochs=10``,
        ``module__hidden_units=64``).

    Returns
    -------
    net : skorch.NeuralNetClassifier
    """
    from skorch import NeuralNetClassifier

    params = {
        "module": FrameMLP,
        "criterion": nn.CrossEntropyLoss,
        "optimizer": torch.optim.Adam,
        "optimizer__weight_decay": 1e-4,
        "lr": 3e-3,
        "max_epochs": 20,
        "batch_size": 256,
        "iterator_train__shuffle": True,
        "train_split": None,
        "verbose": 0,
        "device": "cpu",
    }
    params.update(kwargs)
    return NeuralNetClassifier(**params)


def _accepts(obj, name):
    try:
        params = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(
        p.kind == inspect.Parameter.VAR_KEYWORD for p in params.values()
    )


def build_frame_classifier(classifier, n_features, n_classes):
    """A fresh, unfitted skorch net for ``classifier`` (an AdversarialBagger parameter).

    Parameters
    ----------
    classifier : None, skorch NeuralNet, torch.nn.Module subclass or instance
        None gives :func:`make_frame_classifier`. A skorch net is cloned. A module
        class or instance becomes the ``module`` of the default net (an instance is
        deep-copied, so the user's object is not trained).
    n_features, n_classes : int
        Passed to the module as ``module__n_features`` / ``module__n_classes`` when
        its constructor takes them and they are not set already.

    Returns
    -------
    net : skorch.NeuralNet
    """
    import copy

    from sklearn.base import clone
    from skorch import NeuralNet

    if classifier is None:
        net = make_frame_classifier()
    elif isinstance(classifier, NeuralNet):
        net = clone(classifier)
    elif isinstance(classifier, type) and issubclass(classifier, nn.Module):
        net = make_frame_classifier(module=classifier)
    elif isinstance(classifier, nn.Module):
        net = make_frame_classifier(module=copy.deepcopy(classifier))
    else:
        raise TypeError(
            "classifier must be None, a skorch NeuralNet, or a torch.nn.Module class or "
            f"instance; got {type(classifier).__name__}."
        )
    module = net.module
    if isinstance(module, type):
        given = net.get_params(deep=False)
        for name, value in (("n_features", n_features), ("n_classes", n_classes)):
            key = f"module__{name}"
            if key not in given and _accepts(module, name):
                net.set_params(**{key: value})
    return net
