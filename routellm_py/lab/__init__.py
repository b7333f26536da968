"""The lab's pipelines: code that loads or builds whole routers to train, calibrate or
record them from a data spec. It stands above the routers, the training loops and the
benchmark harness, and below the command line; serving never imports it.

`routellm_py.training` holds only what a router's `fit` calls (loops, label builders,
training tables) and imports nothing from `routellm_py.routers`; code that imports a
router class or `load_router` to drive training or calibration belongs here.
"""
