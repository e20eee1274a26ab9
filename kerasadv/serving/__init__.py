"""Export for TF Serving and the offline servability check."""

from kerasadv.serving.check import check_servable
from kerasadv.serving.export import export_for_serving, write_warmup_requests

__all__ = ["export_for_serving", "write_warmup_requests", "check_servable"]
