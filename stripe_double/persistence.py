"""Where localstripe's store lives: in memory (default) or in one pickle file.

localstripe pickles its whole store to the fixed path ``/tmp/localstripe.pickle`` on
every write, shared by all instances. This replaces ``Store.dump_to_disk``.
"""

import functools
import os
import pickle

from localstripe.resources import Store, store


def _keep_in_memory(self):
    """Do not write the store anywhere."""


def _dump(self, path):
    temporary = path + ".tmp"
    with open(temporary, "wb") as file:
        pickle.dump(self, file, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(temporary, path)


def use_memory():
    Store.dump_to_disk = _keep_in_memory


def use_file(path):
    """Load the store from ``path`` if it exists, and dump it there on writes."""
    if os.path.exists(path):
        with open(path, "rb") as file:
            store.update(pickle.load(file))
    Store.dump_to_disk = functools.partialmethod(_dump, path)
