"""Make the collection importable as ansible_collections.quorum.mongodb from a checkout."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".venv", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "quorum", "mongodb")

if not os.path.exists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    try:
        os.symlink(ROOT, LINK)
    except FileExistsError:  # another pytest-xdist worker made it meanwhile
        pass
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

# CI (CI=true) runs property tests on a fixed sequence of examples, so that a run is
# repeatable; locally every run draws new examples and finds new cases.
try:
    from hypothesis import settings as _hypothesis_settings

    _hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
    if os.environ.get("CI"):
        _hypothesis_settings.load_profile("ci")
except ImportError:  # hypothesis is a test dependency; without it only the property tests fail
    pass


# make test spreads the test files over two pytest-xdist workers (--dist loadfile, one file per
# worker at a time): the molecule scenarios (several minutes, in a pool of their own) go first, so
# that the other worker runs the rest meanwhile and no long file starts last.
FIRST = ("test_molecule_scenarios.py",)


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.path.name not in FIRST)
