"""The result cache: a repeated request answered from disk, at no cost and without the network.

key.py: the canonical request and its SHA-256; entries.py: entries on disk (atomic, verified on
read, hard-linked to results/); index.py: their rows in the run log; prune.py: what prune removes.
"""

from aigw.store.cache.entries import Damaged, Entry, ResultCache

__all__ = ["Damaged", "Entry", "ResultCache"]
