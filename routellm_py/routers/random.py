"""The random router: win rate ~ U(0, 1), the baseline every router must beat."""

from __future__ import annotations

import numpy as np

from routellm_py._util import text_uniform
from routellm_py.data.aliases import DEFAULT_STRONG, DEFAULT_WEAK
from routellm_py.routers.base import Router, register


@register("random")
class RandomRouter(Router):
    """Uniform win rates. With `seed` set, a prompt always gets the same value
    (the seed and the prompt text are hashed), so results do not depend on batching."""

    trainable = False

    def __init__(
        self,
        strong_model: str = DEFAULT_STRONG,
        weak_model: str = DEFAULT_WEAK,
        seed: int | None = 0,
    ) -> None:
        super().__init__(strong_model, weak_model)
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def _win_rate(self, prompts: list[str]) -> np.ndarray:
        if self.seed is None:
            return self._rng.random(len(prompts))
        return np.array([text_uniform(p, self.seed) for p in prompts])
