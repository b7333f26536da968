"""Router model strings: `router-<name>-<threshold>`, `router-<name>-s<strong fraction>` or
`router-<name>-b<strong fraction>`.

The name may itself contain `-` (checkpoint names such as `bert-large`), so the string is
parsed from the right: the last `-` separates the name from the threshold part.
Examples: `router-mf-0.116` (route strong iff win rate >= 0.116), `router-mf-s0.3`
(the threshold that sends 30% of calls strong on the calibration prompts), `router-mf-b0.3`
(a budget: the threshold adapts online so that 30% of the live calls go strong;
`routellm_py.policy.budget`).

N-way (the controller's `models` list): `router-<name>-nway-lambda<lambda>` (the model with
the best estimated quality - lambda x expected USD; lambda >= 0, quality per dollar),
`router-<name>-nway-t<t>` (the cheapest model whose estimated chance of matching the best
is >= t, t in [0, 1]); see `routellm_py.policy.nway`; or `router-<name>-nway-usd<dollars>`
(a dollar budget: lambda adapts online so that the expected spend is <dollars> USD per
1,000 requests, e.g. `router-mf-nway-usd2.5` = $2.50 per 1,000; `routellm_py.policy.spend`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from routellm_py.errors import RoutingError

PREFIX = "router-"
# ASCII digits only: `\d` and float() also take other scripts' digits ("router-random-١").
_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
NWAY_SUFFIX = "-nway"
NWAY_POLICIES = ("lambda", "t", "usd")
# "mf-1e" of "mf-1e-3" (also "mf-b1e", "mf-nway-usd1e", ...)
_EXPONENT_TAIL = re.compile(
    r"-(?:[sb]|nway-(?:lambda|t|usd))?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE]$"
)


@dataclass(frozen=True)
class RouteSpec:
    """A parsed routing target: a router plus one of a threshold, a strong-call fraction
    (calibrated once) or a budget (a strong-call fraction held online)."""

    router: str
    threshold: float | None = None
    strong_fraction: float | None = None
    budget: float | None = None
    policy: str | None = None  # N-way: "lambda", "t" or "usd" (USD per 1,000 requests)
    policy_param: float | None = None


def check_unit_interval(value: object, what: str, param: str = "model") -> float:
    """`value` as a float in [0, 1], or a RoutingError naming `what`."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float | str)
        or (isinstance(value, str) and not _NUMBER.fullmatch(value.strip()))
    ):
        raise RoutingError(f"{what} must be a number in [0, 1], got {value!r}", param=param)
    try:
        f = float(value)
    except ValueError:
        raise RoutingError(
            f"{what} must be a number in [0, 1], got {value!r}", param=param
        ) from None
    if math.isnan(f) or not 0.0 <= f <= 1.0:
        raise RoutingError(f"{what} must be in [0, 1], got {value!r}", param=param)
    return f


def parse_model_string(model: str) -> RouteSpec:
    """Parse `router-<name>-<threshold>` / `router-<name>-s<fraction>` (from the right)."""
    usage = (
        "use router-<name>-<threshold>, e.g. router-mf-0.116, "
        "router-<name>-s<strong fraction>, e.g. router-mf-s0.3, "
        "or router-<name>-b<strong fraction held online>, e.g. router-mf-b0.3"
    )
    if not isinstance(model, str):
        raise RoutingError(f"model must be a string; {usage}", param="model")
    if not model.startswith(PREFIX):
        raise RoutingError(f"model {model!r} is not a router model string; {usage}", param="model")
    body = model[len(PREFIX) :]
    name, sep, value = body.rpartition("-")
    if not sep or not name or not value:
        raise RoutingError(
            f"model {model!r} lacks a router name or a threshold; {usage}", param="model"
        )
    if name.endswith(NWAY_SUFFIX) and value.startswith(NWAY_POLICIES):
        return _parse_nway(model, name.removesuffix(NWAY_SUFFIX), value)
    if _EXPONENT_TAIL.search(name):
        raise RoutingError(
            f"model {model!r}: write the threshold as a plain decimal (0.001, not 1e-3)",
            param="model",
        )
    if name.endswith("-"):
        raise RoutingError(
            f"model {model!r}: threshold looks negative; thresholds are in [0, 1]", param="model"
        )
    kind = value[0].lower() if value[0] in "sSbB" else ""
    number = value[len(kind) :]
    if not _NUMBER.fullmatch(number):
        raise RoutingError(
            f"model {model!r}: {value!r} is not a threshold in [0, 1] "
            f"(plain decimals only, no exponents); {usage}",
            param="model",
        )
    if kind == "s":
        frac = check_unit_interval(number, f"strong fraction in model {model!r}")
        return RouteSpec(name, strong_fraction=frac)
    if kind == "b":
        frac = check_unit_interval(number, f"budget (strong fraction) in model {model!r}")
        return RouteSpec(name, budget=frac)
    return RouteSpec(name, threshold=check_unit_interval(number, f"threshold in model {model!r}"))


def _parse_nway(model: str, name: str, value: str) -> RouteSpec:
    """`lambda<number >= 0>`, `t<number in [0, 1]>` or `usd<number > 0>` of
    `router-<name>-nway-...`."""
    policy = next(p for p in NWAY_POLICIES if value.startswith(p))
    number = value[len(policy) :]
    if not name or not _NUMBER.fullmatch(number) or (policy == "usd" and not float(number) > 0):
        raise RoutingError(
            f"model {model!r}: use router-<name>-nway-lambda<lambda >= 0> (e.g. "
            "router-mf-nway-lambda1000), router-<name>-nway-t<t in [0, 1]> (e.g. "
            "router-mf-nway-t0.9) or router-<name>-nway-usd<USD per 1,000 requests > 0> "
            "(e.g. router-mf-nway-usd2.5), plain decimals",
            param="model",
        )
    t = policy == "t"
    param = check_unit_interval(number, f"t in model {model!r}") if t else float(number)
    return RouteSpec(name, policy=policy, policy_param=param)
