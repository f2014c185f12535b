"""Issuing credentials: one at project completion, in bulk from CSV, and the jobs that run bulk
work.
"""
