"""Self-test task (test_oracles.py): raises the audit event the real find_class raises, to
show that the sandbox's tripwire ends the process. It loads nothing."""
import sys

import _common


def fire(path, options):
    _common.require_sandbox()
    sys.audit("pickle.find_class", "os", "system")
    return {"path": path, "error": {"type": "NotReached", "message": "the tripwire did not fire"}}
