"""Tests of custlens.clv.formula."""
