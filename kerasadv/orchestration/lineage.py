"""Lineage CLI: which data, attack and parameters produced an artifact (default: the last pushed model).

python -m kerasadv.orchestration.lineage --pipeline_root pipeline_root/quickstart [--artifact_id N]
"""

import json
import os

from absl import app, flags

from kerasadv.errors import StorageError
from kerasadv.orchestration import filesystem
from kerasadv.orchestration.metadata import MetadataStore

FLAGS = flags.FLAGS


def define_flags():
    """Defined on demand, so importing this module never clashes with another app's flags."""
    flags.DEFINE_string(
        "pipeline_root",
        "pipeline_root/quickstart",
        "Pipeline root (its metadata.sqlite; for a gs:// or other remote root, the local copy beside the launcher).",
    )
    flags.DEFINE_integer("artifact_id", None, "Artifact id (default: the latest PushedModel).")


def format_lineage(store, artifact_id):
    """Text of an artifact's lineage, one upstream step per paragraph.

    Raises:
        StorageError: no artifact `artifact_id` is recorded in `store`.
    """
    if store.producer_of(artifact_id) is None:
        latest = store.latest_artifact("PushedModel")
        hint = f" (the latest PushedModel is #{latest})" if latest is not None else ""
        raise StorageError(
            f"No artifact #{artifact_id} is recorded in this metadata store{hint}: pass the id of one of its artifacts."
        )
    lines = [f"lineage of artifact #{artifact_id}:"]
    for step in store.lineage(artifact_id):
        lines.append(f"- {step['component']} ({step['type']}, execution {step['execution']})")
        lines.append(f"    parameters: {json.dumps(step['parameters'], sort_keys=True)}")
        if step["inputs"]:
            lines.append(f"    inputs: {step['inputs']}")
    return "\n".join(lines)


def main(argv):
    del argv
    path = os.path.join(filesystem.local_state_dir(FLAGS.pipeline_root), "metadata.sqlite")
    if not os.path.isfile(path):
        raise SystemExit(f"No metadata store at {path}: run the pipeline first.")
    store = MetadataStore(path)
    artifact_id = FLAGS.artifact_id or store.latest_artifact("PushedModel")
    if artifact_id is None:
        raise SystemExit("No PushedModel recorded yet; pass --artifact_id.")
    try:
        print(format_lineage(store, artifact_id))
    except StorageError as error:
        raise SystemExit(str(error)) from None


def run():
    """Console-script entry point."""
    define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
