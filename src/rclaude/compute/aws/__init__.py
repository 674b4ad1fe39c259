"""The ``aws`` compute backend (modes ec2, ecs, shared, fargate); see ``backend``."""

from rclaude.compute.aws.backend import AwsCompute, SweepReport

__all__ = ["AwsCompute", "SweepReport"]
