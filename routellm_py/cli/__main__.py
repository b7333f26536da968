"""`python -m routellm_py.cli`: the same as the `routellm-py` command."""

import sys

from routellm_py.cli import main

sys.exit(main())
