"""Baseline (non-adversarial) training of a named model on a named data source."""

import dataclasses
import json
import os
import time

import keras

from kerasadv import data, io, models
from kerasadv.losses import SmoothedSparseCrossentropy
from kerasadv.orchestration import filesystem, writer
from kerasadv.orchestration.executor import RESUME_FOLDER
from kerasadv.training.augment import augment
from kerasadv.training.auto_policy import resolve_dtype_policy
from kerasadv.training.defaults import training_defaults
from kerasadv.training.hardware import input_options
from kerasadv.training.precision import with_dtype_policy


class _EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs["epoch_seconds"] = time.perf_counter() - self._start


class _ResumableHistory(keras.callbacks.Callback):
    """Each epoch's logs, kept in `path` so that a resumed fit reports every epoch, not the last few.

    Last in the callback list (it sees every callback's metrics): a resumed epoch `k` replaces
    what was logged from `k` on; an epoch whose backup was saved but whose logs were not (a kill
    between the two writes) reports None.
    """

    def __init__(self, path):
        super().__init__()
        self.path, self.epochs = path, []

    def on_train_begin(self, logs=None):
        if filesystem.exists(self.path):
            with filesystem.open_file(self.path) as f:
                self.epochs = json.load(f)

    def on_epoch_end(self, epoch, logs=None):
        logged = self.epochs[:epoch] + [{}] * (epoch - len(self.epochs))
        self.epochs = logged + [{k: float(v) for k, v in (logs or {}).items()}]
        writer.write_json(self.epochs, self.path)

    def as_dict(self):
        """`{metric: [value per epoch]}`, as `History.history`."""
        return {k: [entry.get(k) for entry in self.epochs] for k in (self.epochs[-1] if self.epochs else {})}


def compile_classifier(model, optimizer, label_smoothing=0.0, steps_per_execution=1):
    """Compiles a logits classifier with sparse cross-entropy (from logits) and accuracy.

    Args:
        model: a logits classifier, or a training wrapper around one.
        optimizer: a Keras optimizer or its name.
        label_smoothing: weight of the uniform distribution mixed into the one-hot labels.
        steps_per_execution: training steps per call of the compiled train function.

    Returns:
        `model`, compiled.
    """
    loss = SmoothedSparseCrossentropy(label_smoothing) if label_smoothing else None
    model.compile(
        optimizer=optimizer,
        loss=loss or keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        steps_per_execution=steps_per_execution,
    )
    return model


def fit_classifier(
    model, train_ds, test_ds, config, output_dir, num_train, seed=0, verbose="auto", callbacks=(), extra_metrics=None
):
    """Fits a compiled model and writes `model.keras` and `metrics.json` to `output_dir` atomically.

    A model with a latent head (`ContrastiveModel`) also gets `latent.keras` (images -> codes).

    The one training loop behind `train` and the pipeline's Trainer: augmentation from
    `config`, the input pipeline's threads fitted to the cores (`hardware.input_options`), a
    progress bar per epoch, resume after a crash (`BackupAndRestore` in `output_dir/backup`,
    removed once the model is written).

    Returns:
        The metrics dict (test accuracy / loss, history, epoch seconds, config).
    """
    options = input_options()  # on a few cores, the input pipeline stays off the training step's threads
    train_ds = augment(train_ds, config.flip, config.crop_padding, seed, config.cutout).with_options(options)
    test_ds = test_ds.with_options(options)
    backup_dir = os.path.join(output_dir, RESUME_FOLDER)  # a pipeline keeps it when killed
    # Kept until the model is written (Keras would delete it when fit returns); a second copy makes a
    # kill during a checkpoint's save lose nothing.
    backup = keras.callbacks.BackupAndRestore(backup_dir, double_checkpoint=True, delete_checkpoint=False)
    history = _ResumableHistory(os.path.join(backup_dir, "history.json"))
    model.fit(
        train_ds,
        epochs=config.epochs,
        validation_data=test_ds,
        shuffle=False,
        callbacks=[_EpochTimer(), backup, *callbacks, history],
        verbose=verbose,
    )
    classifier = getattr(model, "classifier", model)
    test_loss, test_accuracy = model.evaluate(test_ds, verbose=0)
    metrics = {
        "epochs": config.epochs,
        "train_examples": num_train,
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "config": dataclasses.asdict(config),
        "history": history.as_dict(),  # every epoch, those before a resume included
        **(extra_metrics or {}),
    }
    io.save_model(with_dtype_policy(classifier, "float32"), os.path.join(output_dir, "model.keras"))  # servable
    if hasattr(model, "latent_model"):  # a contrastive recipe's latent space, for the latent analyses
        io.save_model(with_dtype_policy(model.latent_model(), "float32"), os.path.join(output_dir, "latent.keras"))
    writer.write_json(metrics, os.path.join(output_dir, "metrics.json"))
    writer.remove_tree(backup_dir)  # local or remote (gs://) alike
    return metrics


def train(
    model_name,
    source,
    output_dir,
    epochs=None,
    batch_size=None,
    learning_rate=None,
    num_examples=None,
    num_test_examples=None,
    seed=0,
    verbose="auto",
    callbacks=(),
    dtype_policy="auto",
    in_memory="auto",
    model_options=None,
    training_options=None,
):
    """Trains `model_name` on `source` with its defaults and writes the model and its metrics.

    Resumes after a crash: `BackupAndRestore` keeps the state of the last finished epoch in
    `output_dir/backup`. The model is written atomically to `output_dir/model.keras` and
    metrics to `output_dir/metrics.json` (test accuracy / loss, history, seconds per epoch).

    Args:
        model_name: a key of `kerasadv.models.BUILDERS`.
        source: a `kerasadv.data.load` source string.
        output_dir: where the model, metrics and backup go.
        epochs, batch_size, learning_rate: override the model's `TrainingDefaults`.
        num_examples: stratified subset of the train split (None: all).
        num_test_examples: stratified subset of the test split (None: all).
        seed: seeds weights, data order and augmentation.
        verbose: Keras `fit` verbosity (progress bar per epoch).
        callbacks: extra Keras callbacks.
        dtype_policy: "auto" (`auto_policy.choose_dtype_policy`: bfloat16 where the hardware has
            bfloat16 units and the model trains faster in it, else float32), "float32" or
            "mixed_bfloat16". The choice and its reason go into the metrics; the saved model
            computes in float32.
        in_memory: hold the decoded training split in memory (`kerasadv.data.load`'s option;
            "auto": when it fits in `data.load.IN_MEMORY_LIMIT` bytes).
        model_options: keyword arguments of the model's builder (e.g. `{"width": 32}`), over
            those of its `TrainingDefaults`.
        training_options: other fields of the model's `TrainingDefaults` to override (e.g.
            `{"cutout": 16}`), as the Trainer's parameter of that name.

    Raises:
        ModelError: a `training_options` key that is no field of `TrainingDefaults`.

    Returns:
        `(model, metrics)`: the trained model computing in float32, as saved (trained under
        bfloat16, an uncompiled float32 copy with the same weights), and the metrics dict.

    Example:
    >>> model, metrics = train("simple_cnn", "fashion_mnist", "/tmp/run", epochs=1,
    ...                        num_examples=512, num_test_examples=256, verbose=0)
    >>> 0.0 <= metrics["test_accuracy"] <= 1.0
    True
    """
    keras.utils.set_random_seed(seed)
    overrides = dict(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate)
    overrides = {**(training_options or {}), **{name: value for name, value in overrides.items() if value is not None}}
    config = training_defaults(model_name, **overrides)
    train_ds, info = data.load(
        source, "train", num_examples, config.batch_size, shuffle=True, seed=seed, in_memory=in_memory
    )
    test_ds, _ = data.load(source, "test", num_test_examples, config.batch_size, seed=seed, in_memory=in_memory)
    options = {**config.model_options, **(model_options or {})}
    choice = resolve_dtype_policy(dtype_policy, model_name, options, info.image_shape, config.batch_size)
    model = with_dtype_policy(models.build(model_name, info.image_shape, info.num_classes, **options), choice.policy)
    steps = -(-info.num_examples // config.batch_size) * config.epochs
    compile_classifier(model, config.make_optimizer(steps), config.label_smoothing, config.steps_per_execution)
    metrics = fit_classifier(
        model,
        train_ds,
        test_ds,
        config,
        output_dir,
        info.num_examples,
        seed,
        verbose,
        callbacks,
        {"model": model_name, "model_options": options, "source": source, "dtype_policy": choice.as_dict()},
    )
    return with_dtype_policy(model, "float32"), metrics  # as saved
