"""Shared test helpers (loopback fake servers, ...)."""
