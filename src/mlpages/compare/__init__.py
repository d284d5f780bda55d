"""Differences between two snapshots, and their pull-request markdown."""
