"""Certifier: Model + Examples + smoothing parameters -> Certification (randomized smoothing, L2 certificates)."""

import time

from kerasadv import certify, io
from kerasadv.certify import accuracy, bounds, sampling, smoothed, split
from kerasadv.evaluation.engine import RUNNERS
from kerasadv.orchestration import BaseComponent, BaseExecutor, ComponentSpec, Input, Parameter, writer
from kerasadv.orchestration.component import Rule, above, at_least, flag_list, matches, one_of
from kerasadv.orchestration.executor import output
from kerasadv.reporting import Sections, plots

PROTOCOL = ("sigma", "n0", "n", "alpha", "batch_size", "seed", "split", "num_examples", "skip", "runner")
"""The parameters certification.json records beside the results."""

CURVE_POINTS = 101
"""Radii of the certified-accuracy curve, from 0 to the certificate's ceiling."""


def _note(result, abstained):
    """What the table does not say by itself: the protocol, the ceiling of a radius, the abstentions."""
    first = result["num_examples"] or "all"
    return (
        f"Randomized smoothing (Cohen et al., 2019) of {result['certified_examples']} {result['split']} images "
        f"(every {result['skip']}-th of the first {first}), sigma {result['sigma']:g}, n0 = {result['n0']}, "
        f"n = {result['n']}, alpha = {result['alpha']:g}, model dtype {result['dtype']}: certified accuracy at r is "
        "the share classified correctly with a certified L2 radius >= r. No radius can exceed "
        f"sigma * Phi^-1(alpha^(1/n)) = {result['max_radius']:.3f} (all n samples in the top class). The smoothed "
        f"classifier abstained on {abstained} of them (counted as wrong at every radius)."
    )


class CertifierExecutor(BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        p, out, examples = exec_properties, output(output_dict), input_dict["examples"]
        path, safe_mode = io.model_artifact_file(input_dict["model"])
        print(f"  certifying {p['split']!r} with sigma {p['sigma']:g}, n = {p['n']} ({p['runner']} runner)", flush=True)
        start = time.perf_counter()
        result = split.certify_split(
            path,
            examples.uri,
            p["split"],
            p["sigma"],
            n0=p["n0"],
            n=p["n"],
            alpha=p["alpha"],
            num_examples=p["num_examples"],
            skip=p["skip"],
            batch_size=p["batch_size"],
            seed=p["seed"],
            runner=p["runner"],
            beam_options=p["beam_options"],
            safe_mode=safe_mode,
        )
        seconds = time.perf_counter() - start
        table = split.certification_table(result)
        by_radius = certify.certified_accuracy(result, result["labels"])
        abstained = int((table["prediction"] == certify.ABSTAIN).sum())
        sections = Sections(out, Certifier.findings(p, input_dict))
        sections.table(
            "certified_accuracy", "Certified accuracy (randomized smoothing, L2)", by_radius, _note(result, abstained)
        )
        curve = certify.certified_accuracy_curve(result, result["labels"], result["max_radius"], CURVE_POINTS)
        title = f"Certified accuracy, sigma {p['sigma']:g}"
        figure = plots.line_plot(
            {None: (curve["radius"], curve["certified_accuracy"], "-")},
            out.path("certified_accuracy.png"),
            "L2 radius",
            "certified accuracy",
            title,
        )
        sections.plot(
            figure, title, f"Up to the ceiling {result['max_radius']:.3f}; per-image rows in certification.csv."
        )
        sections.update(split.accuracy_findings(by_radius, p["finding_prefix"]))
        summary = {
            **{k: result[k] for k in PROTOCOL},
            "certified_examples": result["certified_examples"],
            "dtype": result["dtype"],
            "max_radius": result["max_radius"],
            "clean_accuracy": float(by_radius["certified_accuracy"].iloc[0]),
            "abstention_rate": split.abstention_rate(result),
            "abstained": abstained,
            "certified_accuracy": dict(zip((f"{r:g}" for r in by_radius["radius"]), by_radius["certified_accuracy"])),
            "seconds": seconds,
            "seconds_per_example": seconds / max(result["certified_examples"], 1),
        }
        writer.write_json(summary, out.path("certification.json"))
        sections.csv("certification", table)
        sections.save()
        out.properties.update(
            sigma=p["sigma"],
            certified_examples=result["certified_examples"],
            max_radius=result["max_radius"],
            certified_accuracy=summary["certified_accuracy"],
            abstention_rate=summary["abstention_rate"],
            model_uri=input_dict["model"].uri,
        )


class Certifier(BaseComponent):
    """Certifies a model's smoothed classifier on a split: per-example L2 certificates and certified accuracy.

    Randomized smoothing (Cohen, Rosenfeld & Kolter, 2019; `kerasadv.certify.Smoothed`, as
    locuslab/smoothing `code/certify.py` runs it): each image's class under Gaussian noise is
    guessed from `n0` samples, counted in `n` fresh ones, and certified within the L2 radius
    sigma * Phi^-1(p_lower), or abstained from where the lower confidence bound is below 1/2. The
    model should have been trained with noise at this sigma (the "gaussian_augmentation"
    recipe). Writes `certification.csv` (one row per image: `kerasadv.certify.split.COLUMNS`),
    `certification.json` (the protocol, the model's dtype, the radius ceiling, clean accuracy of
    the smoothed classifier, abstention rate, wall time) and report sections: the certified
    accuracy at `kerasadv.certify.RADII` and its curve. Findings:
    `<finding_prefix>certified_accuracy_r<r>` for r in 0, 0.25, 0.5, 0.75, 1 (`{r:g}`).

    Args:
        model: the Model (its own dtype policy is the precision certified).
        examples: the Examples.
        sigma: noise standard deviation in pixel units of [0, 1] images (> 0).
        n0: noise samples that select each image's class.
        n: noise samples that estimate its probability (the radius ceiling grows with n).
        alpha: failure probability of each certificate, in (0, 1).
        num_examples: certify among the first this many images of the split (0: all).
        skip: certify every skip-th of them (the reference's `--skip`), so a subset spans the split.
        split: the split certified ("eval").
        batch_size: noise draws per forward pass (memory is one such batch).
        seed: seed of the noise; an image's draws depend only on it and its index in the split.
        runner: "local" (this process, with a progress bar) or "beam" (`kerasadv.beam.batch_rows`:
            chunks of images over Beam workers, each building its smoothed classifier once; the
            same certificates as locally, only the wall times differ).
        beam_options: Beam pipeline flags for runner="beam".
        finding_prefix: prefixed to the finding keys, to tell several Certifiers apart in one study.

    Raises:
        SpecError: at construction, for a bad parameter.
        CertificationError: at execution, when the runner returns another number of certified
            images than it read (nothing is recorded).

    Example:
    >>> from kerasadv.components.example_gen import ImageExampleGen
    >>> from kerasadv.components.trainer import Trainer
    >>> gen = ImageExampleGen(source="fashion_mnist")
    >>> train = Trainer(examples=gen.outputs["examples"], adversarial_training="gaussian_augmentation")
    >>> certifier = Certifier(model=train.outputs["model"], examples=gen.outputs["examples"], sigma=0.25,
    ...                       finding_prefix="sigma025_")
    >>> Certifier.findings(certifier.parameters, certifier.inputs)[:2]
    ['sigma025_certified_accuracy_r0', 'sigma025_certified_accuracy_r0.25']
    """

    CODE_MODULES = (split, smoothed, sampling, bounds, accuracy)
    SPEC = ComponentSpec(
        inputs={"model": Input("Model"), "examples": Input("Examples")},
        outputs={"certification": "Certification"},
        parameters={
            "sigma": Parameter(float, rule=above(0)),
            "n0": Parameter(int, 100, at_least(1)),
            "n": Parameter(int, 100_000, at_least(1)),
            "alpha": Parameter(float, 0.001, Rule("in (0, 1)", lambda v: 0 < v < 1)),
            "num_examples": Parameter(int, 100, at_least(0)),
            "skip": Parameter(int, 1, at_least(1)),
            "split": Parameter(str, "eval", one_of("train", "eval")),
            "batch_size": Parameter(int, 1000, at_least(1)),
            "seed": Parameter(int, 0, at_least(0)),
            "runner": Parameter(str, "local", one_of(*RUNNERS)),
            "beam_options": Parameter(list, [], flag_list()),
            "finding_prefix": Parameter(str, "", matches(r"[A-Za-z0-9_]*", "letters, digits and underscores")),
        },
    )
    EXECUTOR = CertifierExecutor

    @staticmethod
    def findings(parameters, inputs):
        """The certified accuracy at each of `certify.RADII` (`certify.split.finding_key`)."""
        return [split.finding_key(r, parameters["finding_prefix"]) for r in certify.RADII]
