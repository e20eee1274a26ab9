"""Baseline (non-adversarial) training of a named model on a named data source."""

import dataclasses
import os
import shutil
import time

import keras

from kerasadv import data, io, models
from kerasadv.orchestration import writer
from kerasadv.training.augment import augment
from kerasadv.training.defaults import training_defaults
from kerasadv.training.precision import with_dtype_policy


class _EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs["epoch_seconds"] = time.perf_counter() - self._start


def compile_classifier(model, optimizer):
    """Compiles a logits classifier with sparse cross-entropy (from logits) and accuracy."""
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model


def fit_classifier(
    model, train_ds, test_ds, config, output_dir, num_train, seed=0, verbose="auto", callbacks=(), extra_metrics=None
):
    """Fits a compiled model and writes `model.keras` and `metrics.json` to `output_dir` atomically.

    A model with a latent head (`ContrastiveModel`) also gets `latent.keras` (images -> codes).

    The one training loop behind `train` and the pipeline's Trainer: augmentation from
    `config`, a progress bar per epoch, resume after a crash (`BackupAndRestore` in
    `output_dir/backup`, removed once the model is written).

    Returns:
        The metrics dict (test accuracy / loss, history, epoch seconds, config).
    """
    train_ds = augment(train_ds, config.flip, config.crop_padding, seed)
    backup_dir = os.path.join(output_dir, "backup")
    backup = keras.callbacks.BackupAndRestore(backup_dir)
    history = model.fit(
        train_ds,
        epochs=config.epochs,
        validation_data=test_ds,
        shuffle=False,
        callbacks=[_EpochTimer(), backup, *callbacks],
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
        "history": {k: [float(v) for v in vals] for k, vals in history.history.items()},
        **(extra_metrics or {}),
    }
    io.save_model(with_dtype_policy(classifier, "float32"), os.path.join(output_dir, "model.keras"))  # servable
    if hasattr(model, "latent_model"):  # a contrastive recipe's latent space, for the latent analyses
        io.save_model(with_dtype_policy(model.latent_model(), "float32"), os.path.join(output_dir, "latent.keras"))
    writer.write_json(metrics, os.path.join(output_dir, "metrics.json"))
    shutil.rmtree(backup_dir, ignore_errors=True)
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

    Returns:
        `(model, metrics)`: the trained model and the metrics dict.

    Example:
    >>> model, metrics = train("simple_cnn", "fashion_mnist", "/tmp/run", epochs=1,
    ...                        num_examples=512, num_test_examples=256, verbose=0)
    >>> 0.0 <= metrics["test_accuracy"] <= 1.0
    True
    """
    keras.utils.set_random_seed(seed)
    config = training_defaults(model_name, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate)
    train_ds, info = data.load(source, "train", num_examples, config.batch_size, shuffle=True, seed=seed)
    test_ds, _ = data.load(source, "test", num_test_examples, config.batch_size, seed=seed)
    model = models.build(model_name, info.image_shape, info.num_classes)
    steps = -(-info.num_examples // config.batch_size) * config.epochs
    compile_classifier(model, config.make_optimizer(steps))
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
        {"model": model_name, "source": source},
    )
    return model, metrics
