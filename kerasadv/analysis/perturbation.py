"""Clean images beside their adversarial versions: an attack's output as one array, the changed ones first."""

import numpy as np

from kerasadv.attacks.stream import stream


def attacked(attack, model, x, y, eps=None):
    """`attack` at radius `eps` on `(x, y)`, as one array (`attacks.stream`'s batches, reseeded).

    Args:
        attack: an attack object (`kerasadv.attacks`).
        model: the attacked logits model.
        x, y: images in [0, 1] and their labels.
        eps: the radius (None: the attack's own).

    Returns:
        The adversarial images, a numpy array shaped like `x`.

    Example:
    >>> import kerasadv
    >>> x = np.full((3, 32, 32, 3), 0.5, np.float32)
    >>> x_adv = attacked(kerasadv.attacks.FGSM(0.0), kerasadv.models.simple_cnn(), x, np.zeros(3, int), 0.1)
    >>> x_adv.shape, float(np.abs(x_adv - x).max()) <= 0.1 + 1e-6
    ((3, 32, 32, 3), True)
    """
    return np.concatenate([b["x_adv"].numpy() for b in stream(attack, model, (x, y), eps, progress=False)])


def changed_first(x, x_adv, count):
    """Indices of `count` images: those `x_adv` changed first, then the unchanged, each in order.

    Example:
    >>> x = np.zeros((4, 2, 2, 1), np.float32)
    >>> x_adv = x.copy(); x_adv[2, 0, 0] = 0.1; x_adv[3, 1, 1] = 0.2
    >>> changed_first(x, x_adv, 3).tolist()
    [2, 3, 0]
    """
    changed = np.abs(x_adv - x).reshape(len(x_adv), -1).max(1) > 0
    return np.concatenate([np.flatnonzero(changed), np.flatnonzero(~changed)])[:count]
