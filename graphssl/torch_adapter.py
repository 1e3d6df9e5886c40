"""A scikit-learn classifier around a torch ``nn.Module``, so that meta-estimators such
as :class:`~graphssl.self_training.SelfTraining` can drive torch models.

The module comes from a factory ``(n_features, n_classes) -> nn.Module`` producing
logits ``[B, C]``; a module with an ``embed(x)`` method also exposes its penultimate
features through :meth:`TorchClassifier.transform`. Needs scikit-learn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from graphssl._optional import require

require("sklearn", "graphssl.torch_adapter")

from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin  # noqa: E402
from sklearn.utils.multiclass import check_classification_targets  # noqa: E402
from sklearn.utils.validation import check_is_fitted, validate_data  # noqa: E402

from graphssl._validation import check_int, check_real, param_error  # noqa: E402

__all__ = ["MLP", "MLPFactory", "TorchClassifier", "mlp"]

ModuleFactory = Callable[[int, int], nn.Module]


class MLP(nn.Module):
    """One hidden layer with ReLU; :meth:`embed` returns the hidden features."""

    def __init__(self, n_features: int, n_classes: int, hidden: int) -> None:
        super().__init__()
        self.hidden = nn.Linear(n_features, hidden)
        self.head = nn.Linear(hidden, n_classes)

    def embed(self, x: Tensor) -> Tensor:
        """Penultimate features ``[B, hidden]``."""
        return torch.relu(self.hidden(x))

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``[B, C]``."""
        out: Tensor = self.head(self.embed(x))
        return out


@dataclass(frozen=True)
class MLPFactory:
    """Picklable factory of :class:`MLP` modules (see :func:`mlp`)."""

    hidden: int = 64

    def __call__(self, n_features: int, n_classes: int) -> nn.Module:
        return MLP(n_features, n_classes, self.hidden)


def mlp(hidden: int = 64) -> MLPFactory:
    """Factory of one-hidden-layer perceptrons for :class:`TorchClassifier`.

    Args:
        hidden (int): width of the hidden layer. (default: ``64``)
    """
    return MLPFactory(check_int(hidden, "hidden", "mlp", low=1))


class TorchClassifier(ClassifierMixin, TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """scikit-learn classifier training a torch module with Adam and cross-entropy.

    Args:
        module_factory (callable): ``(n_features, n_classes) -> nn.Module`` whose
            forward returns logits ``[B, C]``, e.g. :func:`mlp`.
        epochs (int): passes over the training set. (default: ``100``)
        lr (float): Adam learning rate. (default: ``1e-2``)
        weight_decay (float): Adam weight decay. (default: ``5e-4``)
        batch_size (int, optional): mini-batch size; ``None`` trains full-batch.
        device (str, optional): torch device; ``None`` is the CPU.
        seed (int): seeds the weights and the batch order; on the CPU two fits with
            the same seed give identical models. (default: ``0``)

    Attributes:
        module_ (nn.Module), classes_ ``[C]``, n_features_in_, loss_curve_ (mean
        training loss per epoch).
    """

    def __init__(
        self,
        module_factory: ModuleFactory,
        *,
        epochs: int = 100,
        lr: float = 1e-2,
        weight_decay: float = 5e-4,
        batch_size: int | None = None,
        device: str | None = None,
        seed: int = 0,
    ) -> None:
        self.module_factory = module_factory
        self.epochs = epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.device = device
        self.seed = seed

    def _validate(self) -> None:
        name = type(self).__name__
        if not callable(self.module_factory):
            raise param_error(
                "module_factory",
                name,
                "a callable (n_features, n_classes) -> nn.Module",
                self.module_factory,
                TypeError,
            )
        check_int(self.epochs, "epochs", name, low=1)
        check_real(self.lr, "lr", name, low=0.0, closed="neither")
        check_real(self.weight_decay, "weight_decay", name, low=0.0)
        if self.batch_size is not None:
            check_int(self.batch_size, "batch_size", name, low=1)
        check_int(self.seed, "seed", name, low=0)

    def _device(self) -> torch.device:
        return (
            torch.device(self.device)
            if self.device is not None
            else torch.device("cpu")
        )

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> TorchClassifier:
        """Train a fresh module on ``X [n_samples, n_features]`` and labels ``y``,
        optionally weighting each sample's loss by ``sample_weight [n_samples]``."""
        self._validate()
        X, y = validate_data(self, X, y, dtype=np.float32)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        dev = self._device()
        x = torch.tensor(X, device=dev)
        t = torch.as_tensor(codes, dtype=torch.long, device=dev)
        w = _sample_weight(sample_weight, len(codes), dev)
        # fork_rng keeps the caller's global torch RNG untouched by our seeding
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            module = self.module_factory(X.shape[1], max(len(self.classes_), 2))
        module = module.to(dev)
        self.loss_curve_ = self._train(module, x, t, w)
        self.module_ = module.eval()
        return self

    def _train(self, module: nn.Module, x: Tensor, t: Tensor, w: Tensor) -> list[float]:
        opt = torch.optim.Adam(
            module.parameters(), lr=self.lr, weight_decay=self.weight_decay
        )
        gen = torch.Generator().manual_seed(self.seed)
        n = x.shape[0]
        bs = n if self.batch_size is None else min(self.batch_size, n)
        module.train()
        curve = []
        for _ in range(self.epochs):
            order = torch.randperm(n, generator=gen).to(x.device) if bs < n else None
            total = 0.0
            for b in range(0, n, bs):
                idx = order[b : b + bs] if order is not None else slice(b, b + bs)
                per = nn.functional.cross_entropy(
                    module(x[idx]), t[idx], reduction="none"
                )
                loss = (per * w[idx]).sum() / w[idx].sum().clamp(min=1e-12)
                opt.zero_grad()
                loss.backward()  # type: ignore[no-untyped-call]
                opt.step()
                total += float(loss.detach()) * (min(b + bs, n) - b)
            curve.append(total / n)
        return curve

    def _forward(self, X: Any, embed: bool = False) -> Tensor:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float32)
        x = torch.tensor(X, device=self._device())
        with torch.no_grad():
            fn: Callable[[Tensor], Tensor] = self.module_
            if embed and callable(getattr(self.module_, "embed", None)):
                fn = getattr(self.module_, "embed")  # noqa: B009 - typed as Callable
            return fn(x)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Softmax class probabilities ``[n_samples, n_classes]``."""
        p = torch.softmax(self._forward(X), dim=1)[:, : len(self.classes_)]
        return (p / p.sum(1, keepdim=True)).double().cpu().numpy()

    def decision_function(self, X: Any) -> np.ndarray:
        """Logits ``[n_samples, n_classes]``; for two classes, scikit-learn's
        ``[n_samples]`` score of the second class (logit difference)."""
        z = self._forward(X)[:, : len(self.classes_)].double()
        out = z[:, 1] - z[:, 0] if z.shape[1] == 2 else z
        return out.cpu().numpy()

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels ``[n_samples]``."""
        p = self.predict_proba(X)
        out: np.ndarray = self.classes_[p.argmax(1)]
        return out

    def transform(self, X: Any) -> np.ndarray:
        """Embeddings ``[n_samples, D]``: ``module.embed(x)`` if the module has it,
        else the logits."""
        return self._forward(X, embed=True).double().cpu().numpy()


def _sample_weight(sample_weight: Any, n: int, dev: torch.device) -> Tensor:
    if sample_weight is None:
        return torch.ones(n, device=dev)
    w = np.asarray(sample_weight, dtype=np.float32)
    if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise param_error(
            "sample_weight",
            "TorchClassifier.fit",
            f"finite non-negative weights of shape ({n},), not all zero",
            w.shape if w.shape != (n,) else "negative, non-finite or all-zero values",
        )
    return torch.from_numpy(w).to(dev)
