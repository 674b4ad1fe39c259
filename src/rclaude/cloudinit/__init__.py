"""The shared cloud-init renderer (used by ``spot-deployer`` and the aws compute backend).

Public API::

    cfg = CloudConfig(status_hook="/usr/local/bin/report")   # optional hook
    cfg.add_packages("nginx", "python3")
    cfg.add_write_file("/etc/app.env", "A=1\n", mode="0600", owner="root:root")
    cfg.add_boot_phase("install", ["apt-get -y install foo"])   # ordered, marked, once
    cfg.add_runcmd(["systemctl", "restart", "nginx"])
    cfg.merge(user_overrides)                                  # lists append, dicts merge
    text = cfg.render()              # "#cloud-config\n..." (yaml.safe_dump of the data)
    data = cfg.render_user_data()    # bytes, gzip when over 16 KB; error if still too big
    validate_schema(text)            # cloud-init's own validator (raises ValidationError)
"""

from rclaude.cloudinit.config import (
    HEADER,
    USER_DATA_LIMIT,
    BootLayout,
    CloudConfig,
    deep_merge,
)
from rclaude.cloudinit.validate import (
    SchemaValidatorUnavailable,
    validate_schema,
    validator_available,
)

__all__ = [
    "HEADER",
    "USER_DATA_LIMIT",
    "BootLayout",
    "CloudConfig",
    "SchemaValidatorUnavailable",
    "deep_merge",
    "validate_schema",
    "validator_available",
]
