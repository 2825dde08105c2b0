"""Tests of the experiment runner (sweeps)."""
