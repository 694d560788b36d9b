"""Shared infrastructure that is no app's domain (the lowest layer: every app may import it, it
imports none of them)."""
