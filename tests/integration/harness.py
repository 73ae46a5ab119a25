"""What the integration suites share: the report that ends each run."""
import sys


def report(failures):
    """Lists what failed, then exits 1 if anything did, 0 otherwise."""
    for what in failures:
        print("FAIL " + what)
    print("%d failed" % len(failures))
    sys.exit(1 if failures else 0)
