"""Clients, the /o/client/* endpoints, access tokens, bearer authentication, throttling and usage."""
