"""The sandbox, the lowest layer: limits, bubblewrap's arguments, the in-sandbox
launcher (``rlimits.py``) and the slots that give each run its own uids."""
