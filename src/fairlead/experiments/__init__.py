"""Runs of methods over seeds: run directories, checkpoints, reports."""
