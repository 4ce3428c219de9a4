"""Stackelberg environments: one module per environment, PettingZoo's classic layout."""
