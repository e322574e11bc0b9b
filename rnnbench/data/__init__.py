"""Files to tensors: loading, table detection, tokenising, the prepared-data cache,
batching. Importing this package imports nothing heavy; its modules load on use.

Internal (see rnnbench._api): plugins import these pieces from rnnbench.taskkit. The
names rnnbench 0.1 exported here still work, with a DeprecationWarning.
"""

from rnnbench._api import moved_getattr

__getattr__ = moved_getattr(__name__)
