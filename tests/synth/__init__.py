"""Tests of the synthetic demo company (custlens.synth)."""
