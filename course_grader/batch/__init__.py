"""Batch grading of a whole class: preflight, sandboxed parallel autograde, reports.

Kept import-light on purpose: ``rlimits.py`` runs with ``python -I -S`` inside
every kernel launch, and the kernel imports nothing from here.
"""
