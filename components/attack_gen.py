"""AttackGen: Model + Examples + attack config -> AdversarialExamples (streamed, with per-example facts)."""

import time

import numpy as np

from kerasadv import attacks, io
from kerasadv.attacks import records
from kerasadv.attacks.records import RECORD_FACTS, adversarial_batches, attack_steps
from kerasadv.configs import attack_config, attack_label
from kerasadv.constants import DEFAULT_BATCH_SIZE
from kerasadv.data import tfrecords
from kerasadv.evaluation.engine import RUNNERS
from kerasadv.orchestration import BaseComponent, BaseExecutor, ComponentSpec, Input, Parameter
from kerasadv.orchestration.component import at_least, flag_list, one_of, subset_of


class AttackGenExecutor(BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        p = exec_properties
        model = io.load_model_artifact(input_dict["model"])
        examples, out = input_dict["examples"], output_dict["adversarial_examples"]
        schema = tfrecords.read_schema(examples.uri)
        attack = attacks.get(p["attack"])
        counts, success_rates, seconds = {}, {}, {}
        for split in p["splits"].split(","):
            print(f"  {attack!r} on split {split!r} ({p['runner']} runner):")
            start = time.perf_counter()
            self._attack_split(attack, model, input_dict, out, split, p, counts, success_rates)
            seconds[split] = (time.perf_counter() - start) / max(counts[split], 1)
        tfrecords.write_schema(out.uri, schema["image_shape"], "float32", schema["class_names"], counts, RECORD_FACTS)
        out.properties.update(
            attack=p["attack"],
            attack_label=attack_label(p["attack"]),
            eps=p["attack"]["config"].get("eps"),
            splits=counts,
            success_rate=success_rates,
            seconds_per_example=seconds,
        )

    @staticmethod
    def _attack_split(attack, model, input_dict, out, split, p, counts, success_rates):
        """Attacks one split into `out` (this process or Beam); fills `counts` and `success_rates`."""
        examples = input_dict["examples"]
        if p["runner"] == "beam":
            from kerasadv import beam

            path, safe_mode = io.model_artifact_file(input_dict["model"])
            counts[split], success_rates[split] = beam.attack_split(
                path, attack, examples.uri, split, out.uri, p["batch_size"], p["beam_options"], safe_mode
            )
            out.properties.setdefault("engine", {})[split] = beam.last_run().engine  # what really ran it
            return
        ds = tfrecords.read_split(examples.uri, split, p["batch_size"])
        successes, out_of_budget = [], []
        batches = adversarial_batches(attack, model, ds, successes, out_of_budget)
        counts[split], _ = tfrecords.write_split(batches, out.uri, split, "float32")
        success_rates[split] = float(np.concatenate(successes).mean()) if successes else 0.0
        if out_of_budget:  # an attack that stops per example (IterativeFGS): say where the budget stopped it
            stopped = int(np.concatenate(out_of_budget).sum())
            out.properties.setdefault("out_of_budget", {})[split] = stopped
            if stopped:
                print(
                    f"  {stopped} {split} examples were still classified correctly when their "
                    f"{attack_steps(attack)}-step budget ran out: raise `steps` to attack them further."
                )


class AttackGen(BaseComponent):
    """Generates adversarial versions of example splits against a model.

    An attack that stops per example (IterativeFGS: until misclassified) never hides its step
    budget: the examples it left correctly classified when their budget ran out are counted per
    split in the `out_of_budget` property and printed (local runner).

    Args:
        model: the attacked Model.
        examples: Examples to attack.
        attack: the attack: a name of `kerasadv.attacks.ATTACK_NAMES` (its defaults), a config
            dict `{"class_name": ..., "config": {...}}` or its JSON text; stored as the full
            config (cache key, properties, lineage, report).
        splits: comma-separated splits to attack ("train,eval").
        batch_size: attack batch size.
        seed: the attack's seed when its config leaves it unset.
        runner: "local" (this process) or "beam" (`kerasadv.beam`: chunks of batches over
            Beam workers, the same shards' records, success rates merged with a combiner).
        beam_options: Beam pipeline flags for runner="beam", e.g. ["--runner=DirectRunner",
            "--direct_num_workers=2", "--direct_running_mode=multi_processing"].
    """

    CODE_MODULES = (records,)
    SPEC = ComponentSpec(
        inputs={"model": Input("Model"), "examples": Input("Examples")},
        outputs={"adversarial_examples": "AdversarialExamples"},
        parameters={
            "attack": Parameter((str, dict), "fgsm"),
            "splits": Parameter(str, "train,eval", subset_of("train", "eval")),
            "batch_size": Parameter(int, DEFAULT_BATCH_SIZE, at_least(1)),
            "seed": Parameter(int, 0, at_least(0)),
            "runner": Parameter(str, "local", one_of(*RUNNERS)),
            "beam_options": Parameter(list, [], flag_list()),
        },
    )
    EXECUTOR = AttackGenExecutor

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.parameters["attack"] = attack_config(self.id, self.parameters["attack"], self.parameters["seed"])
