//! Helpers behind generated command-line clients (feature `cli`).
//!
//! A generated CLI maps each method to a subcommand and each payload attribute to
//! a flag; streamed messages come from standard input, one per line, and results
//! go to standard output as one JSON document per line. End of input ends the
//! client's stream.

#[cfg(feature = "server")]
pub mod flags;

use std::io::Write;
use std::str::FromStr;

use clap::ArgMatches;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::client::{ConnectionState, ResumableSender, ResumableStream, RetryPolicy};
use crate::conn::ConnConfig;
use crate::error::{chain, ClientError, StreamError};
use crate::message::Message;
use crate::stream::{
    ClientSendResultStream, ClientSendStream, ClientStream, StreamReceiver, StreamSender,
};

/// Why a command of a generated command-line client failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The call could not be made.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The stream failed.
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// A flag's value is not valid.
    #[error("{0}")]
    Usage(String),
    /// The call failed (a designed error, or a transport failure).
    #[error(transparent)]
    Failed(Box<dyn std::error::Error + Send + Sync>),
    /// Reading standard input or writing standard output failed.
    #[error("i/o error")]
    Io(#[from] std::io::Error),
}

impl CliError {
    /// A failed call, from the service's error type.
    pub fn failed(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        CliError::Failed(Box::new(e))
    }
}

/// The exit code of a command, with the error and its causes on standard error
/// (`error: cannot reach the server: 127.0.0.1:8080: Connection refused`).
pub fn exit_code(result: Result<(), CliError>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", chain(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// Flags every generated CLI has for the connection itself: `--ca-file` (with the
/// `tls` feature) to trust a private CA for `https://` and `wss://` URLs.
pub fn connection_args() -> Vec<clap::Arg> {
    let mut args = Vec::new();
    if cfg!(feature = "tls") {
        args.push(
            clap::Arg::new("ca_file")
                .long("ca-file")
                .global(true)
                .value_name("PEM")
                .help("Trust the CA certificates in this PEM file for https:// and wss:// (default: the system's roots)"),
        );
    }
    args
}

/// The connection settings the flags of [`connection_args`] describe.
// Without TLS there is no flag to read.
#[cfg_attr(not(feature = "tls"), allow(unused_variables))]
pub fn connection_config(matches: &ArgMatches) -> Result<ConnConfig, CliError> {
    #[cfg(feature = "tls")]
    if let Some(path) = matches.get_one::<String>("ca_file") {
        let roots = crate::tls::client_config(Some(std::path::Path::new(path)))
            .map_err(|e| CliError::Usage(format!("--ca-file: {e}")))?;
        return Ok(ConnConfig {
            tls: Some(roots),
            ..ConnConfig::default()
        });
    }
    Ok(ConnConfig::default())
}

/// How a line of standard input becomes a message.
#[derive(Clone, Copy, Debug)]
pub enum LineFormat {
    /// The line is the message's JSON.
    Json,
    /// The message is a string: the line is its text.
    Text,
    /// The message is an object with one text attribute: the line is its value.
    Field(&'static str),
}

/// Parses one input line into a message, validating it.
pub fn parse_line<T: Message>(line: &str, format: LineFormat) -> Result<T, CliError> {
    let json = match format {
        LineFormat::Json => line.as_bytes().to_vec(),
        LineFormat::Text => serde_json::to_vec(line).map_err(|e| CliError::Usage(e.to_string()))?,
        LineFormat::Field(name) => serde_json::to_vec(&serde_json::json!({ name: line }))
            .map_err(|e| CliError::Usage(e.to_string()))?,
    };
    T::decode(&json, None).map_err(|e| CliError::Usage(format!("invalid message {line:?}: {e}")))
}

/// The value of an optional flag.
pub fn value<T: FromStr>(m: &ArgMatches, id: &str) -> Result<Option<T>, CliError>
where
    T::Err: std::fmt::Display,
{
    match m.get_one::<String>(id) {
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|e| CliError::Usage(format!("--{id}: invalid value {s:?}: {e}"))),
        None => Ok(None),
    }
}

/// Every value of a repeatable flag; `None` when it is absent.
pub fn values<T: FromStr>(m: &ArgMatches, id: &str) -> Result<Option<Vec<T>>, CliError>
where
    T::Err: std::fmt::Display,
{
    match m.get_many::<String>(id) {
        Some(vs) => vs
            .map(|s| {
                s.parse()
                    .map_err(|e| CliError::Usage(format!("--{id}: invalid value {s:?}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        None => Ok(None),
    }
}

/// The value of a required flag (clap enforces presence).
pub fn required<T: FromStr>(m: &ArgMatches, id: &str) -> Result<T, CliError>
where
    T::Err: std::fmt::Display,
{
    value(m, id)?.ok_or_else(|| CliError::Usage(format!("--{id} is required")))
}

/// Prints one message as a JSON line on standard output.
pub fn print<T: Message>(msg: &T, view: Option<&str>) -> Result<(), CliError> {
    let mut buf = Vec::with_capacity(128);
    msg.encode(view, &mut buf)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    buf.push(b'\n');
    let mut out = std::io::stdout().lock();
    out.write_all(&buf)?;
    out.flush()?;
    Ok(())
}

/// Messages read from standard input, one per line; empty lines are skipped and
/// invalid ones reported on standard error.
struct InputLines {
    lines: tokio::io::Lines<BufReader<tokio::io::Stdin>>,
    format: LineFormat,
}

impl InputLines {
    fn new(format: LineFormat) -> Self {
        InputLines {
            lines: BufReader::new(tokio::io::stdin()).lines(),
            format,
        }
    }

    /// The next valid message, `None` at end of input.
    async fn next<T: Message>(&mut self) -> Result<Option<T>, CliError> {
        while let Some(line) = self.lines.next_line().await? {
            if line.trim().is_empty() {
                continue;
            }
            match parse_line::<T>(&line, self.format) {
                Ok(msg) => return Ok(Some(msg)),
                Err(e) => eprintln!("skipped: {e}"),
            }
        }
        Ok(None)
    }
}

/// Server streaming: prints every result until the server ends the stream.
pub async fn print_results<R: Message>(mut stream: ClientStream<R>) -> Result<(), CliError> {
    while let Some(r) = stream.recv().await? {
        print(&r, stream.view())?;
    }
    Ok(())
}

/// A resumable server stream: prints each result as a JSON line, and each change
/// of connection state (reconnecting, resumed...) on standard error.
pub async fn print_resumable<R: Message>(mut stream: ResumableStream<R>) -> Result<(), CliError> {
    let mut states = stream.states();
    let report = tokio::spawn(async move {
        while states.changed().await.is_ok() {
            let line = describe_state(&states.borrow_and_update());
            eprintln!("{line}");
        }
    });
    let outcome = async {
        while let Some(r) = stream.recv().await? {
            print(&r, stream.view())?;
        }
        Ok(())
    }
    .await;
    report.abort();
    outcome
}

/// A resumable bidirectional stream: sends every input line, prints each result
/// as a JSON line and each change of connection state on standard error.
pub async fn exchange_resumable<P: Message, R: Message>(
    (tx, rx): (ResumableSender<P>, ResumableStream<R>),
    format: LineFormat,
) -> Result<(), CliError> {
    let input = forward_input(tx, format);
    let printed = print_resumable(rx).await;
    input.abort();
    printed
}

/// The reconnect policy of `--reconnect`: 100 ms doubling to 5 s, forever (until
/// the stream ends, fails for good, or the command is interrupted).
pub fn reconnect_policy() -> RetryPolicy {
    RetryPolicy::default()
        .max_delay(std::time::Duration::from_secs(5))
        .forever()
}

/// One line for standard error about a connection state.
fn describe_state(state: &ConnectionState) -> String {
    match state {
        ConnectionState::Connecting { attempt } => format!("connecting (attempt {attempt})"),
        ConnectionState::Connected {
            resumed_after: Some(seq),
        } => format!("connected, resuming after message {seq}"),
        ConnectionState::Connected {
            resumed_after: None,
        } => "connected".to_owned(),
        ConnectionState::Reconnecting {
            attempt,
            delay,
            error,
        } => format!("reconnecting in {delay:.1?} (attempt {attempt}): {error}"),
        ConnectionState::Restarted { previous, now } => format!(
            "the stream restarted on the server (epoch {} is gone, now {}): messages after {} of the old stream may be lost; continuing after message {}",
            previous.epoch, now.epoch, previous.seq, now.seq
        ),
        ConnectionState::Closed { reason } => format!("closed: {reason}"),
    }
}

/// Client streaming: sends every input line, then ends the stream at end of input.
pub async fn send_lines<P: Message>(
    mut stream: ClientSendStream<P>,
    format: LineFormat,
) -> Result<(), CliError> {
    let mut input = InputLines::new(format);
    while let Some(m) = input.next::<P>().await? {
        stream.send(&m).await?;
    }
    Ok(stream.close().await?)
}

/// Client streaming with a result: sends every input line, then prints the result.
pub async fn send_lines_then_print<P: Message, R: Message>(
    mut stream: ClientSendResultStream<P, R>,
    format: LineFormat,
) -> Result<(), CliError> {
    let view = stream.view().map(str::to_owned);
    let mut input = InputLines::new(format);
    while let Some(m) = input.next::<P>().await? {
        stream.send(&m).await?;
    }
    let result = stream.close_and_recv().await?;
    print(&result, view.as_deref())
}

/// The sending half of a bidirectional stream, for [`forward_input`].
trait LineSender<P>: Send + 'static {
    fn send_line(
        &mut self,
        m: &P,
    ) -> impl std::future::Future<Output = Result<(), StreamError>> + Send;
    fn end(&mut self) -> impl std::future::Future<Output = Result<(), StreamError>> + Send;
}

impl<P: Message> LineSender<P> for StreamSender<P> {
    fn send_line(
        &mut self,
        m: &P,
    ) -> impl std::future::Future<Output = Result<(), StreamError>> + Send {
        self.send(m)
    }
    fn end(&mut self) -> impl std::future::Future<Output = Result<(), StreamError>> + Send {
        self.close()
    }
}

impl<P: Message> LineSender<P> for ResumableSender<P> {
    fn send_line(
        &mut self,
        m: &P,
    ) -> impl std::future::Future<Output = Result<(), StreamError>> + Send {
        self.send(m)
    }
    fn end(&mut self) -> impl std::future::Future<Output = Result<(), StreamError>> + Send {
        self.close()
    }
}

/// Sends every input line on `tx` from a task of its own, then ends the client's
/// stream at end of input.
fn forward_input<P: Message, S: LineSender<P>>(
    mut tx: S,
    format: LineFormat,
) -> tokio::task::JoinHandle<Result<(), CliError>> {
    tokio::spawn(async move {
        let mut input = InputLines::new(format);
        while let Some(m) = input.next::<P>().await? {
            tx.send_line(&m).await?;
        }
        tx.end().await.map_err(CliError::from)
    })
}

/// Bidirectional: sends input lines while printing results; end of input ends the
/// client's stream, and the command ends when the server closes.
pub async fn exchange<P: Message, R: Message>(
    (tx, mut rx): (StreamSender<P>, StreamReceiver<R>),
    format: LineFormat,
) -> Result<(), CliError> {
    let input = forward_input(tx, format);
    let printed = async {
        while let Some(r) = rx.recv().await? {
            print(&r, rx.view())?;
        }
        Ok::<(), CliError>(())
    }
    .await;
    // Input may still be blocked on a read: the command is over either way.
    input.abort();
    printed
}
