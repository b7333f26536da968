"""How battles become training labels: the two choices that router constructors take and the
training label builders implement, named once below both (`routers.embedding`,
`routers.mf`, `training.tables`, `training.pair_labels`).

`TIES`, how a tie counts (the embedding routers' `ties` parameter):
    "half"  a tie is half a win for each side: soft label P(a wins) = 0.5 (Chatbot Arena's
            and RouteLLM's `compute_elo_mle_with_tie` convention); soft labels from the
            source (AlpacaEval's weighted annotators) are used as they are.
    "drop"  tie rows are left out of training (and counted in the report).

`SCHEMES`, which battles a router learns from and with what label (the MF router's `labels`
parameter); `routellm_py.training.pair_labels` defines and builds each.
"""

TIES = ("half", "drop")
SCHEMES = ("all", "pair", "gap", "difficulty", "task-difficulty")
