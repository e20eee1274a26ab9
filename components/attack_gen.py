"""AttackGen: Model + Examples + attack config -> AdversarialExamples (streamed, with per-example facts)."""

import keras
import numpy as np
import tensorflow as tf

from kerasadv import attacks
from kerasadv.data import tfrecords
from kerasadv.orchestration import BaseComponent, ComponentSpec, Input, Parameter, SpecError


def attack_steps(attack):
    """Gradient steps per example of a fixed-step attack (1 for FGSM and noise)."""
    return getattr(attack, "steps", 1)


class AttackGenExecutor:
    def Do(self, input_dict, output_dict, exec_properties):
        p = exec_properties
        model = keras.saving.load_model(input_dict["model"].path("model.keras"))
        examples, out = input_dict["examples"], output_dict["adversarial_examples"]
        schema = tfrecords.read_schema(examples.uri)
        attack = attacks.make_attack(p["attack"], p["eps"], p["steps"], p["seed"])
        counts, success_rates = {}, {}
        for split in p["splits"].split(","):
            print(f"  {p['attack']} eps={p['eps']} on split {split!r}:")
            ds = tfrecords.read_split(examples.uri, split, p["batch_size"])
            successes = []

            def batches():
                for batch in attacks.stream(attack, model, ds, progress=True):
                    x_adv, y = batch["x_adv"], tf.cast(batch["y"], tf.int32)
                    fooled = attacks.predict_labels(model, x_adv) != y
                    delta = tf.reshape(x_adv - batch["x"], [tf.shape(y)[0], -1])
                    successes.append(fooled.numpy())
                    yield {"image": x_adv.numpy(), "label": y.numpy(),
                           "success": fooled.numpy().astype(np.float32),
                           "steps": np.asarray(batch.get("steps", tf.fill(tf.shape(y), attack_steps(attack))), np.float32),
                           "linf": tf.reduce_max(tf.abs(delta), 1).numpy(), "l2": tf.norm(delta, axis=1).numpy()}

            counts[split], extras = tfrecords.write_split(batches(), out.uri, split, "float32")
            success_rates[split] = float(np.concatenate(successes).mean()) if successes else 0.0
        tfrecords.write_schema(out.uri, schema["image_shape"], "float32", schema["class_names"], counts, extras)
        out.properties.update(attack=p["attack"], eps=p["eps"], steps=p["steps"], splits=counts,
                              success_rate=success_rates)


class AttackGen(BaseComponent):
    """Generates adversarial versions of example splits against a model.

    Args:
        model: the attacked Model.
        examples: Examples to attack.
        attack: a name of `kerasadv.attacks.ATTACK_NAMES`.
        eps: attack radius (noise: its std; iterative_fgs: its step size).
        steps: steps of iterative attacks.
        splits: comma-separated splits to attack ("train,eval").
        batch_size: attack batch size.
        seed: attack seed.
    """

    SPEC = ComponentSpec(
        inputs={"model": Input("Model"), "examples": Input("Examples")},
        outputs={"adversarial_examples": "AdversarialExamples"},
        parameters={"attack": Parameter(str, "fgsm"), "eps": Parameter(float, 0.03),
                    "steps": Parameter(int, 10), "splits": Parameter(str, "train,eval"),
                    "batch_size": Parameter(int, 256), "seed": Parameter(int, 0)})
    EXECUTOR = AttackGenExecutor

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if self.parameters["attack"] not in attacks.ATTACK_NAMES:
            raise SpecError(f"{self.id}: unknown attack {self.parameters['attack']!r}; "
                            f"expected one of {attacks.ATTACK_NAMES}.")
