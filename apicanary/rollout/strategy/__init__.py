"""Strategies: steps as data (the types are the leaf), parsing and validation, CodeDeploy
presets."""
