//! The typed echo server of `server-bound`: the generated code of `design.rs`
//! and a service that echoes, nothing more.

// The generated API (client, constants, error helpers) is more than a bench
// server uses.
#![allow(dead_code)]

include!(concat!(env!("OUT_DIR"), "/typed.rs"));

/// Echoes each message back.
#[derive(Clone)]
pub struct Echo;

impl typed::Service for Echo {
    async fn echo(&self, stream: typed::EchoServerStream) -> Result<(), typed::Error> {
        let (mut tx, mut rx) = stream.split();
        while let Some(msg) = rx.recv().await? {
            tx.send(&typed::EchoResult {
                message: msg.message,
            })
            .await?;
        }
        Ok(())
    }
}

/// Serves the typed echo at `/echo` on a loopback port it prints.
pub async fn serve() -> anyhow::Result<()> {
    let listener = crate::server_listener().await?;
    let options = nagare::ServerOptions::new();
    let app = typed::server::router(Echo, options.clone());
    crate::serve_app(listener, options, app).await
}
