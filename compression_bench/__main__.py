import sys

from compression_bench.cli import main

sys.exit(main())
