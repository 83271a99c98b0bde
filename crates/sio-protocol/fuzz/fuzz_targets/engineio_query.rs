//! The query string of an engine.io request (any bytes a client can put after `?`): reading
//! `EIO`, `transport` and `sid` never panics, each value is a slice of the query, and a sid
//! is either a valid id or refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sio_protocol::engineio::Query;
use sio_types::SocketId;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let q = Query::parse(query);
    for v in [q.eio, q.transport, q.sid].into_iter().flatten() {
        let start = v.as_ptr() as usize - query.as_ptr() as usize;
        assert!(start + v.len() <= query.len(), "value outside the query");
        assert!(!v.contains('&'), "a value spans two pairs: {v:?}");
    }
    if let Some(sid) = q.sid
        && let Ok(id) = sid.parse::<SocketId>()
    {
        assert_eq!(id.as_str(), sid);
    }
});
