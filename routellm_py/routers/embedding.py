"""Base class of the embedding routers (SW ranking, MF): the encoder, the text policy, the
state files and the model card. Their training tables live in `routellm_py.training.tables`;
how ties count (`ties`, a constructor parameter of both routers) is `routellm_py.label_schemes`.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import numpy as np

from routellm_py._util import atomic_path, atomic_write
from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK
from routellm_py.embeddings.encoders import DEFAULT_SPEC, Encoder, get_encoder
from routellm_py.embeddings.text_policy import DEFAULT_POLICY, TextPolicy, parse_policy
from routellm_py.label_schemes import TIES
from routellm_py.routers.base import CheckpointError, Router, with_keywords


class EmbeddingRouter(Router):
    """A router that scores prompts from their embedding under `encoder` (a `get_encoder`
    spec) of the text chosen by `text_policy` (a `text_policy.parse_policy` spec). The
    checkpoint records the encoder config and the policy (with its learned prefixes);
    loading checks the encoder still matches, and a checkpoint without a policy loads with
    the `head` policy it was trained with."""

    state_name: str = "embedding"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass's `__init__` ends in `**embedding` (handed to this class's): its
        signature is completed with `encoder`, `ties` and `text_policy` at their defaults."""
        super().__init_subclass__(**kwargs)
        if "__init__" in vars(cls):
            params = inspect.signature(EmbeddingRouter.__init__).parameters.values()
            shared = [p for p in params if p.name not in ("self", "strong_model", "weak_model")]
            cls.__init__.__signature__ = with_keywords(cls.__init__, shared)

    def __init__(
        self,
        strong_model: str = DEFAULT_STRONG,
        weak_model: str = DEFAULT_WEAK,
        encoder: str = DEFAULT_SPEC,
        ties: str = "half",
        text_policy: str = DEFAULT_POLICY,
    ) -> None:
        super().__init__(strong_model, weak_model)
        if ties not in TIES:
            raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
        self.encoder = encoder
        self.ties = ties
        self.text_policy = text_policy
        self.policy: TextPolicy = parse_policy(text_policy)
        self._encoder: Encoder | None = None
        self.encoder_config: dict[str, Any] | None = None
        self.training_report: dict[str, Any] = {}

    def get_encoder(self) -> Encoder:
        """The encoder object, built on first use."""
        if self._encoder is None:
            self._encoder = get_encoder(self.encoder)
        return self._encoder

    def embed_training(self, prompts: list[str], progress: bool = False) -> np.ndarray:
        """At fit time: learn the text policy's state (shared prefixes, if it strips them)
        from the training prompts, then embed them. The rows are kept for the provenance
        record (`provenance.record_fit`), so recording them embeds no prompt twice."""
        self.policy = self.policy.fit(prompts)
        emb = self.embed(prompts, progress=progress)
        self.fit_embedded = (prompts, emb)
        return emb

    def embed(self, prompts: list[str], progress: bool = False) -> np.ndarray:
        """Prompt embeddings (n, dim), float32, unit rows, of the text the policy selects;
        cached on disk by the encoder."""
        emb = self.policy.embed(self.get_encoder(), prompts, progress=progress)
        if self.encoder_config is not None and emb.shape[1] != self.encoder_config["dim"]:
            raise CheckpointError(
                f"encoder {self.encoder!r} gives dim {emb.shape[1]}, the checkpoint was "
                f"trained with dim {self.encoder_config['dim']}"
            )
        return emb

    def save(self, directory: str | Path, card: str | None = None) -> Path:
        """`Router.save`, with `checkpoint_dir` set first so the card names the real path."""
        self.checkpoint_dir = Path(directory)
        return super().save(directory, card)

    def model_card(self) -> str:
        """The base card plus the training command, encoder and per-source data table."""
        enc = self.encoder_config or {}
        rep = self.training_report
        return (
            super().model_card()
            + f"\n## Training command\n```\n{training_command(self)}\n```\n"
            + f"\n## Encoder\n`{enc.get('spec')}` (id `{enc.get('id')}`, dim {enc.get('dim')}); "
            + f"long prompts are truncated: {enc.get('truncation')}\n"
            + f"\n## Text policy\n`{self.policy.spec}` ({len(self.policy.prefixes)} learned "
            + "shared prefixes; see `routellm_py/embeddings/text_policy.py`)\n"
            + f"\n## Training data used\n{rep.get('n_battles')} battles on {rep.get('n_prompts')} "
            + f"prompts, {rep.get('n_models')} models; ties: `{self.ties}` "
            + "(see `routellm_py/label_schemes.py`).\n\n"
            + data_card(rep)
            + "\n"
        )

    def _require_fitted(self) -> None:
        if self.encoder_config is None:
            raise RuntimeError(f"{self.name} router is not trained: call fit(battles) or load one")

    # ---- state I/O: `<state_name>.json` (strings, report) + `<state_name>.safetensors` -------
    def _write_state(self, directory: Path, tensors: dict[str, np.ndarray], meta: dict) -> None:
        from safetensors.numpy import save_file

        self._require_fitted()
        with atomic_path(directory / f"{self.state_name}.safetensors") as tmp:
            save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(tmp))
        meta = {
            "encoder": self.encoder_config,
            "text_policy": self.policy.to_dict(),
            "training": self.training_report,
            **meta,
        }
        atomic_write(directory / f"{self.state_name}.json", json.dumps(meta, indent=1) + "\n")

    def _read_state(self, directory: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        from safetensors.numpy import load_file

        meta = json.loads((directory / f"{self.state_name}.json").read_text())
        tensors = load_file(str(directory / f"{self.state_name}.safetensors"))
        saved = meta["encoder"]
        self._encoder = get_encoder(self.encoder)
        current = self._encoder.id
        if saved["id"] != current:
            raise CheckpointError(
                f"{directory}: trained with encoder {saved['id']!r}, but spec "
                f"{self.encoder!r} now gives {current!r}; the embeddings would not match"
            )
        self.encoder_config = saved
        self.policy = TextPolicy.from_dict(meta.get("text_policy"))
        if self.policy.spec != self.text_policy:
            raise CheckpointError(
                f"{directory}: weights were trained with text policy {self.policy.spec!r}, "
                f"but the config asks for {self.text_policy!r}"
            )
        self.training_report = meta.get("training", {})
        return tensors, meta


def training_command(router: Router) -> str:
    """The `routellm-py train` call that rebuilds `router` (non-default parameters as flags)."""
    import inspect

    sig = inspect.signature(type(router).__init__)
    flags = []
    for name, value in router.get_params().items():
        default = sig.parameters[name].default
        if name in ("strong_model", "weak_model") or value == default:
            continue
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            flags.append(flag if value else "--no-" + name.replace("_", "-"))
        else:
            flags.append(f"{flag} {value}")
    for model, flag, default in [
        (router.strong_model, "--strong", DEFAULT_STRONG),
        (router.weak_model, "--weak", DEFAULT_WEAK),
    ]:
        if model != default:
            flags.append(f"{flag} '{model}'")
    out = router.checkpoint_dir or f"routers/{router.name}"
    data = router.provenance.get("data", "SOURCES")
    return " ".join([f"routellm-py train {router.name} --data '{data}' --out {out}", *flags])


def data_card(report: dict[str, Any]) -> str:
    """Markdown table: per training source the battles, ties, battles used and the licence."""
    from routellm_py.data.manifest import load_manifest

    datasets = load_manifest()["datasets"]
    lines = ["| source | battles | ties | used | licence |", "|---|---|---|---|---|"]
    note = ""
    for source, row in report.get("per_source", {}).items():
        ds = datasets.get(source.split(":")[0].removesuffix("-gold"), {})
        if source == "alpaca-eval":
            note = "\n\nAlpacaEval data is CC BY-NC 4.0: this checkpoint is for research only."
        lines.append(
            f"| {source} | {row['battles']} | {row['ties']} | {row['used']} | "
            f"{ds.get('license', 'user-supplied')} |"
        )
    return "\n".join(lines) + note
