"""The golive local lab: real servers on 127.0.0.1 for the collection and its tests.

Entry points: ``python -m lab up|down|status|env`` and :class:`lab.core.Lab`.
"""
