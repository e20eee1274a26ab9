"""AttackGen: Model + Examples + attack config -> AdversarialExamples (streamed, with per-example facts)."""

import numpy as np
import tensorflow as tf

from kerasadv import attacks, io
from kerasadv.components.configs import attack_config, attack_label
from kerasadv.constants import DEFAULT_BATCH_SIZE
from kerasadv.data import tfrecords
from kerasadv.orchestration import BaseComponent, ComponentSpec, Input, Parameter
from kerasadv.orchestration.component import at_least, subset_of


def attack_steps(attack):
    """Gradient steps per example of a fixed-step attack (1 for FGSM and noise)."""
    return getattr(attack, "steps", 1)


def adversarial_batches(attack, model, dataset, successes):
    """Streams the attack over `dataset`, yielding records with per-example facts.

    Appends each batch's success flags to `successes`.
    """
    for batch in attacks.stream(attack, model, dataset, progress=True):
        x_adv, y = batch["x_adv"], tf.cast(batch["y"], tf.int32)
        fooled = attacks.predict_labels(model, x_adv) != y
        delta = tf.reshape(x_adv - batch["x"], [tf.shape(y)[0], -1])
        steps = batch.get("steps", tf.fill(tf.shape(y), attack_steps(attack)))
        successes.append(fooled.numpy())
        yield {
            "image": x_adv.numpy(),
            "label": y.numpy(),
            "success": fooled.numpy().astype(np.float32),
            "steps": np.asarray(steps, np.float32),
            "linf": tf.reduce_max(tf.abs(delta), 1).numpy(),
            "l2": tf.norm(delta, axis=1).numpy(),
        }


class AttackGenExecutor:
    def Do(self, input_dict, output_dict, exec_properties):
        p = exec_properties
        model = io.load_model_artifact(input_dict["model"])
        examples, out = input_dict["examples"], output_dict["adversarial_examples"]
        schema = tfrecords.read_schema(examples.uri)
        attack = attacks.get(p["attack"])
        counts, success_rates = {}, {}
        for split in p["splits"].split(","):
            print(f"  {attack!r} on split {split!r}:")
            ds = tfrecords.read_split(examples.uri, split, p["batch_size"])
            successes = []
            batches = adversarial_batches(attack, model, ds, successes)
            counts[split], extras = tfrecords.write_split(batches, out.uri, split, "float32")
            success_rates[split] = float(np.concatenate(successes).mean()) if successes else 0.0
        tfrecords.write_schema(out.uri, schema["image_shape"], "float32", schema["class_names"], counts, extras)
        out.properties.update(
            attack=p["attack"],
            attack_label=attack_label(p["attack"]),
            eps=p["attack"]["config"].get("eps"),
            splits=counts,
            success_rate=success_rates,
        )


class AttackGen(BaseComponent):
    """Generates adversarial versions of example splits against a model.

    Args:
        model: the attacked Model.
        examples: Examples to attack.
        attack: the attack: a name of `kerasadv.attacks.ATTACK_NAMES` (its defaults), a config
            dict `{"class_name": ..., "config": {...}}` or its JSON text; stored as the full
            config (cache key, properties, lineage, report).
        splits: comma-separated splits to attack ("train,eval").
        batch_size: attack batch size.
        seed: the attack's seed when its config leaves it unset.
    """

    SPEC = ComponentSpec(
        inputs={"model": Input("Model"), "examples": Input("Examples")},
        outputs={"adversarial_examples": "AdversarialExamples"},
        parameters={
            "attack": Parameter((str, dict), "fgsm"),
            "splits": Parameter(str, "train,eval", subset_of("train", "eval")),
            "batch_size": Parameter(int, DEFAULT_BATCH_SIZE, at_least(1)),
            "seed": Parameter(int, 0, at_least(0)),
        },
    )
    EXECUTOR = AttackGenExecutor

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.parameters["attack"] = attack_config(self.id, self.parameters["attack"], self.parameters["seed"])
