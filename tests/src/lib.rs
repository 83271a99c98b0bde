//! End-to-end tests across the sio crates.
