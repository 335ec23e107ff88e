//! What one idle connection holds, in bytes of the structures we control. Printed with
//! `cargo test -p switchboard-relay footprint -- --nocapture`; the asserts keep a change
//! from silently making every connection larger (docs/PERFORMANCE.md, "Memory").

use super::agent::AgentEndpoint;
use super::connection::{self, Conn, ConnContext};
use super::visitor::VisitorEndpoint;
use crate::fanout::{Delivery, Outbound};
use axum::extract::ws::WebSocket;
use std::future::Future;
use std::mem::size_of;

fn output_size<F, Fut>(_: F) -> usize
where
    F: FnOnce(Conn) -> Fut,
    Fut: Future,
{
    size_of::<Fut>()
}

#[test]
fn an_idle_connection_holds_one_small_future() {
    let visitor = output_size(connection::serve::<VisitorEndpoint>);
    let agent = output_size(connection::serve::<AgentEndpoint>);
    println!("serve::<VisitorEndpoint> future: {visitor} B");
    println!("serve::<AgentEndpoint> future: {agent} B");
    println!(
        "select parts: cancelled {} B, socket.recv output {} B, mailbox output {} B",
        size_of::<tokio_util::sync::WaitForCancellationFuture<'static>>(),
        size_of::<Option<Result<axum::extract::ws::Message, axum::Error>>>(),
        size_of::<Option<crate::fanout::Mail>>(),
    );
    println!(
        "Incoming<VisitorCommand>: {} B",
        size_of::<switchboard_shared::VisitorCommand>()
    );
    println!("Conn: {} B", size_of::<Conn>());
    println!("WebSocket: {} B", size_of::<WebSocket>());
    println!("ConnContext: {} B", size_of::<ConnContext>());
    println!("VisitorEndpoint: {} B", size_of::<VisitorEndpoint>());
    println!("AgentEndpoint: {} B", size_of::<AgentEndpoint>());
    println!(
        "Delivery: {} B, Outbound: {} B",
        size_of::<Delivery>(),
        size_of::<Outbound>()
    );
    println!(
        "frame limiter: {} B (governor's direct limiter: {} B)",
        size_of::<crate::ratelimit::FrameLimiter>(),
        size_of::<governor::DefaultDirectRateLimiter>()
    );
    // Measured 904 / 864 B (rustc 1.95; 840 / 800 before the per-party frame quota and the
    // stalled-write bound); it was 1,936 B inside a 2,304 B task before the
    // connection got its own task, stopped holding `Conn` twice and waiting on a watch.
    // tokio rounds a task to 128 B: header 32 + 16 + future (+8 tracker, +8 stage) + trailer
    // 48, so up to 912 B the task is 1,024 B; one byte more costs every connection 128 B.
    assert!(
        visitor <= 912,
        "an idle visitor connection's future grew to {visitor} B"
    );
    assert!(
        agent <= 912,
        "an idle agent connection's future grew to {agent} B"
    );
}
