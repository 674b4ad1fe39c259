"""Compute backends: they start and stop workers; workers pull tasks from the queue."""
