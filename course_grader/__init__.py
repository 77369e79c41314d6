"""Instructor-only grading tools for the Initialization course."""
