//! Unit tests of the configuration loader (precedence, key table, golden errors).
