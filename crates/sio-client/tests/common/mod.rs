//! sio-client's tests use the workspace's one test-support home (`sio-tests`): Node
//! peers from `tests/interop/client/` and bounded waits.
#![allow(dead_code, unused_imports, unreachable_pub)]

use std::path::PathBuf;

pub use sio_tests::node::Peer as NodeServer;
pub use sio_tests::wait::{eventually, until as wait_until};

pub fn interop_dir() -> PathBuf {
    sio_tests::node::interop("")
}
