//! The admin UI protocol (`@socket.io/admin-ui` 0.5) driven by the official
//! socket.io-client 4.8 as the admin page drives it: the scripts in `tests/interop/admin/`
//! connect to the admin namespace and check what they are told and what their actions do.
//! The mixed cluster puts a Node server instrumented by the npm package and a sio server
//! on one Redis, and checks each side's admin data includes the other's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use sio_server::admin::{self, AdminOptions, Auth, Mode};
use sio_server::{ListenHandle, SocketIo};
use sio_tests::node::{Peer, script};

/// bcrypt (cost 4, so a debug build checks it quickly) of the scripts' password
/// `admin-test`, as `bcryptjs.hashSync("admin-test", 4)` made it.
const HASH: &str = "$2a$04$csMe4ljoQy8b7AL63yO7iO2DJ.TPqVgmJTdouh8RfJ4yA8OolFtIO";

async fn instrumented(options: AdminOptions) -> (SocketIo, ListenHandle, String) {
    let (io, handle, url) = common::start(false).await;
    admin::instrument(&io, options).unwrap();
    (io, handle, url)
}

fn fast(auth: Auth) -> sio_server::admin::AdminOptionsBuilder {
    AdminOptions::builder(auth).stats_interval(Duration::from_millis(200))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_refuses_wrong_credentials_and_hands_out_a_session() {
    let (_io, _h, url) = instrumented(fast(Auth::basic("admin", HASH).unwrap()).build()).await;
    script("admin/protocol.js", &[&url, "auth"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn development_mode_reports_sockets_rooms_events_and_obeys_actions() {
    let (_io, _h, url) = instrumented(fast(Auth::None).server_id("sio-dev").build()).await;
    script("admin/protocol.js", &[&url, "development"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readonly_mode_offers_no_actions_and_ignores_them() {
    let (_io, _h, url) = instrumented(fast(Auth::None).readonly(true).build()).await;
    script("admin/protocol.js", &[&url, "readonly"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_mode_sends_aggregates_only() {
    let (_io, _h, url) = instrumented(fast(Auth::None).mode(Mode::Production).build()).await;
    script("admin/protocol.js", &[&url, "production"]).await;
}

#[tokio::test]
async fn options_are_checked_as_node_checks_them() {
    assert!(matches!(
        Auth::basic("admin", "plain-text"),
        Err(admin::AdminError::InvalidHash(_))
    ));
    let io = SocketIo::builder().build();
    assert!(matches!(
        admin::instrument(
            &io,
            AdminOptions::builder(Auth::None).namespace("admin").build()
        ),
        Err(admin::AdminError::InvalidNamespace(_))
    ));
    let a = admin::instrument(&io, AdminOptions::builder(Auth::None).build()).unwrap();
    assert_eq!(a.namespace().path(), "/admin");
    assert!(!a.server_id().is_empty());
    assert!(matches!(
        admin::instrument(&io, AdminOptions::builder(Auth::None).build()),
        Err(admin::AdminError::AlreadyInstrumented)
    ));
}

#[test]
fn instrument_outside_a_runtime_is_an_error_not_a_panic() {
    let io = SocketIo::builder().build();
    assert!(matches!(
        admin::instrument(&io, AdminOptions::builder(Auth::None).build()),
        Err(admin::AdminError::NoRuntime)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_cluster_each_admin_sees_the_other_server() {
    use sio_adapter_redis::{RedisAdapterFactory, RedisConfig};
    let prefix = format!("sio-admin-{}", sio_server::SocketId::random());
    let factory = RedisAdapterFactory::connect(
        RedisConfig::builder("redis://127.0.0.1:6379")
            .key_prefix(prefix.clone())
            .requests_timeout(Duration::from_secs(5))
            .build(),
    )
    .await
    .expect("Redis answers on 127.0.0.1:6379");
    let io = SocketIo::builder().adapter(factory).build();
    io.ns("/", common::common);
    admin::instrument(&io, fast(Auth::None).server_id("sio-peer").build()).unwrap();
    for ns in io.namespaces() {
        ns.ready().await.unwrap();
    }
    let h = io.listen("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let sio_url = format!("http://127.0.0.1:{}", h.local_addr().port());
    // A Node socket.io 4.8 server instrumented by `@socket.io/admin-ui` on the Redis
    // adapter with the same prefix.
    let node = Peer::start("admin/node-server.js", &[("KEY_PREFIX", &prefix)]).await;
    script("admin/cluster.js", &[&sio_url, &node.url()]).await;
}
