"""Trainer: Examples (+ AdversarialExamples for retraining, + a base Model) -> Model (.keras)."""

import keras

from kerasadv import attacks, models, training
from kerasadv.data import tfrecords
from kerasadv.orchestration import BaseComponent, ComponentSpec, Input, Parameter, SpecError

AT_VARIANTS = ("none", "fgsm", "pgd", "fast", "free")


def _wrap(classifier, variant, eps, batch_size, seed):
    if variant == "fgsm":
        return training.AdversarialModel(classifier, attacks.FGSM(eps), adv_ratio=0.5)
    if variant == "pgd":
        return training.AdversarialModel(classifier, training.pgd_at_attack(eps, seed=seed), 1.0)
    if variant == "fast":
        return training.AdversarialModel(classifier, training.fast_at_attack(eps, seed=seed), 1.0)
    if variant == "free":
        return training.FreeAdversarialModel(classifier, eps, replays=4, batch_size=batch_size)
    return classifier


class TrainerExecutor:
    def Do(self, input_dict, output_dict, exec_properties):
        p, examples = exec_properties, input_dict["examples"]
        keras.utils.set_random_seed(p["seed"])
        schema = tfrecords.read_schema(examples.uri)
        config = training.training_defaults(p["model"], epochs=p["epochs"], batch_size=p["batch_size"],
                                            learning_rate=p["learning_rate"])
        train_ds = tfrecords.read_split(examples.uri, "train", config.batch_size)
        train_ds = train_ds.shuffle(64, seed=p["seed"])  # batch order; examples were shuffled at ingest
        num_train = schema["splits"]["train"]
        adversarial = input_dict.get("adversarial_examples")
        if adversarial is not None:  # retraining on clean + pre-generated adversarial examples
            adv_ds = tfrecords.read_split(adversarial.uri, "train", config.batch_size)
            train_ds = training.mix_datasets(train_ds, adv_ds, config.batch_size, seed=p["seed"])
            num_train += tfrecords.read_schema(adversarial.uri)["splits"]["train"]
        eval_ds = tfrecords.read_split(examples.uri, "eval", config.batch_size)
        if "base_model" in input_dict:
            classifier = keras.saving.load_model(input_dict["base_model"].path("model.keras"))
        else:
            classifier = models.build(p["model"], schema["image_shape"], len(schema["class_names"]))
        model = _wrap(classifier, p["adversarial_training"], p["eps"], config.batch_size, p["seed"])
        steps = -(-num_train // config.batch_size) * config.epochs
        training.compile_classifier(model, config.make_optimizer(steps))
        out = output_dict["model"]
        metrics = training.fit_classifier(model, train_ds, eval_ds, config, out.uri, num_train, p["seed"],
                                          verbose=2, extra_metrics={"model": p["model"]})
        out.properties.update(model=p["model"], eval_accuracy=metrics["test_accuracy"],
                              adversarial_training=p["adversarial_training"], retrained=adversarial is not None,
                              file="model.keras")


class Trainer(BaseComponent):
    """Trains a model builder (or fine-tunes `base_model`) with optional adversarial training.

    Args:
        examples: Examples (train / eval splits).
        adversarial_examples: optional AdversarialExamples whose train split is mixed in.
        base_model: optional Model to start from.
        model: builder name (`kerasadv.models.BUILDERS`).
        epochs, batch_size, learning_rate: override the model's training defaults.
        adversarial_training: one of "none", "fgsm", "pgd", "fast", "free".
        eps: Linf radius of adversarial training.
        seed: random seed.
    """

    SPEC = ComponentSpec(
        inputs={"examples": Input("Examples"),
                "adversarial_examples": Input("AdversarialExamples", optional=True),
                "base_model": Input("Model", optional=True)},
        outputs={"model": "Model"},
        parameters={"model": Parameter(str, "simple_cnn"), "epochs": Parameter(int, 1),
                    "batch_size": Parameter(int, None), "learning_rate": Parameter(float, None),
                    "adversarial_training": Parameter(str, "none"), "eps": Parameter(float, 0.03),
                    "seed": Parameter(int, 0)})
    EXECUTOR = TrainerExecutor

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if self.parameters["adversarial_training"] not in AT_VARIANTS:
            raise SpecError(f"{self.id}: adversarial_training must be one of {AT_VARIANTS}, "
                            f"got {self.parameters['adversarial_training']!r}.")
        if self.parameters["model"] not in models.BUILDERS:
            raise SpecError(f"{self.id}: unknown model {self.parameters['model']!r}; expected one of {sorted(models.BUILDERS)}.")
