"""Train an Object2Vec model from SageMaker-style channels and write output_dir/model.tar.gz.

    result = train({"enc0_max_seq_len": "1", "enc0_vocab_size": "944", ...},
                   {"train": Path("channels/train"), "validation": Path("channels/validation")}, Path("out"))

Early stopping follows SageMaker: after every epoch the validation loss (mean_squared_error, or cross_entropy
for softmax) is compared with the best so far; an improvement by more than early_stopping_tolerance resets the
patience counter, and training stops once early_stopping_patience epochs in a row brought none. The weights of
the epoch with the lowest validation loss are kept. Validation and the kept weights use an exponential moving
average of the weights over about half an epoch of steps (see WeightAverage: a choice the docs leave open).
Without a validation channel all epochs run and the last average is kept. With
negative_sampling_rate > 0, the train channel gets fresh negatives every epoch and the validation/test
channels get one fixed draw, so their losses are comparable between epochs; such ranking models (one token
per side) are stopped on the validation HR@10 instead of the loss, with the same patience and tolerance (see
object2vec.ranking). Training runs on token tables holding only the ids the channels hold (see
object2vec.compact); the artifact has SageMaker's full-size tables. Metric lines use SageMaker's format, e.g.
`#quality_metric: host=algo-1, epoch=3, validation mean_squared_error <loss>=0.91`, on the `object2vec`
logger.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from object2vec.artifact import ARTIFACT_NAME, save_artifact
from object2vec.compact import IdMap, compact_model, full_state
from object2vec.data import Batches, Dataset, negative_sampler, read_channel, with_negatives
from object2vec.errors import ChannelError, NonFiniteLossError
from object2vec.hyperparameters import Hyperparameters
from object2vec.model import Object2Vec
from object2vec.optim import Optimizer
from object2vec.pretrained import read_pretrained
from object2vec.ranking import METRIC, HitRate, ranks_by_hit_rate
from object2vec.threads import torch_threads

log = logging.getLogger("object2vec")

CHANNELS = ("train", "validation", "test", "auxiliary")
EVAL_BATCH = 4096  # evaluation has no gradients, so bigger batches are simply faster
# Weight averaging (see WeightAverage): the averaged weights span about this many epochs of steps.
AVERAGE_EPOCHS = 0.5


@dataclass
class TrainResult:
    """What train() did. Metric names are SageMaker's: train:/validation:/test: then mean_squared_error, or
    cross_entropy and accuracy; `metrics` holds the kept (best) epoch's figures and the test's."""

    model_path: Path
    hyperparameters: dict[str, str]
    metrics: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)  # per epoch, with "epoch" and "seconds"
    best_epoch: int = 0
    epochs_run: int = 0
    stopped_early: bool = False
    seconds: float = 0.0


def train(
    hyperparameters: Hyperparameters | Mapping[str, object],
    channels: Mapping[str, Path],
    output_dir: Path,
    *,
    seed: int = 0,
    threads: int = 1,
    progress: bool = True,
) -> TrainResult:
    """Validate, read the channels, train, and write output_dir/model.tar.gz. Same seed + data + threads ->
    identical weights."""
    started = time.perf_counter()
    hp = (
        hyperparameters
        if isinstance(hyperparameters, Hyperparameters)
        else Hyperparameters.from_dict(hyperparameters)
    )
    unknown = sorted(set(channels) - set(CHANNELS))
    if unknown or "train" not in channels:
        problem = f"unknown channel {unknown[0]!r}" if unknown else "the train channel is required"
        raise ChannelError(f"channels: {problem} (valid: {', '.join(CHANNELS)})")
    data = {
        name: read_channel(Path(path), hp, name) for name, path in channels.items() if name != "auxiliary"
    }
    with torch_threads(threads), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        full = Object2Vec(hp)
        _load_pretrained(full, hp, channels.get("auxiliary"))
        # Train on the ids the channels hold (see object2vec.compact): the cost follows the data.
        ids = IdMap.of(hp, list(data.values()))
        model = compact_model(full, ids)
        data = {name: ids.renumber(d) for name, d in data.items()}
        if hp.is_regression:
            # Start at the mean label (negatives included: they are 0), so the first steps learn structure
            # instead of the offset.
            mean = float(data["train"].labels.mean()) / (1 + hp.negative_sampling_rate)
            with torch.no_grad():
                model.output.bias.fill_(mean)
        held_out = {
            name: with_negatives(data[name], hp.negative_sampling_rate, np.random.default_rng([seed, i]))
            for i, name in enumerate(("validation", "test"))
            if name in data
        }
        result, state = _fit(model, hp, data["train"], held_out.get("validation"), rng, progress)
        if "test" in held_out:
            test = evaluate(model, held_out["test"], hp)
            result.metrics.update({f"test:{k}": v for k, v in test.items()})
            _log_metrics("test", test, epoch=None)
        state = full_state(full, state, ids)
    result.seconds = time.perf_counter() - started
    metadata = {
        "vocab": {"enc0_vocab_size": hp.enc0_vocab_size, "enc1_vocab_size": hp.enc1_vocab_size},
        "metrics": result.metrics,
        "history": result.history,
        "best_epoch": result.best_epoch,
        "seed": seed,
        "torch": torch.__version__,
    }
    result.model_path = save_artifact(Path(output_dir) / ARTIFACT_NAME, state, hp.to_strings(), metadata)
    return result


def _fit(
    model: Object2Vec,
    hp: Hyperparameters,
    train_data: Dataset,
    validation: Dataset | None,
    rng: np.random.Generator,
    progress: bool,
) -> tuple[TrainResult, dict[str, torch.Tensor]]:
    """The result and the kept weights, already loaded into the model; they are a copy of their own, so
    train() saves them as they are instead of copying the model's weights again."""
    optimizer = Optimizer(model, hp)
    average = WeightAverage(
        model, math.ceil(len(train_data) * (1 + hp.negative_sampling_rate) / hp.mini_batch_size)
    )
    loss_name = _loss_name(hp)
    sample = negative_sampler(train_data, hp.negative_sampling_rate)
    # Validation data never changes, and neither do its unshuffled batches.
    validation_batches = evaluation_batches(validation, hp) if validation is not None else None
    # Ranking models stop on their ranking (see object2vec.ranking), the others on SageMaker's loss.
    hit_rate = (
        HitRate(train_data, validation)  # type: ignore[arg-type]
        if ranks_by_hit_rate(hp.negative_sampling_rate, train_data, validation)
        else None
    )
    watched, sign = (METRIC, -1.0) if hit_rate is not None else (loss_name, 1.0)  # sign: lower is better
    result = TrainResult(Path(), hp.to_strings(), {})
    best_error, best_state, stale = math.inf, None, 0
    for epoch in range(1, hp.epochs + 1):
        t0 = time.perf_counter()
        train_scores = _train_epoch(model, optimizer, average, hp, sample(rng), rng, epoch, progress)
        _log_metrics("train", train_scores, epoch)
        metrics = {f"train:{k}": v for k, v in train_scores.items()}
        if validation_batches is not None:
            with average.applied():
                scores = evaluate(model, validation_batches, hp)
                if hit_rate is not None:
                    scores[METRIC] = hit_rate(model)
                error = sign * scores[watched]
                if error < best_error:
                    best_state = _copy_state(model)
            _log_metrics("validation", scores, epoch)
            metrics.update({f"validation:{k}": v for k, v in scores.items()})
            loss = scores[loss_name]
            if not math.isfinite(loss):
                raise NonFiniteLossError(
                    f"epoch {epoch}: validation {loss_name} is {loss}; nothing was saved"
                )
            if error < best_error - hp.early_stopping_tolerance:
                stale = 0
            else:
                stale += 1
            if error < best_error:
                best_error, result.best_epoch = error, epoch
                result.metrics = dict(metrics)
        else:
            result.best_epoch, result.metrics = epoch, dict(metrics)
        result.history.append({"epoch": epoch, **metrics, "seconds": time.perf_counter() - t0})
        result.epochs_run = epoch
        if validation_batches is not None and stale >= hp.early_stopping_patience and epoch < hp.epochs:
            log.info(
                "Early stopping: validation %s has not improved by more than %g for %d epochs; keeping "
                "epoch %d",
                watched, hp.early_stopping_tolerance, stale, result.best_epoch,
            )  # fmt: skip
            result.stopped_early = True
            break
    if best_state is not None:
        model.load_state_dict(best_state)
        return result, best_state
    average.copy_to_model()  # no validation: keep the last epoch's averaged weights
    return result, _copy_state(model)


def _copy_state(model: Object2Vec) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _train_epoch(
    model: Object2Vec,
    optimizer: Optimizer,
    average: WeightAverage,
    hp: Hyperparameters,
    data: Dataset,
    rng: np.random.Generator,
    epoch: int,
    progress: bool,
) -> dict[str, float]:
    model.train()
    batches = Batches(data, hp.mini_batch_size, rng, hp.bucket_width)
    total_loss, correct, seen = 0.0, 0, 0
    bar = tqdm(total=len(batches), desc=f"epoch {epoch}/{hp.epochs}", disable=not progress, leave=False)
    for step, (in0, in1, labels) in enumerate(batches):
        output, loss = model(in0, in1, labels)
        value = loss.item()  # type: ignore[union-attr]
        if not math.isfinite(value):
            bar.close()
            raise NonFiniteLossError(
                f"epoch {epoch}, batch {step + 1}: training loss is {value}; nothing was saved "
                f"(try a lower learning_rate than {hp.learning_rate:g})"
            )
        optimizer.zero_grad()
        loss.backward()  # type: ignore[union-attr]
        optimizer.step()
        average.update()
        b = len(labels)
        total_loss, seen = total_loss + value * b, seen + b
        if not hp.is_regression:
            correct += int((output.argmax(1) == labels).sum())
        bar.update(1)
        if step % 20 == 0:
            bar.set_postfix(loss=f"{total_loss / seen:.4f}", refresh=False)
    bar.close()
    return _metrics(hp, total_loss, correct, seen)


class WeightAverage:
    """An exponential moving average of the trainable weights; validation, early stopping and the saved model
    use the averaged weights, training continues from the raw ones.

    Why: SageMaker's docs leave open how the kept weights are formed. With a fixed learning rate the raw
    weights of the last step wander around the optimum (on ml-100k the implicit profile's validation loss
    and HR@10 jumped by ±0.02 from epoch to epoch), so the epoch early stopping keeps was partly luck.
    Averaging the last ~AVERAGE_EPOCHS epochs of steps (Polyak averaging, as in SWA) removes that noise at
    the cost of one lerp over the weights per step. The first epoch is not averaged (the weights are still
    far from any optimum, and epoch 1 is evaluated on its own weights), and after it the decay starts low
    ((1+t)/(10+t), as in TensorFlow's ExponentialMovingAverage) so the average does not drag old weights
    along."""

    def __init__(self, model: Object2Vec, steps_per_epoch: int) -> None:
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.shadow = [p.detach().clone() for p in self.params]
        horizon = AVERAGE_EPOCHS * steps_per_epoch
        self.decay = 1.0 - 1.0 / horizon if horizon > 1 else 0.0
        self.burn_in, self.updates = steps_per_epoch, 0

    @torch.no_grad()
    def update(self) -> None:
        self.updates += 1
        t = self.updates - self.burn_in  # steps since averaging began
        decay = min(self.decay, (1 + t) / (10 + t)) if t > 0 else 0.0
        if self.shadow:
            torch._foreach_lerp_(self.shadow, [p.detach() for p in self.params], 1.0 - decay)

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        """The averaged weights in the model inside the block, the raw ones after it."""
        raw = [p.detach().clone() for p in self.params]
        self.copy_to_model()
        try:
            yield
        finally:
            with torch.no_grad():
                for p, r in zip(self.params, raw, strict=True):
                    p.copy_(r)

    @torch.no_grad()
    def copy_to_model(self) -> None:
        for p, s in zip(self.params, self.shadow, strict=True):
            p.copy_(s)


def evaluation_batches(data: Dataset, hp: Hyperparameters) -> Batches:
    """The unshuffled batches evaluate() runs over; they can be iterated again and again."""
    return Batches(data, max(hp.mini_batch_size, EVAL_BATCH), None, hp.bucket_width)


@torch.inference_mode()
def evaluate(model: Object2Vec, data: Dataset | Batches, hp: Hyperparameters) -> dict[str, float]:
    """mean_squared_error, or cross_entropy and accuracy, on a dataset or its evaluation_batches (in eval
    mode: no dropout)."""
    batches = data if isinstance(data, Batches) else evaluation_batches(data, hp)
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    for in0, in1, labels in batches:
        output, loss = model(in0, in1, labels)
        total_loss += float(loss) * len(labels)  # type: ignore[arg-type]
        if not hp.is_regression:
            correct += int((output.argmax(1) == labels).sum())
    model.train(was_training)
    return _metrics(hp, total_loss, correct, len(batches.data))


def _loss_name(hp: Hyperparameters) -> str:
    """The metric early stopping watches: SageMaker's validation loss."""
    return "mean_squared_error" if hp.is_regression else "cross_entropy"


def _metrics(hp: Hyperparameters, total_loss: float, correct: int, n: int) -> dict[str, float]:
    """SageMaker's metric names, loss first: mean_squared_error, or cross_entropy and accuracy."""
    metrics = {_loss_name(hp): total_loss / n}
    if not hp.is_regression:
        metrics["accuracy"] = correct / n
    return metrics


def _log_metrics(channel: str, metrics: Mapping[str, float], epoch: int | None) -> None:
    where = f"host=algo-1, epoch={epoch}" if epoch is not None else "host=algo-1"
    for name, value in metrics.items():
        kind = "<score>" if name in ("accuracy", METRIC) else "<loss>"
        log.info("#quality_metric: %s, %s %s %s=%s", where, channel, name, kind, f"{value:.6g}")


def _load_pretrained(model: Object2Vec, hp: Hyperparameters, auxiliary: Path | None) -> None:
    for side, table in enumerate(model.token_embeddings()):
        spec = hp.encoder(side)
        if not spec.pretrained_embedding_file:
            continue
        if auxiliary is None:
            raise ChannelError(
                f"enc{side}_pretrained_embedding_file: {spec.pretrained_embedding_file!r} needs an "
                "auxiliary channel"
            )
        rows, vectors = read_pretrained(Path(auxiliary), spec, side)
        with torch.no_grad():
            table.weight[torch.from_numpy(rows)] = torch.from_numpy(vectors)
        table.weight.requires_grad_(not spec.freeze_pretrained_embedding)
