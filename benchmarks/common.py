"""Timing helpers shared by the benchmark scripts (benchmarks are run, not tested)."""

import os
import statistics
import sys
import time

import numpy as np
import tensorflow as tf


def median_seconds(fns, reps, warmup=1):
    """Median wall time of each `fns[name]()` over `reps` runs, after `warmup` untimed runs.

    The runs are interleaved (one of each per round) so that drift of the machine's speed
    (other load, clocks) affects every method alike and the ratios stay fair.
    """
    return {name: statistics.median(t) for name, t in round_seconds(fns, reps, warmup).items()}


def round_seconds(fns, reps, warmup=1):
    """Wall time of each `fns[name]()` in each of `reps` interleaved rounds: `{name: [seconds, ...]}`.

    Round i of every method ran back to back, so per-round differences cancel the drift.
    """
    for fn in fns.values():
        for _ in range(warmup):
            _block(fn())
    times = {name: [] for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            start = time.perf_counter()
            _block(fn())
            times[name].append(time.perf_counter() - start)
    return times


def _block(result):
    """Forces lazy results (tensors) so the timing includes the work."""
    if hasattr(result, "numpy"):
        result.numpy()
    elif isinstance(result, (tuple, list)):
        for item in result:
            _block(item)
    return result


def print_table(rows, columns):
    widths = [max(len(str(c)), *(len(_fmt(r.get(c))) for r in rows)) for c in columns]
    print("  ".join(str(c).ljust(w) for c, w in zip(columns, widths)))
    for row in rows:
        print("  ".join(_fmt(row.get(c)).ljust(w) for c, w in zip(columns, widths)))


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def print_ratios(ratios):
    for name, value in ratios.items():
        print(f"ratio {name} {value:.3f}")


def random_batch(batch, shape, num_classes, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((batch, *shape), dtype=np.float32), rng.integers(0, num_classes, batch).astype(np.int32)


def floor_fn(model):
    """The hardware floor of a gradient attack: one forward + backward pass w.r.t. the input, compiled."""

    @tf.function
    def floor(x, y):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(y, model(x, training=False)))
        return tape.gradient(loss, x)

    return floor


def cached_train_batches(num_examples, batch_size):
    """CIFAR-10 train images ($KERASADV_CIFAR10_TAR; random ones otherwise), batched and cached.

    In memory, so every method compared sees the same batches at the same input cost; on one
    private thread without autotuning, so tf.data does not compete with the step on 2 cores.
    """
    from kerasadv import data

    archive = os.environ.get("KERASADV_CIFAR10_TAR", "")
    if os.path.isfile(archive):
        x, y = data.to_arrays(data.load(f"tar:{archive}", "train", num_examples=num_examples)[0])
    else:
        x, y = random_batch(num_examples, (32, 32, 3), 10)
    return private_thread(tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size, drop_remainder=True).cache())


def private_thread(dataset):
    """`dataset` on one private thread without autotuning (it does not compete with the model)."""
    options = tf.data.Options()
    options.threading.private_threadpool_size = 1
    options.autotune.enabled = False
    return dataset.with_options(options)


def cifar_archive():
    """The CIFAR-10 archive named by $KERASADV_CIFAR10_TAR; exits saying how to set it when missing."""
    archive = os.environ.get("KERASADV_CIFAR10_TAR", "")
    if not os.path.isfile(archive):
        sys.exit("set KERASADV_CIFAR10_TAR to the CIFAR-10 archive (../shared/data/cifar10-jpeg.tar.gz)")
    return archive
