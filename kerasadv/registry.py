"""`Registry`: configurable values by name, config or JSON text (the shape of `keras.optimizers.get`).

One table of names, each a class and its defaults, so a value configured once travels from a
notebook into a pipeline parameter, a cache key, the lineage and a report. Attacks
(`kerasadv.attacks.get`) and training recipes (`kerasadv.training.get_recipe`) each keep one.
Besides its names a registry finds every class registered with
`keras.saving.register_keras_serializable` that derives from its base, by class name: a user's
own attack class round-trips through `serialize` / `deserialize` once Keras knows it.
"""

import importlib
import json

import keras

_CONFIG_KEYS = {"class_name", "config", "module", "registered_name"}  # the last two: Keras's own form


def _load(target):
    """A class, or the class that "module:Class" names (imported on first use)."""
    if not isinstance(target, str):
        return target
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


class Registry:
    """Names -> (class, defaults), and values built from names, configs and JSON text.

    Args:
        kind: what the registry holds, as messages name it ("attack").
        base: the base class of its values, or "module:Class".
        error: the exception raised for a bad identifier (a `KerasAdvError`).

    Example:
    >>> from kerasadv.attacks import FGSM, Attack
    >>> from kerasadv.errors import AttackInputError
    >>> registry = Registry("attack", Attack, AttackInputError)
    >>> _ = registry.register("small_fgsm", FGSM, eps=0.01)
    >>> registry.get("small_fgsm").eps, registry.get('{"class_name": "small_fgsm", "config": {"eps": 0.1}}').eps
    (0.01, 0.1)
    >>> registry.serialize(FGSM(0.2))["class_name"]
    'FGSM'
    """

    def __init__(self, kind, base, error):
        self.kind, self.error, self._base = kind, error, base
        self._entries = {}

    def register(self, name, target, **defaults):
        """Adds `name`: `target` (a class or "module:Class") built with `defaults` under the given config.

        Returns:
            `target`.
        """
        self._entries[name] = (target, defaults)
        return target

    @property
    def names(self):
        """The registered names, in registration order."""
        return tuple(self._entries)

    @property
    def base(self):
        return _load(self._base)

    def classes(self):
        """Every class the registry builds, by class name: its names' classes, then the subclasses of
        `base` registered with `keras.saving`."""
        found = {}
        for target, _ in self._entries.values():
            cls = _load(target)
            found.setdefault(cls.__name__, cls)
        for cls in keras.saving.get_custom_objects().values():
            if isinstance(cls, type) and issubclass(cls, self.base):
                found.setdefault(cls.__name__, cls)
        return found

    def resolve(self, name):
        """`(class, defaults)` of a registered name or a class name.

        Raises:
            error: an unknown name; the message lists the known ones.
        """
        if name in self._entries:
            target, defaults = self._entries[name]
            return _load(target), dict(defaults)
        classes = self.classes()
        if name in classes:
            return classes[name], {}
        raise self.error(
            f"Unknown {self.kind} {name!r}: expected one of {self.names} or a class name of {sorted(classes)}."
        )

    def parse(self, identifier):
        """`{"class_name": ..., "config": {...}}` of a name, a config dict or its JSON text.

        Raises:
            error: not JSON, not a dict with 'class_name', unknown keys, or another type.
        """
        if isinstance(identifier, str):
            text = identifier.strip()
            if not text.startswith("{"):
                return {"class_name": text, "config": {}}
            try:
                identifier = json.loads(text)
            except json.JSONDecodeError as error:
                raise self.error(f"{self.kind} config is not valid JSON ({error}): {identifier!r}.") from None
        if not isinstance(identifier, dict) or "class_name" not in identifier:
            raise self.error(
                f"{self.kind.capitalize()} identifiers are a name of {self.names}, a config dict with "
                f"'class_name' and 'config', its JSON text or a {self.base.__name__}; "
                f"got {identifier!r} ({type(identifier).__name__})."
            )
        unknown = set(identifier) - _CONFIG_KEYS
        if unknown:
            raise self.error(
                f"unknown key(s) {sorted(unknown)} in {self.kind} config {identifier!r}; "
                "expected 'class_name' and 'config'."
            )
        return {"class_name": identifier["class_name"], "config": dict(identifier.get("config") or {})}

    def complete(self, identifier):
        """`(class, arguments)`: the class an identifier names and its defaults updated by its config."""
        parsed = self.parse(identifier)
        cls, defaults = self.resolve(parsed["class_name"])
        return cls, {**defaults, **parsed["config"]}

    def deserialize(self, config):
        """The value of `{"class_name": NAME, "config": {...}}` (NAME: a registered or a class name).

        A registered name fills in its defaults before the given config.
        """
        cls, arguments = self.complete(config)
        try:
            return cls.from_config(arguments)
        except TypeError as error:
            raise self.error(f"bad config for {cls.__name__}: {error}; got {arguments}.") from None

    def serialize(self, value):
        """`{"class_name": ..., "config": ...}` of a value (JSON-safe when its `get_config` is)."""
        if not isinstance(value, self.base):
            raise self.error(f"serialize takes a {self.base.__name__}, got {type(value).__name__}.")
        return {"class_name": type(value).__name__, "config": value.get_config()}

    def get(self, identifier):
        """A value from an instance (returned as is), a name, a config dict or its JSON text."""
        if isinstance(identifier, self.base):
            return identifier
        return self.deserialize(identifier)
