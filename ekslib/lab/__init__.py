"""The real-kernel lab: the same data plane as the engine's, built in Linux network namespaces, and the engine
checked against the kernel (notebook 07).

>>> from ekslib.lab import lab_plan
"""

from ekslib.lab.kernel import lab_namespaces, lab_support, reclaim_stale
from ekslib.lab.lab import Lab, Observation
from ekslib.lab.plan import LabPlan, lab_plan

__all__ = ["Lab", "LabPlan", "Observation", "lab_namespaces", "lab_plan", "lab_support", "reclaim_stale"]
