"""Tests of custlens.churn."""
