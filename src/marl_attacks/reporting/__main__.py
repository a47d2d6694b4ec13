"""``python -m marl_attacks.reporting``: the report's command line (:mod:`.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.argv[0] = "python -m marl_attacks.reporting"  # what argparse shows
    main()
