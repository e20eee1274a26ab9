"""Lineage CLI: which data, attack and parameters produced an artifact (default: the last pushed model).

python -m kerasadv.orchestration.lineage --pipeline_root pipeline_root/quickstart [--artifact_id N]
"""

import json
import os

from absl import app, flags

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
    """Text of an artifact's lineage, one upstream step per paragraph."""
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
    print(format_lineage(store, artifact_id))


def run():
    """Console-script entry point."""
    define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
