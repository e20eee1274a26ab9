"""Distribution strategies for kerasadv's training: by name, and the multi-worker shim.

`MirroredStrategy` (one machine, several devices) works with Keras's `fit` as it is. Keras 3's
`fit` fails under `MultiWorkerMirroredStrategy` with a cluster in `TF_CONFIG` in two places
(keras-team/keras#20585): it builds the model from a data batch "reduced" across workers with
`strategy.reduce`, which cannot reduce a batch of images and labels, and it reduces every
step's logs with `strategy.reduce("MEAN", value, axis=0)`, which fails on scalar logs.
`TrainingWrapper` (the base of every kerasadv recipe, and plain training with
`TrainingWrapper(classifier)`) works around both with the helpers here: the model is built
from the data's element spec (`batch_spec`, under any strategy: no batch is drawn, so a
reshuffling dataset's epochs come in the same order as without one) and the step's scalar
logs get a leading axis of one (`reducible_logs`), so that Keras's reduction averages them
across workers. Nothing of Keras is patched.

    os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": ["host0:2222", "host1:2222"]},
                                          "task": {"type": "worker", "index": 0}})
    strategy = training.get_strategy("multi_worker")   # before any TensorFlow op runs
    with strategy.scope():
        model = training.AdversarialModel(classifier, attacks.PGD(8 / 255, steps=7))
        model.compile(...)
    model.fit(global_batches, ...)                     # the same script on every worker
"""

import tensorflow as tf

from kerasadv.errors import KerasAdvError

STRATEGIES = ("default", "mirrored", "multi_worker")
_MULTI_WORKER = []  # a process configures its collectives once: the one strategy, made on first use


def get_strategy(name):
    """The `tf.distribute` strategy called `name`.

    Args:
        name: "default" (no distribution: the current strategy), "mirrored" (all local devices)
            or "multi_worker" (`MultiWorkerMirroredStrategy`; the cluster comes from the
            `TF_CONFIG` environment variable, one worker without it). A multi-worker strategy
            must be made before TensorFlow runs its first op in the process; later calls return
            the same strategy.

    Returns:
        A `tf.distribute.Strategy`.

    Raises:
        KerasAdvError: an unknown name, or "multi_worker" asked for first after TensorFlow
            started (the message says where to make it instead).

    Example:
    >>> get_strategy("default").num_replicas_in_sync
    1
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        if not _MULTI_WORKER:
            _MULTI_WORKER.append(_multi_worker_strategy())
        return _MULTI_WORKER[0]
    raise KerasAdvError(f"Unknown distribution strategy {name!r}; expected one of {list(STRATEGIES)}.")


def _multi_worker_strategy():
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as error:
        if "at program startup" not in str(error):
            raise
        raise KerasAdvError(
            "The multi-worker strategy must be made before TensorFlow runs its first op in the process, got "
            "a process where TensorFlow already ran; call kerasadv.training.get_strategy('multi_worker') at "
            "the start of the program (before the pipeline or any model is built)."
        ) from error


def global_batches(dataset):
    """`dataset` set to be split by batch across workers (`AutoShardPolicy.DATA`).

    Every worker reads the same batches and keeps its share of each, so a global step sees
    the same examples as one worker would; the default (by file) gives each worker other files.

    Example:
    >>> policy = global_batches(tf.data.Dataset.range(4).batch(2)).options().experimental_distribute.auto_shard_policy
    >>> policy.name
    'DATA'
    """
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def in_multi_worker_mode(strategy=None):
    """Whether `strategy` (default: the current one) all-reduces across worker processes.

    Example:
    >>> in_multi_worker_mode()
    False
    """
    strategy = strategy or tf.distribute.get_strategy()
    multi_worker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    return multi_worker and strategy.extended._in_multi_worker_mode()


def batch_spec(epoch_iterator):
    """The shapes and dtypes of a Keras epoch iterator's batches, read without drawing a batch.

    Keras builds a distributed model from a batch drawn (and reduced across replicas) before
    the first epoch; a drawn batch also advances a reshuffling dataset by one epoch. The spec
    builds the same model and leaves the epochs' order as it is without a strategy.

    Args:
        epoch_iterator: the epoch iterator Keras passes to `_maybe_symbolic_build`.

    Returns:
        The dataset's element spec (a structure of `tf.TensorSpec`).
    """
    return epoch_iterator.data_adapter.get_tf_dataset().element_spec


def reducible_logs(logs):
    """The step's logs, scalars given a leading axis of one under a multi-worker strategy.

    Keras reduces each log across workers with `strategy.reduce("MEAN", value, axis=0)`;
    with the extra axis that is the mean over workers, a scalar again. Logs are returned
    unchanged under any other strategy.

    Example:
    >>> reducible_logs({"loss": 1.5})
    {'loss': 1.5}
    """
    if not in_multi_worker_mode():
        return logs

    def with_axis(value):
        value = tf.convert_to_tensor(value)
        return tf.reshape(value, [1]) if value.shape.rank == 0 else value

    return {name: with_axis(value) for name, value in logs.items()}


def batch_mean(values, sample_weight=None):
    """A replica's share of the global batch's mean of per-example `values` (float32).

    The mean over the replica's batch (weighted by `sample_weight`, divided by the batch size
    as Keras's "sum_over_batch_size" does) times 1 / replicas: what Keras's compiled loss
    gives, so the gradients of a recipe's own loss terms sum to the global batch's.

    Example:
    >>> float(batch_mean(tf.constant([1.0, 3.0])))
    2.0
    """
    values = tf.cast(values, tf.float32)
    if sample_weight is not None:
        values = values * tf.cast(tf.reshape(sample_weight, tf.shape(values)), tf.float32)
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return tf.reduce_mean(values) / float(replicas)


def unscaled_loss(loss):
    """A replica's loss as the mean over the global batch would read it (for the loss tracker).

    Keras scales each replica's loss by 1 / replicas so that the gradients sum to the global
    batch's; the logged loss undoes that.
    """
    return loss * tf.cast(tf.distribute.get_strategy().num_replicas_in_sync, loss.dtype)
