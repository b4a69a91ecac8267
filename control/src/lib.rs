//! xptp's control plane: a sans-IO protocol core (BMCA, port state machines, delay computation,
//! servo) plus the shell around it (clocks, configuration, management, metrics) and the
//! user-facing tools behind the `xptp` binary.

pub mod decode;
