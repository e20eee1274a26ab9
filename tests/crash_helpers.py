"""A small real pipeline and a driver that SIGKILLs it at a chosen point (crash-matrix tests).

    python crash_helpers.py ROOT SOURCE SERVING_DIR POINT FORCE
    python crash_helpers.py push DIRECTORY SERVING_DIR

POINT names where the process kills itself: `mid:<artifact kind>` while writing that artifact,
`after:<component>` once the component's outputs are published, `unrecorded:<component>` after
its outputs were renamed into place but before the metadata store recorded them. FORCE is the
component id run without the cache (so a shared root re-executes it).
"""

import os
import signal
import sys

from kerasadv.components.attack_gen import AttackGen
from kerasadv.components.evaluator import Evaluator
from kerasadv.components.example_gen import ImageExampleGen
from kerasadv.components.pusher import Pusher
from kerasadv.components.trainer import Trainer
from kerasadv.orchestration import Pipeline


def crash_pipeline(root, source, serving_dir, force=""):
    gen = ImageExampleGen(source=source, seed=0, enable_cache=force != "ImageExampleGen")
    examples = gen.outputs["examples"]
    train = Trainer(examples=examples, model="simple_cnn", epochs=1, enable_cache=force != "Trainer")
    attack = AttackGen(
        model=train.outputs["model"],
        examples=examples,
        attack={"class_name": "PGD", "config": {"eps": 0.03, "steps": 2}},
        enable_cache=force != "AttackGen",
    )
    evaluate = Evaluator(
        model=train.outputs["model"],
        examples=examples,
        adversarial_examples=attack.outputs["adversarial_examples"],
        attacks=["fgsm"],
        eps_sweep="0.0,0.03",
        allow_vacuous=True,  # what is tested is crash safety, not the gate
        enable_cache=force != "Evaluator",
    )
    push = Pusher(
        model=train.outputs["model"],
        blessing=evaluate.outputs["blessing"],
        examples=examples,
        serving_dir=serving_dir,
        model_name="m",
        enable_cache=force != "Pusher",
    )
    return Pipeline("crash", root, [gen, train, attack, evaluate, push])


def die():
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _inject_mid_write(kind):
    """Patches the writer of one artifact kind to leave a partial file and die."""
    import keras

    from kerasadv.components import pusher
    from kerasadv.data import tfrecords
    from kerasadv.orchestration import writer

    if kind in ("examples", "adversarial_examples"):
        owner = "ImageExampleGen" if kind == "examples" else "AttackGen"
        real_write_split = tfrecords.write_split

        def write_split(batches, directory, *args, **kwargs):
            def first_then_die(batches):
                for batch in batches:
                    yield batch
                    die()  # the writer has taken the first batch: its shard is open, half written

            if owner not in directory:
                return real_write_split(batches, directory, *args, **kwargs)
            return real_write_split(first_then_die(batches), directory, *args, **kwargs)

        tfrecords.write_split = write_split
    elif kind == "model":
        real_save = keras.Model.save

        def save(self, filepath, *args, **kwargs):
            real_save(self, filepath, *args, **kwargs)
            with open(filepath, "r+b") as f:
                f.truncate(os.path.getsize(filepath) // 2)
            die()

        keras.Model.save = save
    elif kind == "evaluation":
        real_write_json = writer.write_json

        def write_json(obj, path):
            if path.endswith("evaluation.json"):
                with writer.atomic_path(path) as tmp, open(tmp, "w") as f:
                    f.write('{"examples_accuracy": ')
                    f.flush()
                    die()
            return real_write_json(obj, path)

        writer.write_json = write_json
    elif kind == "pushed_model_export":
        real_export = pusher.serving.export_for_serving

        def export(model, directory, *args, **kwargs):
            real_export(model, directory, *args, **kwargs)
            with open(os.path.join(directory, "saved_model.pb"), "r+b") as f:
                f.truncate(100)
            die()

        pusher.serving.export_for_serving = export
    elif kind == "pushed_model_publish":

        def publish_version(staging, model_dir):
            die()  # a complete, checked export in its hidden staging directory, not yet renamed

        pusher.publish_version = publish_version
    else:
        raise ValueError(f"unknown artifact kind {kind!r}")


def _inject_boundary(when, component_id):
    from kerasadv.orchestration import metadata, pipeline

    if when == "after":
        real_run_one = pipeline.Pipeline._run_one

        def run_one(self, store, context_id, component, inputs, key):
            result = real_run_one(self, store, context_id, component, inputs, key)
            if component.id == component_id:
                die()
            return result

        pipeline.Pipeline._run_one = run_one
    else:  # unrecorded: outputs renamed into place, the store not told
        real_publish = metadata.MetadataStore.publish

        def publish(self, execution_id, artifacts, cached_from=None):
            if any(f"/{component_id}/" in a.uri for a in artifacts.values()) and cached_from is None:
                die()
            return real_publish(self, execution_id, artifacts, cached_from=cached_from)

        metadata.MetadataStore.publish = publish


def main(root, source, serving_dir, point, force):
    when, _, what = point.partition(":")
    if when == "mid":
        _inject_mid_write(what)
    else:
        _inject_boundary(when, what)
    crash_pipeline(root, source, serving_dir, force).run(progress=False)


def push_once(directory, serving_dir):
    """Runs a Pusher on `directory`/{model, blessing, pushed} (two at once share `serving_dir`)."""
    from kerasadv.components.pusher import PusherExecutor
    from kerasadv.orchestration import Artifact

    inputs = {
        "model": Artifact("Model", os.path.join(directory, "model")),
        "blessing": Artifact("ModelBlessing", os.path.join(directory, "blessing")),
    }
    outputs = {"pushed_model": Artifact("PushedModel", os.path.join(directory, "pushed"))}
    PusherExecutor().Do(inputs, outputs, {"serving_dir": serving_dir, "model_name": "m"})


if __name__ == "__main__":
    if sys.argv[1] == "push":
        push_once(*sys.argv[2:4])
    else:
        main(*sys.argv[1:6])
