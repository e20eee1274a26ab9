"""Pusher: a blessed Model -> `serving_dir/<name>/<version>/` in TF Serving's layout.

TFX's contract: only a blessed model is pushed; versions are integers; an existing version is
never overwritten; a version directory appears by one atomic rename of a complete export, so
TF Serving never sees a half-written version, even when the Pusher is killed.

The serving directory may be on object storage (`gs://bucket/models`): the export is written
and checked in a local temporary directory, then published through the artifact writer, which
copies `saved_model.pb` last and then writes `_SUCCESS` where the filesystem has no atomic
rename. The serving directory's lock is then local (`filesystem.local_state_dir`).
"""

import os
import re
import tempfile
import uuid

import numpy as np

from kerasadv import io, serving
from kerasadv.data import tfrecords
from kerasadv.errors import KerasAdvError
from kerasadv.orchestration import (
    BaseComponent,
    BaseExecutor,
    ComponentSpec,
    Input,
    Parameter,
    SpecError,
    filesystem,
    writer,
)
from kerasadv.orchestration.component import at_least, matches
from kerasadv.orchestration.lock import directory_lock
from kerasadv.serving.export import DEFAULT_MAX_IMAGE_PIXELS

MODEL_NAME_RULE = "a name of letters, digits, '_', '-' and '.' (a directory of the serving dir)"
MODEL_ENTRY = """  config {{
    name: '{name}'
    base_path: '{base_path}'
    model_platform: 'tensorflow'
  }}
"""


def models_config(path, name, base_path):
    """The text of `models.config` with `name` served from `base_path`, other models kept.

    Example:
    >>> text = models_config("/nonexistent/models.config", "a", "/m/a")
    >>> "name: 'a'" in text and text.startswith("model_config_list {")
    True
    """
    entries = {}
    if filesystem.isfile(path):
        entries = dict(re.findall(r"name:\s*'([^']*)'\s*base_path:\s*'([^']*)'", filesystem.read_text(path)))
    entries[name] = base_path
    body = "".join(MODEL_ENTRY.format(name=n, base_path=b) for n, b in sorted(entries.items()))
    return "model_config_list {\n" + body + "}\n"


def next_version(model_dir):
    versions = [int(d) for d in filesystem.listdir(model_dir) if d.isdigit()]
    return max(versions, default=0) + 1


def publish_version(staging, model_dir):
    """Publishes an exported SavedModel as a new integer version: one atomic directory rename.

    On a local serving directory `staging` lies inside `model_dir` (a hidden name, which TF
    Serving ignores), so the version directory appears whole or not at all, whenever the
    process dies. On a remote one (`staging` local) the files are copied, `saved_model.pb`
    last, then `_SUCCESS`. Call it holding the serving directory's lock.
    """
    version = next_version(model_dir)
    target = os.path.join(model_dir, str(version))
    if filesystem.exists(target):  # never overwrite a version (rename would replace an empty one)
        raise KerasAdvError(f"Version directory {target} exists; refusing to overwrite it.")
    writer.publish_directory(staging, target, last=("saved_model.pb",))
    return version, target


class PusherExecutor(BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        p, pushed = exec_properties, output_dict["pushed_model"]
        blessing = input_dict["blessing"]
        if not filesystem.exists(blessing.path("BLESSED")):
            writer.write_json({"pushed": False, "reason": "model not blessed"}, pushed.path("push.json"))
            pushed.properties.update(pushed=False, reason="model not blessed")
            print("  model not blessed: not pushed")
            return
        model = io.load_model_artifact(input_dict["model"])
        serving_dir = filesystem.normalize(p["serving_dir"])
        model_dir = os.path.join(serving_dir, p["model_name"])
        # One push at a time per serving directory: staging clean-up, version number, models.config.
        with directory_lock(filesystem.local_state_dir(serving_dir), "serving directory", timeout=600):
            writer.make_dirs(model_dir)
            for stale in filesystem.glob_names(model_dir, ".staging-*"):
                writer.remove_tree(stale)  # left by a killed push (the lock says none is live)
            for name in filesystem.listdir(model_dir):  # a version a killed push left without _SUCCESS
                if name.isdigit() and not writer.is_published(os.path.join(model_dir, name)):
                    writer.remove_tree(os.path.join(model_dir, name))
            local = model_dir if not filesystem.is_remote(model_dir) else tempfile.mkdtemp(prefix="kerasadv-push-")
            staging = os.path.join(local, f".staging-{uuid.uuid4().hex[:8]}")
            try:
                limit = p.get("max_image_pixels", DEFAULT_MAX_IMAGE_PIXELS)  # absent in older runs' records
                serving.export_for_serving(model, staging, self._image_shape(input_dict), max_image_pixels=limit)
                images = self._sample_images(input_dict, model)
                warmup = serving.write_warmup_requests(staging, images[:2], p["model_name"])
                check = serving.check_servable(staging, model, images)
                if not check["passed"]:
                    writer.remove_tree(staging)
                    raise KerasAdvError(f"Exported model failed the servability check: {check}")
                version, target = publish_version(staging, model_dir)
            finally:
                if local != model_dir:
                    writer.remove_tree(local)  # the local export of a remote push
            config_path = os.path.join(serving_dir, "models.config")
            text = models_config(config_path, p["model_name"], model_dir)
            writer.write_text(text, config_path)
        record = {
            "pushed": True,
            "version": version,
            "path": target,
            "model_name": p["model_name"],
            "external_files": [os.path.join(target, "saved_model.pb")],
            "warmup_requests": warmup,
            "check": {k: v for k, v in check.items() if k != "saved_model_cli"},
        }
        writer.write_json(record, pushed.path("push.json"))
        writer.write_text(
            check.get("saved_model_cli", "saved_model_cli not on PATH\n"), pushed.path("saved_model_cli.txt")
        )
        pushed.properties.update(record)
        print(f"  pushed {p['model_name']} version {version} to {target}")

    @staticmethod
    def _image_shape(input_dict):
        """The examples' (height, width, channels), or None without examples."""
        return tfrecords.read_schema(input_dict["examples"].uri)["image_shape"] if "examples" in input_dict else None

    @staticmethod
    def _sample_images(input_dict, model):
        if "examples" in input_dict:
            x, _ = next(iter(tfrecords.read_split(input_dict["examples"].uri, "eval", 4)))
            return x.numpy()
        return np.random.default_rng(0).random((4, *model.input_shape[1:]), dtype=np.float32)


class Pusher(BaseComponent):
    """Pushes a blessed model for TF Serving and writes `serving_dir/models.config`.

    Args:
        model: the Model.
        blessing: its ModelBlessing (an unblessed model is recorded as not pushed). An
            Evaluator's blessing must gate robust accuracy (a `baseline_evaluation`, or
            `min_robust_accuracy` > 0) unless that Evaluator says `allow_vacuous=True`.
        examples: optional Examples whose eval images drive the servability check and warm-up,
            and whose image shape fills a size-agnostic model's open input sizes.
        serving_dir: TF Serving base directory ("saved_models"), local or on any filesystem
            TensorFlow knows ("gs://bucket/models"; its lock is then local to this machine).
        model_name: the served model's name.
        max_image_pixels: the largest width x height the `serving_bytes` signature decodes; a
            larger image is refused from its header, before decoding (default 4096 * 4096).

    Raises:
        SpecError: for a bad parameter, or a blessing whose gate would pass any model.
    """

    SPEC = ComponentSpec(
        inputs={
            "model": Input("Model"),
            "blessing": Input("ModelBlessing"),
            "examples": Input("Examples", optional=True),
        },
        outputs={"pushed_model": "PushedModel"},
        parameters={
            "serving_dir": Parameter(str, "saved_models", matches(r"\S.*", "a non-empty path")),
            "model_name": Parameter(str, "kerasadv", matches(r"[A-Za-z0-9][A-Za-z0-9_.-]*", MODEL_NAME_RULE)),
            "max_image_pixels": Parameter(int, DEFAULT_MAX_IMAGE_PIXELS, at_least(1)),
        },
    )
    EXECUTOR = PusherExecutor

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        evaluator = self.inputs["blessing"].producer
        problem = evaluator.vacuous_gate() if hasattr(evaluator, "vacuous_gate") else None
        if problem:
            raise SpecError(
                f"{self.id}: the blessing of {evaluator.id} is vacuous: {problem}. Expected a gate a "
                f"weaker model cannot pass: baseline_evaluation=<the baseline's Evaluator>.outputs['evaluation'] "
                f"with robust_margin=..., or min_robust_accuracy > 0; or allow_vacuous=True on {evaluator.id} "
                "to push on this gate anyway."
            )
