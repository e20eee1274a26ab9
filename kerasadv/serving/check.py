"""Offline servability check: load a SavedModel in a fresh process and call both signatures.

    python -m kerasadv.serving.check SAVED_MODEL_DIR CASES.npz

`CASES.npz` holds `images` ([0, 1] floats) and `expected` (the Keras model's probabilities).
Prints one JSON line: max differences of both signatures and whether they passed. Each
signature is also called the way TF Serving's REST API would call it: a JSON request body
(`{"instances": [{"image_bytes": {"b64": ...}}]}`) decoded as the server does.
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

from kerasadv.serving import child

_CAPTURE = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}


def _encode_png(images):
    import tensorflow as tf

    pixels = np.round(np.asarray(images) * 255).astype(np.uint8)
    return tf.constant([tf.io.encode_png(image).numpy() for image in pixels])


def rest_request_body(images):
    """The TF Serving REST `predict` body (row format) for the `serving_bytes` signature.

    Args:
        images: [0, 1] float images, shape (n, height, width, channels).

    Returns:
        JSON text `{"instances": [{"image_bytes": {"b64": "<PNG, base64>"}}, ...]}`.

    Example:
    >>> body = rest_request_body(np.zeros((1, 2, 2, 3), np.float32))
    >>> sorted(json.loads(body)["instances"][0]["image_bytes"])
    ['b64']
    """
    encoded = _encode_png(images).numpy()
    instances = [{"image_bytes": {"b64": base64.b64encode(data).decode("ascii")}} for data in encoded]
    return json.dumps({"instances": instances})


def decode_rest_request(body):
    """Decodes a REST `predict` body (row format) into named input batches, as TF Serving does.

    `{"b64": ...}` objects become bytes (DT_STRING); other values become arrays; the
    instances' values of each input name are stacked into one batch.

    Args:
        body: the JSON request text.

    Returns:
        dict input name -> list of bytes or a float32 array.

    Raises:
        ValueError: the body has no `instances` list, or instances name different inputs.

    Example:
    >>> decode_rest_request('{"instances": [{"image_bytes": {"b64": "YWI="}}]}')
    {'image_bytes': [b'ab']}
    """
    instances = json.loads(body).get("instances")
    if not isinstance(instances, list) or not instances:
        raise ValueError(f"A REST predict body needs a non-empty 'instances' list, got {body[:80]!r}.")
    names = set(instances[0])
    if any(set(instance) != names for instance in instances):
        raise ValueError("Every instance of a REST predict body must name the same inputs.")
    batches = {}
    for name in sorted(names):
        values = [instance[name] for instance in instances]
        if all(isinstance(v, dict) and set(v) == {"b64"} for v in values):
            batches[name] = [base64.b64decode(v["b64"]) for v in values]
        else:
            batches[name] = np.asarray(values, np.float32)
    return batches


def _check_in_this_process(directory, cases_path, atol):
    import tensorflow as tf

    cases = np.load(cases_path)
    loaded = tf.saved_model.load(directory)
    dense = loaded.signatures["serving_default"](images=tf.constant(cases["images"], tf.float32))
    encoded = loaded.signatures["serving_bytes"](image_bytes=_encode_png(cases["images"]))
    rest_inputs = decode_rest_request(rest_request_body(cases["images"]))
    rest = loaded.signatures["serving_bytes"](**{k: tf.constant(v) for k, v in rest_inputs.items()})
    # PNG stores 8-bit pixels: compare the bytes paths with the images rounded to 8 bits.
    diffs = {
        "serving_default_max_diff": float(np.abs(dense["probabilities"].numpy() - cases["expected"]).max()),
        "serving_bytes_max_diff": float(np.abs(encoded["probabilities"].numpy() - cases["expected_8bit"]).max()),
        "rest_b64_max_diff": float(np.abs(rest["probabilities"].numpy() - cases["expected_8bit"]).max()),
    }
    return {**diffs, "signatures": sorted(loaded.signatures.keys()), "passed": max(diffs.values()) <= atol}


def check_servable(directory, model, images, atol=1e-4, timeout=300):
    """Loads `directory` in a fresh Python process, calls both signatures, compares with `model`.

    Args:
        directory: a SavedModel written by `export_for_serving`.
        model: the Keras model it was exported from.
        images: a few [0, 1] images to compare on.
        atol: largest allowed difference of probabilities.
        timeout: seconds for each subprocess.

    Returns:
        dict with the differences, `passed`, and `saved_model_cli` (its `show --all` output,
        when the tool is on PATH; it runs beside the check).
    """
    cli = shutil.which("saved_model_cli")  # runs beside the check: both spend seconds importing TensorFlow
    show = None if cli is None else child.popen([cli, "show", "--dir", directory, "--all"], **_CAPTURE)
    try:
        run = _run_check(directory, model, images, atol, timeout)
        if run.returncode != 0:
            return {"passed": False, "error": run.stderr[-2000:]}
        result = json.loads(run.stdout.strip().splitlines()[-1])
        if show is not None:
            out, err = show.communicate(timeout=timeout)
            result["saved_model_cli"] = out if show.returncode == 0 else err[-2000:]
        return result
    finally:
        if show is not None and show.poll() is None:  # the check failed or timed out: no description needed
            show.kill()
            show.communicate()


def _run_check(directory, model, images, atol, timeout):
    """Runs this module's check of `directory` against `model` on `images` in a fresh process."""
    import tensorflow as tf

    images = np.asarray(images, np.float32)
    rounded = np.round(images * 255) / 255
    with tempfile.TemporaryDirectory() as tmp:
        cases = os.path.join(tmp, "cases.npz")
        np.savez(
            cases,
            images=images,
            expected=tf.nn.softmax(model(images, training=False)).numpy(),
            expected_8bit=tf.nn.softmax(model(rounded, training=False)).numpy(),
        )
        return child.run(
            [sys.executable, "-m", "kerasadv.serving.check", directory, cases, str(atol)],
            **_CAPTURE,
            timeout=timeout,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        )


if __name__ == "__main__":
    tolerance = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-4
    print(json.dumps(_check_in_this_process(sys.argv[1], sys.argv[2], tolerance)))
