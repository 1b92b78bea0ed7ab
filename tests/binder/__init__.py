"""Binder tests: the course in a Binder-like environment."""
