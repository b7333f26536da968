"""Browser pages for routers and the server: a playground (win rates and decisions for
your prompts), the benchmark curves of the last `bench` run, and a live dashboard of a
running server. Static files in `static/` (uPlot vendored, MIT; no CDN), mounted at
`/ui` by `server.create_app` (`app.mount_ui`); `routellm-py ui` serves them without
upstream models."""
