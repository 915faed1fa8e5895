"""The support dashboard: server-rendered pages under ``/dashboard``."""
