"""Print docs/results.md's claims table from finished run directories.

    python tools/claims_table.py runs/chicken-4p runs/chicken-2p ...

Each verdict's rule is in ``fairlead.experiments.claims``.
"""

import sys

from fairlead.experiments.claims import claims_table

if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python tools/claims_table.py RUN_DIR [RUN_DIR ...]")
    print(claims_table(sys.argv[1:]))
