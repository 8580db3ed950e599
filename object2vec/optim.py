"""SageMaker's five optimizers, with weight decay, and lazy row-wise updates for row_sparse token tables.

- Constants are MXNet's defaults (SageMaker's Object2Vec is built on MXNet): adam betas (0.9, 0.999) eps 1e-8,
  adagrad eps 1e-7, rmsprop decay 0.9 eps 1e-8, adadelta rho 0.9 eps 1e-5, sgd without momentum.
  `learning_rate` scales every update, adadelta's too.
- `weight_decay` is coupled L2 (grad += weight_decay * w), as MXNet applies it, on weight matrices and token
  tables but not on biases (MXNet's wd_mult is 0 for biases).
- `token_embedding_storage_type=row_sparse`: a table's gradient holds only the rows looked up in the batch,
  and only those rows are updated (MXNet's lazy_update): their optimizer state, and their weight decay. Decay
  therefore scales with how often a user or item occurs, like the per-example regularisation of SGD matrix
  factorisation. With `dense`, every row decays (and Adam's momentum moves it) on every step.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from object2vec.hyperparameters import Hyperparameters
from object2vec.model import Object2Vec

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
ADAGRAD_EPS = 1e-7
RMSPROP_DECAY = 0.9
RMSPROP_EPS = 1e-8
ADADELTA_RHO = 0.9
ADADELTA_EPS = 1e-5


def dense_optimizer(name: str, groups: list[dict[str, Any]], lr: float) -> torch.optim.Optimizer:
    # fused=True: one vectorised kernel per step instead of ~10 tensor passes; Adam's step took 35% of the
    # workshop-rating step time without it. RMSprop and Adadelta have no fused CPU kernel: foreach.
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr, betas=ADAM_BETAS, eps=ADAM_EPS, fused=True)
    if name == "adagrad":
        return torch.optim.Adagrad(groups, lr=lr, eps=ADAGRAD_EPS, fused=True)
    if name == "rmsprop":
        return torch.optim.RMSprop(groups, lr=lr, alpha=RMSPROP_DECAY, eps=RMSPROP_EPS, foreach=True)
    if name == "adadelta":
        return torch.optim.Adadelta(groups, lr=lr, rho=ADADELTA_RHO, eps=ADADELTA_EPS, foreach=True)
    return torch.optim.SGD(groups, lr=lr, fused=True)


class LazyRowOptimizer:
    """The same five update rules as `dense_optimizer`, applied only to the rows of a sparse gradient."""

    def __init__(self, params: list[nn.Parameter], name: str, lr: float, weight_decay: float) -> None:
        self.params, self.name, self.lr, self.weight_decay = params, name, lr, weight_decay
        buffers = {"adam": 2, "adagrad": 1, "rmsprop": 1, "adadelta": 2, "sgd": 0}[name]
        self.state = [[torch.zeros_like(p) for _ in range(buffers)] for p in params]
        self.steps = 0  # Adam's bias correction counts optimizer steps, as MXNet's lazy Adam does

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        for p, state in zip(self.params, self.state, strict=True):
            if p.grad is None:
                continue
            grad = p.grad.coalesce()  # duplicate rows summed
            rows = grad.indices()[0]  # (r,)
            g = grad.values()  # (r, d)
            w = p.index_select(0, rows)  # (r, d)
            if self.weight_decay:
                g = g + self.weight_decay * w
            p.index_copy_(0, rows, w - self.lr * self._direction(g, rows, state))

    def _direction(self, g: torch.Tensor, rows: torch.Tensor, state: list[torch.Tensor]) -> torch.Tensor:
        if self.name == "sgd":
            return g
        if self.name == "adam":
            (b1, b2), t = ADAM_BETAS, self.steps
            m = state[0].index_select(0, rows).mul_(b1).add_(g, alpha=1 - b1)
            v = state[1].index_select(0, rows).mul_(b2).addcmul_(g, g, value=1 - b2)
            state[0].index_copy_(0, rows, m)
            state[1].index_copy_(0, rows, v)
            return (m / (1 - b1**t)) / ((v / (1 - b2**t)).sqrt_().add_(ADAM_EPS))
        if self.name == "adagrad":
            h = state[0].index_select(0, rows).addcmul_(g, g)
            state[0].index_copy_(0, rows, h)
            return g / h.sqrt().add_(ADAGRAD_EPS)
        if self.name == "rmsprop":
            n = state[0].index_select(0, rows).mul_(RMSPROP_DECAY).addcmul_(g, g, value=1 - RMSPROP_DECAY)
            state[0].index_copy_(0, rows, n)
            return g / n.sqrt().add_(RMSPROP_EPS)
        rho = ADADELTA_RHO  # adadelta
        acc_g = state[0].index_select(0, rows).mul_(rho).addcmul_(g, g, value=1 - rho)
        acc_d = state[1].index_select(0, rows)
        delta = acc_d.add(ADADELTA_EPS).sqrt_().div_(acc_g.add(ADADELTA_EPS).sqrt_()).mul_(g)
        acc_d.mul_(rho).addcmul_(delta, delta, value=1 - rho)
        state[0].index_copy_(0, rows, acc_g)
        state[1].index_copy_(0, rows, acc_d)
        return delta


class Optimizer:
    """One step() / zero_grad() over the dense optimizer and, for row_sparse, the lazy token-table one."""

    def __init__(self, model: Object2Vec, hp: Hyperparameters) -> None:
        lazy = [t.weight for t in model.token_embeddings() if t.sparse and t.weight.requires_grad]
        lazy_ids = {id(p) for p in lazy}
        dense = [p for p in model.parameters() if p.requires_grad and id(p) not in lazy_ids]
        groups = [
            {"params": [p for p in dense if p.dim() >= 2], "weight_decay": hp.weight_decay},
            {"params": [p for p in dense if p.dim() < 2], "weight_decay": 0.0},  # biases: no decay
        ]
        self.dense = dense_optimizer(hp.optimizer, [g for g in groups if g["params"]], hp.learning_rate)
        self.lazy = LazyRowOptimizer(lazy, hp.optimizer, hp.learning_rate, hp.weight_decay) if lazy else None

    def zero_grad(self) -> None:
        self.dense.zero_grad(set_to_none=True)
        if self.lazy:
            self.lazy.zero_grad()

    def step(self) -> None:
        self.dense.step()
        if self.lazy:
            self.lazy.step()
