"""Components: a spec (inputs, outputs, typed parameters) and an executor, as in TFX.

    class AttackGen(BaseComponent):
        SPEC = ComponentSpec(
            inputs={"model": Input("Model"), "examples": Input("Examples")},
            outputs={"adversarial_examples": "AdversarialExamples"},
            parameters={"attack": Parameter(str, "fgsm"), "eps": Parameter(float, 0.03)})
        EXECUTOR = AttackGenExecutor

Constructing a component validates everything (unknown parameter, wrong type, missing or
mistyped input) before any component runs.
"""

import dataclasses
import hashlib
import inspect
import json
import re

from kerasadv.errors import KerasAdvError
from kerasadv.orchestration.artifacts import ARTIFACT_TYPES


class SpecError(KerasAdvError):
    """A component was given an unknown, missing or mistyped parameter or input."""


_MISSING = object()


@dataclasses.dataclass(frozen=True)
class Rule:
    """A range rule of a parameter: `test(value)` is True for good values, `expected` says which.

    Example:
    >>> at_least(1).test(0), at_least(1).expected
    (False, '>= 1')
    """

    expected: str
    test: object


def at_least(low):
    return Rule(f">= {low}", lambda v: v >= low)


def above(low):
    return Rule(f"> {low}", lambda v: v > low)


def between(low, high):
    return Rule(f"in [{low}, {high}]", lambda v: low <= v <= high)


def one_of(*choices):
    return Rule(f"one of {list(choices)}", lambda v: v in choices)


def matches(pattern, expected):
    return Rule(expected, lambda v: re.fullmatch(pattern, v) is not None)


def number_list(low, high):
    """Comma-separated numbers in [low, high] ("0.0,0.01,0.03")."""

    def test(text):
        try:
            values = [float(part) for part in text.split(",")]
        except ValueError:
            return False
        return all(low <= v <= high for v in values)

    return Rule(f"comma-separated numbers in [{low}, {high}]", test)


def subset_of(*choices):
    """Comma-separated, non-empty subset of `choices` ("train,eval")."""
    return Rule(
        f"comma-separated names among {list(choices)}",
        lambda text: bool(text) and all(part in choices for part in text.split(",")),
    )


def flag_list():
    """A list of command-line flags, each a string starting with "--" (Beam pipeline options)."""
    return Rule(
        'a list of flags like "--direct_num_workers=2"',
        lambda flags: all(isinstance(flag, str) and flag.startswith("--") for flag in flags),
    )


@dataclasses.dataclass(frozen=True)
class Parameter:
    """A typed execution property; `default=_MISSING` makes it required; `rule` checks its range."""

    type: object
    default: object = _MISSING
    rule: Rule = None

    def check(self, component, name, value):
        if value is None and self.default is None:  # None is allowed where it is the default
            return None
        types = self.type if isinstance(self.type, tuple) else (self.type,)
        if float in types and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            expected = " or ".join(t.__name__ for t in types)
            raise SpecError(
                f"{component}: parameter {name!r} must be {expected}, got {value!r} ({type(value).__name__})."
            )
        if isinstance(value, float) and value != value:
            raise SpecError(f"{component}: parameter {name!r} must be a number, got nan.")
        if self.rule is not None and not self.rule.test(value):
            raise SpecError(f"{component}: parameter {name!r} must be {self.rule.expected}, got {value!r}.")
        return value


@dataclasses.dataclass(frozen=True)
class Input:
    """An input channel of an artifact type (or a tuple of types); optional inputs may be left out."""

    type_name: str
    optional: bool = False


@dataclasses.dataclass(frozen=True)
class ComponentSpec:
    inputs: dict
    outputs: dict
    parameters: dict


@dataclasses.dataclass(frozen=True)
class Channel:
    """An output of a component, to be passed as another component's input."""

    producer: object
    name: str
    type_name: str


class BaseComponent:
    """A pipeline step: subclasses set `SPEC` and `EXECUTOR` (a class with `Do`).

    Args:
        component_id: unique name in the pipeline (default: the class name).
        enable_cache: False re-runs this component on every run; the components it feeds keep
            their cache (their inputs' fingerprints are unchanged). `Pipeline(rerun=[ids])`
            re-runs a step and everything that follows it.
        **kwargs: inputs (`Channel`s from other components' `outputs`) and parameters.
    """

    SPEC = ComponentSpec({}, {}, {})
    EXECUTOR = None
    CODE_MODULES = ()
    """Library modules whose code decides the outputs (hashed into the cache key beside the component's own)."""

    def __init__(self, component_id=None, enable_cache=True, **kwargs):
        self.id = component_id or type(self).__name__
        self.enable_cache = enable_cache
        spec = self.SPEC
        unknown = set(kwargs) - set(spec.inputs) - set(spec.parameters)
        if unknown:
            raise SpecError(
                f"{self.id}: unknown argument(s) {sorted(unknown)}; expected inputs "
                f"{sorted(spec.inputs)} and parameters {sorted(spec.parameters)}."
            )
        self.inputs = {}
        for name, channel_spec in spec.inputs.items():
            channel = kwargs.get(name)
            if channel is None:
                if not channel_spec.optional:
                    raise SpecError(f"{self.id}: missing input {name!r} ({channel_spec.type_name}).")
                continue
            allowed = channel_spec.type_name if isinstance(channel_spec.type_name, tuple) else (channel_spec.type_name,)
            if not isinstance(channel, Channel) or channel.type_name not in allowed:
                got = channel.type_name if isinstance(channel, Channel) else type(channel).__name__
                raise SpecError(
                    f"{self.id}: input {name!r} must be a {' or '.join(allowed)} "
                    f"channel (another component's output), got {got}."
                )
            self.inputs[name] = channel
        self.parameters = {}
        for name, parameter in spec.parameters.items():
            if name not in kwargs and parameter.default is _MISSING:
                raise SpecError(f"{self.id}: missing required parameter {name!r}.")
            value = kwargs.get(name, parameter.default)
            self.parameters[name] = parameter.check(self.id, name, value)
        for name, type_name in spec.outputs.items():
            if type_name not in ARTIFACT_TYPES:
                raise SpecError(
                    f"{type(self).__name__}: output {name!r} has type {type_name!r}; "
                    f"expected one of {sorted(ARTIFACT_TYPES)}."
                )
        self.outputs = {name: Channel(self, name, t) for name, t in spec.outputs.items()}

    @property
    def upstream(self):
        return [channel.producer for channel in self.inputs.values()]

    def code_fingerprint(self):
        """Hash of the component's, executor's and `CODE_MODULES`' source, so a code change re-runs the step."""
        sources = [inspect.getsource(inspect.getmodule(type(self)))]
        if self.EXECUTOR is not None:
            sources.append(inspect.getsource(inspect.getmodule(self.EXECUTOR)))
        sources.extend(inspect.getsource(module) for module in self.CODE_MODULES)
        return hashlib.sha256("".join(sources).encode()).hexdigest()

    def cache_key(self, input_fingerprints):
        """Content hash of type, parameters, input fingerprints and code."""
        payload = json.dumps(
            {
                "type": type(self).__name__,
                "parameters": self.parameters,
                "inputs": input_fingerprints,
                "code": self.code_fingerprint(),
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(payload.encode()).hexdigest()
