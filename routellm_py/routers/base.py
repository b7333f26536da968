"""The `Router` contract, the name registry and the checkpoint format.

A router maps prompts to P(strong model beats weak model) (RouteLLM §3, the
win-prediction model P_theta(win_strong | q)). A threshold alpha turns that into
a decision: strong iff win_rate >= alpha.

A checkpoint is a directory:
    config.json   {"router", "format_version", "library_version", "params", "provenance", ...}
    *.safetensors / *.npz   weights (never pickle)
    provenance.npz          training-prompt digests and embeddings (`routers.provenance`)
    README.md     model card

Loading treats a checkpoint as untrusted input: every malformed one raises `CheckpointError`,
weights holding NaN are refused, files it names must lie inside it, and one whose encoder is
an embedding API (it would send every prompt there) loads only with `allow_remote_encoder`.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np

from routellm_py._util import (
    ALLOW_REMOTE_ENV,
    CARD_FILE,
    CONFIG_FILE,
    HUB_PREFIX,
    ROUTERS_ENV,
    CheckpointError,
    atomic_write,
)
from routellm_py._version import __version__
from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK, canonical_model
from routellm_py.routers.provenance import (
    PROMPTS_FILE,
    PromptRecord,
    attach_checkpoint_record,
    recording_fit,
)

if TYPE_CHECKING:
    from routellm_py.routers.calibration import Calibrator

FORMAT_VERSION = 1
QUANTILES_FILE = "win_rate_quantiles.json"  # `calibration.WinRateQuantiles`; not a weight
# Third-party routers: `[project.entry-points."routellm_py.routers"] NAME = "pkg.mod:Class"`.
ENTRY_POINT_GROUP = "routellm_py.routers"
# Installed package that holds the shipped checkpoints (the repository's `routers/`).
CHECKPOINT_PACKAGE = "routellm_py_checkpoints"
_CHUNK = 1 << 24  # elements per NaN check, so a large tensor is scanned in bounded memory

_REGISTRY: dict[str, type[Router]] = {}
# Modules that define built-in routers; imported lazily so `import routellm_py` stays light.
_BUILTIN_MODULES = {
    "random": "routellm_py.routers.random",
    "length": "routellm_py.routers.length",
    "sw_ranking": "routellm_py.routers.sw_ranking",
    "mf": "routellm_py.routers.mf",
    "bert": "routellm_py.routers.bert",
    "causal_llm": "routellm_py.routers.causal_llm",
    "quality_gap": "routellm_py.routers.quality_gap",
    "routellm_causal_llm": "routellm_py.compat.routellm_causal",
}

R = TypeVar("R", bound="Router")


def register(name: str) -> Callable[[type[R]], type[R]]:
    """Class decorator: make a Router subclass available as `name`."""

    def wrap(cls: type[R]) -> type[R]:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"router name {name!r} is already registered to {_REGISTRY[name]}")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return wrap


def available_routers() -> list[str]:
    """Every router name that `get_router_class` accepts (built-ins, registered classes and
    the entry points of installed packages)."""
    return sorted(set(_REGISTRY) | set(_BUILTIN_MODULES) | set(_entry_points()))


def get_router_class(name: str) -> type[Router]:
    """Look a router class up by registry name; unknown names list the valid ones.

    Order: classes already registered, the built-in modules, then the entry-point group
    `routellm_py.routers` of installed packages (name = router name, value = the class)."""
    if name not in _REGISTRY and name in _BUILTIN_MODULES:
        import importlib

        importlib.import_module(_BUILTIN_MODULES[name])
    if name not in _REGISTRY and name in _entry_points():
        _load_entry_point(_entry_points()[name])
    if name not in _REGISTRY:
        raise KeyError(f"unknown router {name!r}; valid routers: {', '.join(available_routers())}")
    return _REGISTRY[name]


def _entry_points() -> dict[str, Any]:
    """Installed third-party routers: entry points of the group `ENTRY_POINT_GROUP`."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _load_entry_point(ep: Any) -> None:
    """Import a third-party router and register it under its entry-point name."""
    try:
        cls = ep.load()
    except Exception as e:  # a broken plug-in names itself, and the fix
        raise ImportError(
            f"router {ep.name!r} from entry point {ep.value!r} (group {ENTRY_POINT_GROUP}) "
            f"failed to import: {e}; fix or uninstall the package that provides it"
        ) from e
    if not (isinstance(cls, type) and issubclass(cls, Router)):
        raise TypeError(
            f"entry point {ep.name} = {ep.value!r} (group {ENTRY_POINT_GROUP}) must name a "
            f"routellm_py Router subclass, got {cls!r}"
        )
    if _REGISTRY.get(ep.name) is not cls:
        if cls in _REGISTRY.values() and cls.name != ep.name:
            raise ValueError(
                f"entry point {ep.name!r} names {cls.__qualname__}, registered as {cls.name!r}; "
                "make the entry-point name and the @register name the same"
            )
        register(ep.name)(cls)


def known_model(model: str, known: Collection[str], router: str) -> str:
    """The alias-canonical name of `model` if the router `router` knows it (is in `known`);
    else a ValueError listing the models it was trained on."""
    m = canonical_model(model)
    if m not in known:
        raise ValueError(
            f"unknown model {model!r} for this {router} router; known models (the "
            f"{len(known)} models it was trained on): {sorted(known)}"
        )
    return m


def validate_prompts(prompts: Sequence[str]) -> list[str]:
    """Check a batch of prompts at the boundary: a non-empty list of non-empty strings."""
    if isinstance(prompts, str):
        raise TypeError("prompts must be a list of strings, not one string; wrap it: [prompt]")
    prompts = list(prompts)
    if not prompts:
        raise ValueError("prompts is empty; pass at least one prompt")
    for i, p in enumerate(prompts):
        if not isinstance(p, str):
            raise TypeError(f"prompts[{i}] is {type(p).__name__}, expected str")
        if not p.strip():
            raise ValueError(f"prompts[{i}] is empty or whitespace; every prompt needs text")
    return prompts


def validate_threshold(threshold: float) -> float:
    """A routing threshold is a probability in [0, 1]."""
    t = float(threshold)
    if not 0.0 <= t <= 1.0 or np.isnan(t):
        raise ValueError(f"threshold must be in [0, 1], got {threshold!r}")
    return t


def with_keywords(
    init: Callable[..., Any], keywords: Sequence[inspect.Parameter]
) -> inspect.Signature:
    """The signature of a constructor that hands shared parameters on to its base class
    through `**kwargs`: `init`'s own parameters, then `keywords` (keyword-only) in place of
    `**kwargs`. Set as `__init__.__signature__`, it is what `get_params`, `save` and
    `routellm-py train` read, so shared parameters stay plain constructor keywords."""
    sig = inspect.signature(init)
    own = [p for p in sig.parameters.values() if p.kind is not p.VAR_KEYWORD]
    return sig.replace(parameters=[*own, *(p.replace(kind=p.KEYWORD_ONLY) for p in keywords)])


class Router(ABC):
    """Base class: subclasses implement `_win_rate` and, if trainable, `fit` and the state I/O.

    Constructor arguments are plain parameters (scikit-learn style) and are what
    `config.json` stores under "params"; learned state goes to weight files.
    """

    name: ClassVar[str] = "base"
    trainable: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Every subclass's `fit` records its training provenance (`routers.provenance`)."""
        super().__init_subclass__(**kwargs)
        if "fit" in cls.__dict__:
            cls.fit = recording_fit(cls.__dict__["fit"])  # type: ignore[method-assign]

    def __init__(self, strong_model: str = DEFAULT_STRONG, weak_model: str = DEFAULT_WEAK) -> None:
        self.strong_model = canonical_model(strong_model)
        self.weak_model = canonical_model(weak_model)
        self.provenance: dict[str, Any] = {}
        self.checkpoint_dir: Path | None = None
        self.calibrator: Calibrator | None = None  # `calibration.json` of the checkpoint
        self.prompt_record: PromptRecord | None = None  # training-prompt digests, from fit

    # ---- scoring -------------------------------------------------------------------------
    @abstractmethod
    def _win_rate(self, prompts: list[str]) -> np.ndarray:
        """P(strong wins) for validated prompts, shape (len(prompts),)."""

    def win_rate(self, prompts: Sequence[str], raw: bool = False) -> np.ndarray:
        """P(strong beats weak) for each prompt, batched; values in [0, 1]. Calibrated when
        the checkpoint has a calibrator (`routers.calibration`), unless `raw`."""
        prompts = validate_prompts(prompts)
        out = np.asarray(self._win_rate(prompts), dtype=np.float64).reshape(-1)
        if out.shape != (len(prompts),):
            raise RuntimeError(f"{self.name}: got {out.shape} win rates for {len(prompts)}")
        if not np.all(np.isfinite(out)) or out.min() < 0.0 or out.max() > 1.0:
            raise RuntimeError(f"{self.name}: win rates outside [0, 1]")
        return out if raw or self.calibrator is None else self.calibrator(out)

    def route_batch(self, prompts: Sequence[str], threshold: float) -> list[str]:
        """'strong' where win_rate >= threshold, else 'weak' (RouteLLM §3, R^alpha)."""
        t = validate_threshold(threshold)
        return ["strong" if w >= t else "weak" for w in self.win_rate(prompts)]

    def route(self, prompt: str, threshold: float) -> str:
        """Single-prompt wrapper of `route_batch`."""
        return self.route_batch([prompt], threshold)[0]

    def model_scores(self, prompts: Sequence[str], models: Sequence[str]) -> np.ndarray:
        """Per-model scores, shape (n_prompts, n_models), for routers that have them (N-way)."""
        raise NotImplementedError(
            f"router {self.name!r} has no per-model scores; it only ranks "
            f"{self.strong_model!r} against {self.weak_model!r}"
        )

    # ---- training ------------------------------------------------------------------------
    def fit(self: R, battles: Any, **kwargs: Any) -> R:
        """Learn from a `Battles` table; returns self."""
        raise NotImplementedError(f"router {self.name!r} is not trainable")

    # ---- parameters ----------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """Constructor parameters by name (scikit-learn's contract), JSON-serialisable."""
        sig = inspect.signature(type(self).__init__)
        return {
            k: getattr(self, k)
            for k, p in sig.parameters.items()
            if k != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        }

    # ---- checkpoints ---------------------------------------------------------------------
    def _save_state(self, directory: Path) -> None:
        """Write learned state (safetensors/npz) into `directory`. Stateless routers skip."""

    def _load_state(self, directory: Path) -> None:
        """Read learned state written by `_save_state`."""

    def model_card(self) -> str:
        """Markdown for the checkpoint's README.md; subclasses may extend it."""
        prov = json.dumps(self.provenance, indent=2, default=str)
        return (
            f"# {self.name} router\n\nStrong model: `{self.strong_model}`  \n"
            f"Weak model: `{self.weak_model}`\n\n## Parameters\n```json\n"
            f"{json.dumps(self.get_params(), indent=2, default=str)}\n```\n\n"
            f"## Training data provenance\n```json\n{prov}\n```\n"
        )

    def save(self, directory: str | Path, card: str | None = None) -> Path:
        """Write config.json, weights and a model card; the write is atomic per file."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        self._save_state(d)
        if self.prompt_record is not None:
            self.prompt_record.save(d)
        elif (d / PROMPTS_FILE).is_file():  # not this router's: never leave another's digests
            (d / PROMPTS_FILE).unlink()
        config = {
            "router": self.name,
            "format_version": FORMAT_VERSION,
            "library_version": __version__,
            "params": self.get_params(),
            "provenance": self.provenance,
        }
        atomic_write(d / CONFIG_FILE, json.dumps(config, indent=2, default=str) + "\n")
        atomic_write(d / CARD_FILE, card if card is not None else self.model_card())
        self.checkpoint_dir = d
        return d

    @classmethod
    def load(
        cls: type[R],
        directory: str | Path,
        allow_remote_encoder: bool | None = None,
        **overrides: Any,
    ) -> R:
        """Rebuild a router saved by `save`; the config must name this router class.

        `overrides` replace saved constructor parameters that only change how the weights
        are run, e.g. `dtype="bfloat16"` or `device_map="auto"` for a causal-LM router.
        A checkpoint whose encoder is an embedding API needs `allow_remote_encoder=True`
        (or `$ROUTELLM_PY_ALLOW_REMOTE_ENCODER=1`): it would send every prompt to that API."""
        d = Path(directory)
        config = read_config(d)
        if cls is not Router and config["router"] != cls.name:
            raise CheckpointError(
                f"{d} holds a {config['router']!r} router, not {cls.name!r}; "
                "use routellm_py.load_router to load any router"
            )
        params = {**config["params"], **overrides}
        check_encoder_is_local(d, params.get("encoder"), allow_remote_encoder)
        router_cls = get_router_class(config["router"]) if cls is Router else cls
        try:
            router = router_cls(**params)
        except (TypeError, ValueError) as e:
            raise CheckpointError(
                f"{d / CONFIG_FILE}: params do not fit {router_cls}"
                + (f" (with overrides {sorted(overrides)})" if overrides else "")
                + f": {e}"
            ) from e
        router.provenance = config.get("provenance", {})
        attach_checkpoint_record(router, d)
        check_weights(d)
        from routellm_py.routers.calibration import read_calibrator

        try:
            router._load_state(d)
            router.calibrator = read_calibrator(d)
        except (ImportError, MemoryError, CheckpointError):
            raise
        except Exception as e:  # any other failure reading the state is a malformed checkpoint
            raise CheckpointError(
                f"{d}: weights are missing or corrupt ({type(e).__name__}: {e})"
            ) from e
        router.checkpoint_dir = d
        return router  # type: ignore[return-value]

    def fingerprint(self) -> str:
        """A stable id of this router's config and weights, for score caches."""
        h = hashlib.sha256(self.name.encode())
        h.update(json.dumps(self.get_params(), sort_keys=True, default=str).encode())
        if self.checkpoint_dir is not None:
            for f in sorted(self.checkpoint_dir.iterdir()):
                # weights and config; the training-prompt record and the quantiles change no score
                if f.suffix in {".safetensors", ".npz", ".json"} and f.name not in (
                    PROMPTS_FILE,
                    QUANTILES_FILE,
                ):
                    h.update(f.name.encode())
                    h.update(f.read_bytes())
        elif self.trainable:
            # Unsaved learned state cannot be hashed generically: never share its cache.
            h.update(self.__dict__.setdefault("_unsaved_token", secrets.token_bytes(16)))
        return h.hexdigest()[:16]


def read_config(directory: Path) -> dict[str, Any]:
    """Read and check a checkpoint's config.json."""
    path = directory / CONFIG_FILE
    if not directory.is_dir():
        raise CheckpointError(f"checkpoint directory {directory} does not exist")
    if not path.is_file():
        raise CheckpointError(f"{directory} is not a router checkpoint: no {CONFIG_FILE}")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path} is not valid JSON: {e}") from e
    if not isinstance(config, dict):
        raise CheckpointError(f"{path} must hold a JSON object, not {type(config).__name__}")
    missing = {"router", "format_version", "params"} - set(config)
    if missing:
        raise CheckpointError(f"{path} lacks keys {sorted(missing)}")
    for key, kind in (("router", str), ("format_version", int), ("params", dict)):
        if not isinstance(config[key], kind) or isinstance(config[key], bool):
            raise CheckpointError(
                f"{path}: {key!r} must be a {kind.__name__}, got {config[key]!r:.80}"
            )
    if config["format_version"] > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has format_version {config['format_version']}; this routellm-py reads "
            f"up to {FORMAT_VERSION}. Upgrade routellm-py."
        )
    return config


def check_encoder_is_local(directory: Path, spec: Any, allow: bool | None) -> None:
    """Refuse a checkpoint whose encoder spec sends prompts to an embedding API, unless
    allowed (argument, else `$ROUTELLM_PY_ALLOW_REMOTE_ENCODER`)."""
    from routellm_py.embeddings.encoders import is_remote_spec

    if spec is not None and not isinstance(spec, str):
        raise CheckpointError(f"{directory}: encoder must be a spec string, got {spec!r:.80}")
    if allow is None:
        allow = os.environ.get(ALLOW_REMOTE_ENV, "").strip().lower() in ("1", "true", "yes")
    if is_remote_spec(spec) and not allow:
        raise CheckpointError(
            f"{directory}: its encoder {spec!r} is an embedding API, so routing would send "
            "every prompt to it. Load it only if you trust it: allow_remote_encoder=True "
            f"(or {ALLOW_REMOTE_ENV}=1)"
        )


def checkpoint_file(directory: Path, name: Any) -> Path:
    """`directory / name` for a file a checkpoint names, refused unless it stays inside the
    directory (no absolute path, no `..`, no symlink out)."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise CheckpointError(f"{directory}: bad file name {name!r:.80} in the checkpoint")
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts:
        raise CheckpointError(f"{directory}: file {name!r} lies outside the checkpoint")
    path = directory / rel
    if not path.resolve().is_relative_to(directory.resolve()):
        raise CheckpointError(f"{directory}: file {name!r} links outside the checkpoint")
    return path


def check_weights(directory: Path) -> None:
    """Parse every safetensors file of the checkpoint (top level and one folder down) and
    refuse a malformed header or a float tensor holding NaN."""
    for path in sorted([*directory.glob("*.safetensors"), *directory.glob("*/*.safetensors")]):
        name = _nan_tensor(path)
        if name is not None:
            raise CheckpointError(
                f"{path}: tensor {name!r} holds NaN; the checkpoint is corrupt (a diverged "
                "training run?). Retrain or restore it"
            )


_FLOATS = {"F16": np.float16, "F32": np.float32, "F64": np.float64, "BF16": np.uint16}


def _nan_tensor(path: Path) -> str | None:
    """The first float tensor holding NaN in a safetensors file, else None (format: 8-byte
    little-endian header length, JSON header of dtype/shape/data_offsets, raw data)."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        n = int.from_bytes(fh.read(8), "little")
        if size < 8 or n > size - 8:
            raise CheckpointError(f"{path}: truncated safetensors file")
        try:
            header = json.loads(fh.read(n))
        except ValueError as e:
            raise CheckpointError(f"{path}: unreadable safetensors header") from e
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: unreadable safetensors header")
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n) if size > 8 + n else b""
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            begin, end = (int(x) for x in info["data_offsets"])
            dtype = info["dtype"]
        except (TypeError, KeyError, ValueError) as e:
            raise CheckpointError(f"{path}: tensor {name!r} has a malformed entry") from e
        if not 0 <= begin <= end <= len(data):
            raise CheckpointError(f"{path}: tensor {name!r} lies outside the file")
        if dtype not in _FLOATS:
            continue
        if (end - begin) % np.dtype(_FLOATS[dtype]).itemsize:
            raise CheckpointError(f"{path}: tensor {name!r} has a partial {dtype} element")
        step = _CHUNK * np.dtype(_FLOATS[dtype]).itemsize
        for start in range(begin, end, step):
            v = np.frombuffer(data[start : min(start + step, end)], dtype=_FLOATS[dtype])
            # bfloat16 NaN: exponent bits all set and a non-zero mantissa.
            bad = ((v & 0x7F80) == 0x7F80) & ((v & 0x7F) != 0) if dtype == "BF16" else np.isnan(v)
            if bad.any():
                return name
    return None


def checkpoint_roots() -> list[Path]:
    """Where checkpoint names are looked up, in order: the directories in
    `$ROUTELLM_PY_ROUTERS` (os.pathsep-separated) if it is set, and only those; else the
    `routers/` of a source checkout, then the shipped checkpoints of the installed package
    `routellm_py_checkpoints`."""
    import importlib.util
    import os

    env = os.environ.get(ROUTERS_ENV)
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    roots = []
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "routers").is_dir():
        roots.append(checkout / "routers")
    spec = importlib.util.find_spec(CHECKPOINT_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        roots.extend(Path(p) for p in spec.submodule_search_locations)
    return roots


def find_checkpoint(name: str) -> Path | None:
    """The first `ROOT/name` holding a config.json, over `checkpoint_roots()`."""
    for root in checkpoint_roots():
        if (root / name / CONFIG_FILE).is_file():
            return root / name
    return None


def load_router(path_or_name: str | Path, **params: Any) -> Router:
    """The one loader. Resolution, first match wins:

    1. a `Path`, an existing directory or a string with "/" that is not `hf:`: a checkpoint path;
    2. `hf:OWNER/NAME` or `hf:OWNER/NAME@REVISION` (or `revision=`): a Hugging Face Hub
       repository, fetched into the hub cache (`routellm_py.hub`);
    3. a checkpoint name under `checkpoint_roots()` (e.g. "mf");
    4. a registry name of an untrained router (e.g. "random"), built with `params`.

    For a checkpoint, `params` override its saved ones (see `Router.load`)."""
    spec = str(path_or_name)
    if not isinstance(path_or_name, Path) and spec.startswith(HUB_PREFIX):
        from routellm_py.hub import download_router

        return Router.load(download_router(spec, revision=params.pop("revision", None)), **params)
    p = Path(path_or_name)
    if p.is_dir() or isinstance(path_or_name, Path) or "/" in spec:
        if not p.exists() and spec.count("/") == 1 and not spec.startswith((".", "/")):
            raise CheckpointError(
                f"checkpoint directory {p} does not exist; for a Hugging Face Hub "
                f"repository write {HUB_PREFIX}{spec}"
            )
        return Router.load(p, **params)
    ckpt = find_checkpoint(spec)
    if ckpt is not None:
        return Router.load(ckpt, **params)
    cls = get_router_class(spec)
    if cls.trainable:
        searched = ", ".join(str(r) for r in checkpoint_roots()) or "(no checkpoint root)"
        raise CheckpointError(
            f"router {spec!r} needs a trained checkpoint, and none named {spec!r} is in "
            f"{searched}. Train one: routellm-py train {spec} --out DIR, then pass DIR, "
            "or put it under $ROUTELLM_PY_ROUTERS"
        )
    return cls(**params)
