"""Shared infrastructure (the lowest layer: every app may import it, it imports none of them and has no
models). The hot path lives here, so it knows the revocation vocabulary (`core/revocation.py`) and the
fields of a client record the token script checks (scopes, environment); the rules stay in the apps."""
