"""Autoscaling: a pure policy (``policy``) and a reconcile loop (``loop``)."""
