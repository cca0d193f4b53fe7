"""The bundled demo sample (data only)."""
