//! The typed servers of `server-bound`: the generated code of `design.rs`, a
//! service that echoes, and a room that forwards what is published, nothing
//! more.

// The generated API (client, constants, error helpers) is more than a bench
// server uses.
#![allow(dead_code)]

nagare::include_api!("typed");

/// Echoes each message back, and keeps the room of `subscribe`.
#[derive(Clone)]
pub struct Echo {
    rooms: typed::Rooms,
}

/// Publishes pipelined, as the guide does.
const PUBLISH_DEPTH: usize = 256;

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

    async fn publish(&self, mut stream: typed::PublishServerStream) -> Result<(), typed::Error> {
        let mut publisher = self.rooms.subscribe().publisher(PUBLISH_DEPTH);
        while let Some(msg) = stream.recv().await? {
            publisher
                .publish(&typed::Note {
                    message: msg.message,
                })
                .await?;
        }
        Ok(publisher.flush().await?)
    }

    async fn subscribe(
        &self,
        mut stream: typed::SubscribeServerStream,
    ) -> Result<(), typed::Error> {
        Ok(self.rooms.follow_subscribe(&mut stream).await?)
    }
}

/// Serves the typed echo at `/echo` on a loopback port it prints.
pub async fn serve() -> anyhow::Result<()> {
    let listener = crate::servers::server_listener().await?;
    let options = nagare::ServerOptions::new();
    let echo = Echo {
        rooms: typed::Rooms::new(nagare::MemoryBroker::new().shared()),
    };
    let app = typed::server::router(echo, options.clone());
    crate::servers::serve_app(listener, options, app).await
}
