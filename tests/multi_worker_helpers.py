"""A pipeline worker for the multi-worker test: ImageExampleGen -> ModelImporter -> Trainer (PGD AT).

    python multi_worker_helpers.py ROOT SOURCE MODEL STRATEGY [INDEX PORT0 PORT1]

With INDEX and ports, `TF_CONFIG` names a two-worker cluster on 127.0.0.1 and this process is
worker INDEX. Prints `RESULT <json>`: the Trainer's loss history, the model's accuracy, its
replica count and a checksum of the trained weights.
"""

import json
import os
import sys


def main(root, source, model_path, strategy, index=None, *ports):
    if ports:
        cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
        os.environ["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": int(index)}})
    from kerasadv import training

    training.get_strategy(strategy)  # first, before TensorFlow runs any op (a multi-worker rule)
    import numpy as np

    from kerasadv import io
    from kerasadv.components.example_gen import ImageExampleGen
    from kerasadv.components.model_importer import ModelImporter
    from kerasadv.components.trainer import Trainer
    from kerasadv.orchestration import Pipeline

    gen = ImageExampleGen(source=source, seed=0)
    base = ModelImporter(path=model_path, examples=gen.outputs["examples"])
    recipe = {
        "class_name": "AdversarialModel",
        "config": {
            "adv_ratio": 1.0,
            "attack": {"class_name": "PGD", "config": {"eps": 0.03, "steps": 2, "random_start": False}},
        },
    }
    train = Trainer(
        examples=gen.outputs["examples"],
        base_model=base.outputs["model"],
        epochs=2,
        batch_size=16,
        learning_rate=0.05,
        adversarial_training=recipe,
        strategy=strategy,
        dtype_policy="float32",  # compared to 1e-4 across replica counts: bfloat16 rounds each reduction order apart
    )
    result = Pipeline("multi_worker", root, [gen, base, train]).run(progress=False)
    artifact = result.outputs["Trainer"]["model"]
    with open(artifact.path("metrics.json")) as f:
        metrics = json.load(f)
    weights = io.load_model_artifact(artifact).get_weights()
    summary = {
        "loss": metrics["history"]["loss"],
        "val_loss": metrics["history"]["val_loss"],
        "test_accuracy": metrics["test_accuracy"],
        "replicas": artifact.properties["replicas"],
        "weights": [float(np.sum(w, dtype=np.float64)) for w in weights],
    }
    print("RESULT " + json.dumps(summary), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
