//! Load generators and side-by-side benchmark scenarios (xptp vs ptp4l vs the kernel bound).
