"""The attack / defense study's pipeline and its profiles.

ingest -> base CNN, adversarial training vs FGSM and vs PGD, Gaussian-noise models (after the
first conv, between the dense layers), a contrastive latent model, models trained with input noise
(sigma 0.12, 0.25) -> evaluations -> the paper's tables -> 1-NN in the latent space -> FGSM examples
of the base model -> certificates of the smoothed noise models -> report beside the paper.
"""

import dataclasses

from kerasadv.components.attack_gen import AttackGen
from kerasadv.components.certifier import Certifier
from kerasadv.components.evaluator import Evaluator
from kerasadv.components.example_gen import ImageExampleGen
from kerasadv.components.trainer import Trainer
from kerasadv.orchestration import Pipeline
from kerasadv.pipelines.attack_defense_study.certified import CertifiedRobustness
from kerasadv.pipelines.attack_defense_study.components import AttackDefenseReport, AttackDefenseTables, LatentSpace
from kerasadv.pipelines.attack_defense_study.paper import TABLE1_EPS, TABLE2_EPS
from kerasadv.training.defaults import NO_LABEL_SMOOTHING


@dataclasses.dataclass(frozen=True)
class Profile:
    num_train: int
    num_eval: int
    epochs: int  # the base model, and the noise and contrastive models unless they start from it
    at_epochs: int  # the adversarially trained models
    pgd_steps: int  # of PGD adversarial training (the paper does not say; Madry et al.: 7)
    robust_examples: int  # eval images attacked live (Tables 1 and 2)
    latent_examples: int
    dropout: float  # rate of both dropout layers (the paper does not give it)
    batch_size: int = None  # None: base_cnn's training defaults (batch 128, one-cycle SGD 0.1)
    learning_rate: float = None
    certify_examples: int = 100  # eval images certified per smoothed model
    certify_n: int = 1_000  # noise samples of each certificate's estimate (n0 = 100 select the class)
    # True: every other model (adversarial training, noise layers, input noise, contrastive) fine-tunes
    # the trained base model (`models.warm_start` where a noise layer is added) for `at_epochs` /
    # `defense_epochs` at `fine_tune_learning_rate`; False: each trains from scratch for `epochs`.
    from_base: bool = False
    defense_epochs: int = None  # the noise and contrastive models' epochs from the base (None: epochs)
    fine_tune_learning_rate: float = None  # None: learning_rate


HEADING = "attack / defense study"
PROFILE_HELP = "Data sizes, epochs, attacked images."
PROFILES = {
    "ci": Profile(600, 100, 1, 1, 2, 50, 50, 0.2, 32, 0.01, certify_examples=4, certify_n=100, from_base=True),
    # benchmarks/gpu_suite.sh --smoke: every component runs once on the fewest images it takes (seconds).
    "smoke": Profile(100, 20, 1, 1, 1, 10, 20, 0.2, 32, 0.01, certify_examples=1, certify_n=10),
    # The paper profile's design in a shorter run (21 minutes on 2 cores of an Intel Xeon with AMX): all
    # 50,000 training images, the base CNN with its recipe's one-cycle schedule over 6 epochs (81.44 %),
    # every other model fine-tuned from it for 1 epoch (PGD-2 adversarial training), all 10,000 test
    # images with 500 attacked live.
    "quick": Profile(
        None,
        None,
        6,
        1,
        2,
        500,
        1000,
        0.3,
        from_base=True,
        defense_epochs=1,
        fine_tune_learning_rate=0.01,
    ),
    "full": Profile(None, None, 60, 30, 7, 10000, 10000, 0.5, certify_examples=500, certify_n=100_000),
    # All 50,000 training images; the base CNN with its measured recipe (28 one-cycle epochs, dropout
    # 0.3: 87.29 % in 40 minutes on 2 cores), every other model fine-tuned from it. Planned at about
    # 85 minutes on 2 cores (base 42; PGD-3 AT 2 epochs about 12, FGSM AT 6, five defenses 2 epochs
    # each about 18; evaluations and certificates about 10); not yet run.
    "paper": Profile(
        None,
        None,
        28,
        2,
        3,
        1000,
        1000,
        0.3,
        certify_examples=100,
        certify_n=1_000,
        from_base=True,
        defense_epochs=2,
        fine_tune_learning_rate=0.01,
    ),
}
AT_EPS = 8 / 255
NOISE_STDDEV = 0.05
INPUT_NOISE = {"input_noise_012": 0.12, "input_noise_025": 0.25}
"""The models trained with Gaussian noise on their inputs (randomized smoothing's training), by sigma."""


def live_attacks(eps_values):
    """FGSM and PGD-10 (random start) at each eps: the Evaluator's live attacks."""
    fgsm = [{"class_name": "FGSM", "config": {"eps": e}} for e in eps_values]
    pgd = [{"class_name": "PGD", "config": {"eps": e, "steps": 10}} for e in eps_values]
    return fgsm + pgd


def _recipe(name, pgd_steps):
    if name == "fgsm":
        return {"class_name": "fgsm", "config": {"attack": {"class_name": "FGSM", "config": {"eps": AT_EPS}}}}
    attack = {"class_name": "PGD", "config": {"eps": AT_EPS, "steps": pgd_steps}}
    return {"class_name": "pgd", "config": {"attack": attack}}


def _trainers(p, examples, seed, dtype_policy):
    """The studied models by role (the keys of the tables' inputs), and the contrastive model."""

    def trainer(cid, epochs, adversarial_training="none", base=None, **options):
        fine_tune = {} if base is None else {"base_model": base}
        return Trainer(
            component_id=cid,
            examples=examples,
            model="base_cnn",
            model_options={"dropout": p.dropout, **options},
            epochs=epochs,
            batch_size=p.batch_size,
            learning_rate=p.learning_rate if base is None else (p.fine_tune_learning_rate or p.learning_rate),
            adversarial_training=adversarial_training,
            dtype_policy=dtype_policy,
            seed=seed,
            training_options=NO_LABEL_SMOOTHING,  # FGSM / PGD read its gradients
            **fine_tune,
        )

    trainers = {"baseline": trainer("BaseTrainer", p.epochs)}
    base = trainers["baseline"].outputs["model"] if p.from_base else None
    at = dict(epochs=p.at_epochs, base=base)
    defense = dict(epochs=(p.defense_epochs or p.epochs) if p.from_base else p.epochs, base=base)
    noise = {"noise_stddev": NOISE_STDDEV, "noise_seed": seed}
    trainers["fgsm_trained"] = trainer("FGSMTrainer", adversarial_training=_recipe("fgsm", p.pgd_steps), **at)
    trainers["pgd_trained"] = trainer("PGDTrainer", adversarial_training=_recipe("pgd", p.pgd_steps), **at)
    trainers["noise_first_conv"] = trainer("NoiseConvTrainer", **defense, **noise)
    trainers["noise_dense"] = trainer("NoiseDenseTrainer", noise_position="dense", **defense, **noise)
    for role, sigma in INPUT_NOISE.items():
        recipe = {"class_name": "gaussian_augmentation", "config": {"sigma": sigma}}
        trainers[role] = trainer(f"InputNoise{role[-3:]}Trainer", adversarial_training=recipe, **defense)
    return trainers, trainer("ContrastiveTrainer", adversarial_training="contrastive", **defense)


def _certifiers(p, trainers, examples, seed):
    """Certifiers of the smoothed models: input-noise ones at their sigma, feature-noise ones at 0.05."""
    sigmas = {**INPUT_NOISE, "noise_first_conv": NOISE_STDDEV, "noise_dense": NOISE_STDDEV}
    return {
        role: Certifier(
            component_id=f"Certify_{role}",
            model=trainers[role].outputs["model"],
            examples=examples,
            sigma=sigma,
            n0=100,
            n=p.certify_n,
            alpha=0.001,
            num_examples=p.certify_examples,
            seed=seed,
        )
        for role, sigma in sigmas.items()
    }


def create_pipeline(source, profile, pipeline_root, dtype_policy="auto", seed=0, rerun=(), enable_cache=True):
    """Builds the attack / defense study for a profile name (arguments and result: `study_cli`'s contract)."""
    p = PROFILES[profile]
    gen = ImageExampleGen(source=source, num_train=p.num_train, num_eval=p.num_eval, seed=seed)
    examples = gen.outputs["examples"]
    trainers, contrastive = _trainers(p, examples, seed, dtype_policy)
    base_model = trainers["baseline"].outputs["model"]
    attacks_of = {"baseline": live_attacks(TABLE1_EPS), "fgsm_trained": live_attacks(TABLE2_EPS)}
    attacks_of["pgd_trained"] = attacks_of["fgsm_trained"]
    sweep = ",".join(str(e) for e in (0.0, *TABLE1_EPS))
    evaluators = {
        name: Evaluator(
            component_id=f"Evaluate_{name}",
            model=t.outputs["model"],
            examples=examples,
            attacks=attacks_of.get(name, []),
            robust_examples=p.robust_examples,
            self_check_examples=0,
            eps_sweep=sweep,
            seed=seed,
        )
        for name, t in trainers.items()
        if name not in INPUT_NOISE
    }
    tables = AttackDefenseTables(**{name: e.outputs["evaluation"] for name, e in evaluators.items()})
    certifiers = _certifiers(p, trainers, examples, seed)
    certified = CertifiedRobustness(**{role: c.outputs["certification"] for role, c in certifiers.items()})
    latent = LatentSpace(
        model=contrastive.outputs["model"],
        reference_model=base_model,
        examples=examples,
        num_examples=p.latent_examples,
        seed=seed,
    )
    attack = {"class_name": "FGSM", "config": {"eps": 0.05}}
    fgsm = AttackGen(model=base_model, examples=examples, attack=attack, splits="eval", seed=seed)
    report = AttackDefenseReport(
        model=base_model,
        examples=examples,
        adversarial_examples=fgsm.outputs["adversarial_examples"],
        tables=tables.outputs["analysis"],
        latent=latent.outputs["analysis"],
        certified=certified.outputs["analysis"],
        profile=profile,
    )
    components = [gen, *trainers.values(), contrastive, *evaluators.values(), tables, latent, fgsm]
    components += [*certifiers.values(), certified, report]
    return Pipeline("attack_defense_study", pipeline_root, components, enable_cache=enable_cache, rerun=rerun)
