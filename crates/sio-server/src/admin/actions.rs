//! The admin page's side of the conversation: what it gets when it connects, and what
//! it asks the server to do (emit, join, leave, disconnect), cluster-wide as in Node.

use std::sync::{Arc, Weak};

use sio_types::Value;

use super::monitor::local_socket;
use super::wire;
use super::{AdminOptions, Mode};
use crate::io::ServerInner;
use crate::namespace::Namespace;
use crate::operators::BroadcastOperator;
use crate::{Socket, SocketIo};

/// Sets the admin namespace's connection handler: `config`, then (development mode)
/// `all_sockets`, and the action handlers unless read-only.
pub(super) fn serve(io: &SocketIo, ns: &Namespace, options: &AdminOptions) {
    let server = Arc::downgrade(&io.inner);
    let config = wire::features(options.readonly, options.mode);
    let (readonly, verbose) = (options.readonly, options.mode == Mode::Development);
    io.ns(ns.path(), move |socket| {
        let (server, config) = (server.clone(), config.clone());
        async move {
            if !readonly {
                register(&socket, &server);
            }
            // Held until the CONNECT answer, so it is the first thing the page gets.
            let _ = socket.emit("config", &config);
            if verbose {
                // Other servers answer within the adapter's request timeout: after the
                // CONNECT answer, so the page is connected meanwhile.
                tokio::spawn(async move {
                    let Some(io) = server.upgrade() else { return };
                    let all = all_sockets(&io).await;
                    let _ = socket.emit_args("all_sockets", vec![Value::Array(all)]);
                });
            }
        }
    });
}

/// Every socket of every namespace of the cluster, as the page lists them.
async fn all_sockets(io: &ServerInner) -> Vec<Value> {
    let mut all = Vec::new();
    for ns in io.namespace_list() {
        match ns.broadcast().fetch_sockets().await {
            Ok(infos) => all.extend(infos.into_iter().map(|i| wire::socket(i, ns.path()))),
            Err(e) => {
                tracing::warn!(nsp = %ns.path(), error = %e, "admin UI: the cluster's sockets could not be fetched, listing this server's");
                all.extend(ns.sockets().iter().map(local_socket));
            }
        }
    }
    all
}

/// The sockets an action targets: a namespace, narrowed to a room (or a socket id) when
/// the page gives a filter.
fn target(
    server: &Weak<ServerInner>,
    args: &[Value],
    filter_at: usize,
) -> Option<BroadcastOperator> {
    let io = server.upgrade()?;
    let nsp = args.first()?.as_str()?;
    let ns = io.namespace(nsp)?;
    Some(match args.get(filter_at).and_then(Value::as_str) {
        Some(filter) if !filter.is_empty() => ns.to(filter.to_owned()),
        _ => ns.broadcast(),
    })
}

fn register(socket: &Socket, server: &Weak<ServerInner>) {
    let s = server.clone();
    // emit(nsp, filter, event, ...args)
    socket.on("emit", move |_, args, _| {
        let s = s.clone();
        async move {
            let args = args.into_vec();
            let (Some(op), Some(event)) =
                (target(&s, &args, 1), args.get(2).and_then(Value::as_str))
            else {
                return;
            };
            let rest = args.get(3..).unwrap_or_default().to_vec();
            if let Err(e) = op.emit_args(event, rest).await {
                tracing::warn!(event, error = %e, "admin UI emit failed");
            }
        }
    });
    for (event, join) in [("join", true), ("leave", false)] {
        let s = server.clone();
        // join|leave(nsp, room, filter)
        socket.on(event, move |_, args, _| {
            let s = s.clone();
            async move {
                let args = args.into_vec();
                let (Some(op), Some(room)) =
                    (target(&s, &args, 2), args.get(1).and_then(Value::as_str))
                else {
                    return;
                };
                let room = [room.to_owned()];
                let res = if join {
                    op.sockets_join(room).await
                } else {
                    op.sockets_leave(room).await
                };
                if let Err(e) = res {
                    tracing::warn!(event, error = %e, "admin UI room action failed");
                }
            }
        });
    }
    let s = server.clone();
    // _disconnect(nsp, close, filter)
    socket.on("_disconnect", move |_, args, _| {
        let s = s.clone();
        async move {
            let args = args.into_vec();
            let Some(op) = target(&s, &args, 2) else {
                return;
            };
            let close = args.get(1).and_then(Value::as_bool).unwrap_or(false);
            if let Err(e) = op.disconnect_sockets(close).await {
                tracing::warn!(error = %e, "admin UI disconnect failed");
            }
        }
    });
}
