"""Trainer: Examples (+ AdversarialExamples for retraining, + a base Model) -> Model (.keras)."""

import dataclasses
import hashlib
import inspect
import json

import keras

from kerasadv import callbacks, io, models, training
from kerasadv.configs import recipe_config
from kerasadv.data import tfrecords
from kerasadv.orchestration import BaseComponent, BaseExecutor, ComponentSpec, Input, Parameter, SpecError
from kerasadv.orchestration.component import above, at_least, one_of


def train_dataset(examples_uri, batch_size, seed, adversarial_uri=None):
    """The batches the Trainer fits on: examples reshuffled every epoch (not batches), held in memory
    where they fit (`data.load.IN_MEMORY_LIMIT`).

    Args:
        examples_uri: the Examples artifact's directory (its `train` split).
        batch_size: batch size.
        seed: shuffle seed.
        adversarial_uri: optional AdversarialExamples directory whose `train` split is mixed in.

    Returns:
        `(dataset, num_examples)`.
    """
    train_ds = tfrecords.read_split(examples_uri, "train", batch_size, shuffle_seed=seed, in_memory="auto")
    num_train = tfrecords.read_schema(examples_uri)["splits"]["train"]
    if adversarial_uri is None:
        return train_ds, num_train
    adv_ds = tfrecords.read_split(adversarial_uri, "train", batch_size, shuffle_seed=seed + 1, in_memory="auto")
    num_adv = tfrecords.read_schema(adversarial_uri)["splits"]["train"]
    mixed = training.mix_datasets(train_ds, adv_ds, batch_size, seed=seed, sizes=(num_train, num_adv))
    return mixed, num_train + num_adv


class TrainerExecutor(BaseExecutor):
    @staticmethod
    def compiled_model(input_dict, p, schema, config, options, steps_per_epoch, policy):
        """The classifier (built with the builder `options`, or the base model) in the recipe's wrapper, compiled."""

        def built():
            return models.build(p["model"], schema["image_shape"], len(schema["class_names"]), **options)

        if "base_model" not in input_dict:
            classifier = built()
        else:  # the base itself, or a variant of it (e.g. with a noise layer) starting from its weights
            base = io.load_model_artifact(input_dict["base_model"])
            classifier = models.warm_start(built(), base) if p["model_options"] else base
        classifier = training.with_dtype_policy(classifier, policy)  # saved as float32 again
        model = training.wrap(classifier, p["adversarial_training"], config.batch_size)
        if model is classifier and p["strategy"] == "multi_worker":  # plain Keras fit fails there
            model = training.TrainingWrapper(classifier)
        optimizer = config.make_optimizer(steps_per_epoch * config.epochs)
        return training.compile_classifier(model, optimizer, config.label_smoothing, config.steps_per_execution)

    @staticmethod
    def eps_schedule(model, warmup_epochs):
        """`[EpsilonSchedule]` ramping the recipe's radius from eps / n to eps over n epochs (n = 0: [])."""
        if not warmup_epochs:
            return []
        eps = float(model.attack_eps.numpy())
        return [callbacks.EpsilonSchedule(callbacks.linear_ramp(eps / warmup_epochs, eps, warmup_epochs))]

    def Do(self, input_dict, output_dict, exec_properties):
        p, examples = exec_properties, input_dict["examples"]
        keras.utils.set_random_seed(p["seed"])
        schema = tfrecords.read_schema(examples.uri)
        config = training.training_defaults(
            p["model"],
            epochs=p["epochs"],
            batch_size=p["batch_size"],
            learning_rate=p["learning_rate"],
            **p["training_options"],
        )
        adversarial = input_dict.get("adversarial_examples")  # retraining on clean + pre-generated
        train_ds, num_train = train_dataset(
            examples.uri, config.batch_size, p["seed"], adversarial.uri if adversarial is not None else None
        )
        eval_ds = tfrecords.read_split(examples.uri, "eval", config.batch_size, in_memory="auto")
        strategy = training.get_strategy(p["strategy"])
        options = {**config.model_options, **p["model_options"]}  # the recipe's, then the caller's
        choice = training.resolve_dtype_policy(
            p["dtype_policy"], p["model"], options, schema["image_shape"], config.batch_size
        )
        with strategy.scope():  # the model's and the optimizer's variables live on the strategy's devices
            steps_per_epoch = -(-num_train // config.batch_size)
            model = self.compiled_model(input_dict, p, schema, config, options, steps_per_epoch, choice.policy)
        if p["strategy"] == "multi_worker":  # each worker keeps its share of every global batch
            train_ds, eval_ds = training.global_batches(train_ds), training.global_batches(eval_ds)
        out = output_dict["model"]
        schedule = self.eps_schedule(model, p["eps_warmup_epochs"])
        metrics = training.fit_classifier(
            model,
            train_ds,
            eval_ds,
            config,
            out.uri,
            num_train,
            p["seed"],
            verbose=2,
            callbacks=schedule,
            extra_metrics={"model": p["model"], "dtype_policy": choice.as_dict()},
        )
        out.properties.update(
            model=p["model"],
            model_options=options,
            eval_accuracy=metrics["test_accuracy"],
            adversarial_training=p["adversarial_training"],
            retrained=adversarial is not None,
            dtype_policy=choice.policy,
            dtype_policy_reason=choice.reason,
            strategy=p["strategy"],
            replicas=model.distribute_strategy.num_replicas_in_sync,
            file="model.keras",
        )


class Trainer(BaseComponent):
    """Trains a model builder (or fine-tunes `base_model`) with optional adversarial training.

    Args:
        examples: Examples (train / eval splits).
        adversarial_examples: optional AdversarialExamples whose train split is mixed in.
        base_model: optional Model to start from.
        model: builder name (`kerasadv.models.BUILDERS`).
        model_options: keyword arguments of that builder, e.g. `{"width": 16}` for a
            quarter-width `resnet18`, over those of the model's `training.TrainingDefaults`. With
            `base_model`: empty fine-tunes the base model itself; options build that variant of
            the builder's model (e.g. a noise layer added), which starts from the base's weights
            (`models.warm_start`).
        epochs, batch_size, learning_rate: override the model's training defaults.
        adversarial_training: the training recipe: "none", a name of
            `kerasadv.training.RECIPE_NAMES` (fgsm, pgd, fast, free, advprop, contrastive) or a
            config dict / JSON text `{"class_name": "AdversarialModel", "config": {"attack":
            {...}, "adv_ratio": 1.0}}`; stored as the full config.
        seed: random seed (also the recipe attack's seed when its config leaves it unset).
        dtype_policy: "auto" (bfloat16 where the hardware computes it natively and the model
            family trains faster in it: `training.choose_dtype_policy`), "float32" or
            "mixed_bfloat16": training (and the recipe's attack steps) compute in bfloat16 with
            float32 master weights, images and perturbations; the saved model computes in
            float32. The policy used and why are the Model artifact's `dtype_policy` and
            `dtype_policy_reason` properties.
        strategy: the `tf.distribute` strategy (`kerasadv.training.get_strategy`): "default",
            "mirrored" (all local devices) or "multi_worker" (`MultiWorkerMirroredStrategy` over
            the cluster in `TF_CONFIG`: every worker runs the same pipeline, each with its own
            pipeline root, and the program makes the strategy first). `batch_size` is the global
            batch; a mixed adversarial batch (adv_ratio < 1) is mixed within each replica's part.
        training_options: other fields of the model's `training.TrainingDefaults` to override:
            `optimizer` ("adam" / "sgd"), `schedule` ("constant", "cosine", "warmup_cosine", "one_cycle"),
            `weight_decay`, `flip`, `crop_padding`, `cutout`, `label_smoothing`, `steps_per_execution`.
        eps_warmup_epochs: the recipe attack's radius ramps linearly from eps / n to eps over
            the first n epochs (`callbacks.EpsilonSchedule`); 0: eps from the start.
    """

    SPEC = ComponentSpec(
        inputs={
            "examples": Input("Examples"),
            "adversarial_examples": Input("AdversarialExamples", optional=True),
            "base_model": Input("Model", optional=True),
        },
        outputs={"model": "Model"},
        parameters={
            "model": Parameter(str, "simple_cnn"),
            "model_options": Parameter(dict, {}),
            "epochs": Parameter(int, 1, at_least(1)),
            "batch_size": Parameter(int, None, at_least(1)),
            "learning_rate": Parameter(float, None, above(0)),
            "adversarial_training": Parameter((str, dict), "none"),
            "seed": Parameter(int, 0, at_least(0)),
            "dtype_policy": Parameter(str, "auto", one_of("auto", *training.POLICIES)),
            "strategy": Parameter(str, "default", one_of(*training.STRATEGIES)),
            "eps_warmup_epochs": Parameter(int, 0, at_least(0)),
            "training_options": Parameter(dict, {}),
        },
    )
    EXECUTOR = TrainerExecutor
    CODE_MODULES = (inspect.getmodule(training.augment), training.baseline)  # what turns a recipe into steps
    OPTIONS = {"optimizer": ("adam", "sgd"), "schedule": training.SCHEDULES, "weight_decay": float}
    OPTIONS.update(flip=bool, crop_padding=int, cutout=int, label_smoothing=float, steps_per_execution=int)

    def _check_training_options(self):
        options = self.parameters["training_options"]
        for name, value in options.items():
            expected = self.OPTIONS.get(name)
            if expected is None:
                raise SpecError(f"{self.id}: training_options {options!r}: expected keys among {sorted(self.OPTIONS)}.")
            if isinstance(expected, tuple):
                valid, wanted = value in expected, f"one of {list(expected)}"
            else:
                types = (int, float) if expected is float else expected
                valid = isinstance(value, types) and not (expected is not bool and isinstance(value, bool))
                valid, wanted = valid and (expected is bool or value >= 0), f"a {expected.__name__} >= 0"
            if not valid:
                raise SpecError(f"{self.id}: training_options {options!r}: {name} expected {wanted}, got {value!r}.")

    def cache_key(self, input_fingerprints):
        """As every component's, with the model's `training.TrainingDefaults` in it (all but `measured`): a
        recipe change trains again, a re-measured figure does not; so does a change of the code that
        augments and trains (`CODE_MODULES`)."""
        recipe = dataclasses.asdict(training.training_defaults(self.parameters["model"]))
        recipe.pop("measured")
        key = super().cache_key(input_fingerprints)
        return hashlib.sha256(json.dumps([key, recipe], sort_keys=True, default=str).encode()).hexdigest()

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.parameters["adversarial_training"] = recipe_config(
            self.id, self.parameters["adversarial_training"], self.parameters["seed"]
        )
        recipe = self.parameters["adversarial_training"]
        if self.parameters["eps_warmup_epochs"] and not (recipe and recipe["config"].get("attack")):
            raise SpecError(
                f"{self.id}: eps_warmup_epochs={self.parameters['eps_warmup_epochs']} ramps a recipe's attack "
                f"radius, but the recipe {recipe and recipe['class_name']!r} has no attack; expected 0 or an "
                "adversarial recipe."
            )
        self._check_training_options()
        if self.parameters["model"] not in models.BUILDERS:
            raise SpecError(
                f"{self.id}: unknown model {self.parameters['model']!r}; expected one of {sorted(models.BUILDERS)}."
            )
        builder = models.BUILDERS[self.parameters["model"]]
        accepted = [n for n in inspect.signature(builder).parameters if n not in ("input_shape", "num_classes")]
        unknown = sorted(set(self.parameters["model_options"]) - set(accepted))
        if unknown:
            raise SpecError(
                f"{self.id}: model_options {self.parameters['model_options']!r} name {unknown}, not options "
                f"of model {self.parameters['model']!r}; expected some of {accepted}."
            )
