//! Unit tests of the management core.
