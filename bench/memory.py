"""Peak resident memory of this process, from /proc/self (Linux)."""
from __future__ import annotations


def status(field: str) -> int:
    """A /proc/self/status value (VmRSS, VmHWM, …) in bytes."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def reset_peak() -> bool:
    """Reset VmHWM to the current resident set; False when the kernel does not allow it
    (the peak then counts from the process start)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False
