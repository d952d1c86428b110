"""The sandboxed child's entry point (see _common.py): `python -I -B _sandbox_child.py`,
started only by `_common.run_sandboxed`, reads its request on stdin."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

if __name__ == "__main__":
    _common.sandbox_main()
