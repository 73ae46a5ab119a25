"""The work folder a benchmark is given (--dir): made by the benchmark, and
only ever emptied when a benchmark made it. A folder that holds anything
else is refused, never deleted (`--dir /tmp` once emptied /tmp)."""
import os
import shutil
import sys

MARK = ".namfs-bench-work"


def claim(path):
    """An empty work folder at path: made anew, or emptied when an earlier
    benchmark made it. Exits naming the folder when it holds other files."""
    path = os.path.abspath(path)
    if os.path.isdir(path) and os.listdir(path) and not os.path.exists(os.path.join(path, MARK)):
        sys.exit("%s: not empty and not a benchmark's work folder; give a new folder "
                 "(it is deleted at the end)" % path)
    release(path)
    os.makedirs(path)
    open(os.path.join(path, MARK), "w").close()
    return path


def release(path):
    """Deletes path if a benchmark made it (or it is empty)."""
    if os.path.isdir(path) and (not os.listdir(path) or os.path.exists(os.path.join(path, MARK))):
        shutil.rmtree(path, ignore_errors=True)
