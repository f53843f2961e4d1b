//! The smallest useful nagare service: `greet` answers each name a client
//! sends, `count` streams numbers to it.

nagare::include_api!("hello");

use greeter::{CountPayload, CountServerStream, Error, GreetServerStream};

/// The service. It has no state; a real one keeps it here, behind an `Arc`.
pub struct Hello;

impl greeter::Service for Hello {
    async fn greet(&self, mut stream: GreetServerStream) -> Result<(), Error> {
        while let Some(name) = stream.recv().await? {
            stream.send(&format!("Hello, {name}!")).await?;
        }
        Ok(())
    }

    async fn count(&self, args: CountPayload, mut stream: CountServerStream) -> Result<(), Error> {
        for n in 1..=args.to {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            stream.send(&n).await?;
        }
        Ok(())
    }
}
