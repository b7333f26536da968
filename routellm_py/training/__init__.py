"""The lab's training code: loops and label builders that routers call from `fit` (and only
there), never at serving time. Routers own their classes (`routellm_py.routers`); this
package holds the fine-tuning loop (`classifier`), the MF loop (`mf`), one early-stopping
rule (`early_stopping`), battles -> targets (`labels`, `pair_labels`), the embedding routers'
training tables (`tables`) and data-parallel helpers (`distributed`). It imports nothing
from `routellm_py.routers`; pipelines that drive whole routers live in `routellm_py.lab`.

Heavy libraries (torch, transformers) are imported inside functions only.
"""
