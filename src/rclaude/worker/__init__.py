"""The worker: lease → snapshot → run → stream → upload changes → final state → ack."""
