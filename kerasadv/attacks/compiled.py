"""`PerModelFunction`: a `tf.function` per model, traced once whatever the batch size.

Attacks, predictions and sweeps run a model over batches of any size: the last, partial batch
of a data set, the examples an ensemble's earlier attacks left, a self-check's subset. Each is
traced once per model and per shape of its arguments with the batch axis left open, so no
batch size retraces it (and eps, a tensor argument, does not either).
"""

import functools
import weakref

import tensorflow as tf


def _call(model_ref, fn, *args):
    return fn(model_ref(), *args)


class PerModelFunction:
    """`fn(model, *tensors)` compiled per model and argument shapes, the leading (batch) axis open.

    Args:
        fn: a traceable function of a model and tensors.
        batched: positions of the tensor arguments whose first axis is the batch.
        **options: `tf.function` options (`jit_compile`, `autograph`).

    Example:
    >>> import keras
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> logits = PerModelFunction(lambda model, x: model(x, training=False))
    >>> logits(model, tf.zeros((4, 3))).shape, logits(model, tf.zeros((1, 3))).shape
    (TensorShape([4, 2]), TensorShape([1, 2]))
    >>> logits.tracing_count(model)
    1
    """

    def __init__(self, fn, batched=(0,), **options):
        self._fn, self._batched, self._options = fn, tuple(batched), options
        self._functions = weakref.WeakKeyDictionary()  # model -> {signature: tf.function}

    def _signature(self, tensors):
        return tuple(
            tf.TensorSpec([None, *t.shape[1:]] if i in self._batched else t.shape, t.dtype)
            for i, t in enumerate(tensors)
        )

    def __call__(self, model, *tensors):
        """`fn(model, *tensors)`, through the function compiled for `model` and these shapes."""
        tensors = [tf.convert_to_tensor(t) for t in tensors]
        signature = self._signature(tensors)
        functions = self._functions.setdefault(model, {})
        if signature not in functions:
            # A partial (holding the model weakly), not a lambda: TensorFlow counts traces per
            # Python function, so the functions of distinct attacks add up to no "retracing" warning.
            python_function = functools.partial(_call, weakref.ref(model), self._fn)
            functions[signature] = tf.function(python_function, input_signature=signature, **self._options)
        return functions[signature](*tensors)

    def tracing_count(self, model):
        """How often the functions of `model` were traced (one per argument shape it was called with)."""
        return sum(f.experimental_get_tracing_count() for f in self._functions.get(model, {}).values())
