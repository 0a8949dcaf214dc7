"""python -m rbag_dask: the same as the rbag-dask command."""

import sys

from rbag_dask.cli import main

sys.exit(main())
