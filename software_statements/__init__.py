"""Signing keys, software statement issuing and verifying, JWKS and the statement download."""
