//! Buffer sizes and limits of one WebSocket connection.

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Sizes and limits applied to every connection of an endpoint.
///
/// The defaults favour many mostly-idle connections: a 2 KiB read buffer (it is
/// allocated up front for each connection and kept, so it dominates idle memory)
/// and a 1 MiB message limit that keeps one peer from making the server buffer an
/// unbounded message.
#[derive(Clone, Copy, Debug)]
pub struct WsConfig {
    /// Bytes read from the socket at once. This much memory is held by every
    /// connection, idle or not. A frame larger than the buffer still arrives in
    /// one piece (the buffer grows to the frame's length); a smaller buffer only
    /// means more reads when many small frames arrive back to back. 2 KiB holds
    /// about 25 pipelined 64-byte messages; raise it for bulk transfers.
    pub read_buffer_size: usize,
    /// Bytes collected before a write reaches the socket. Writes are flushed
    /// explicitly after each batch, so this only caps what one batch coalesces;
    /// the buffer grows on demand and costs nothing while idle.
    pub write_buffer_size: usize,
    /// Hard cap on unflushed outgoing bytes; a peer that does not read makes the
    /// connection fail instead of growing this buffer.
    pub max_write_buffer_size: usize,
    /// Largest message accepted (after reassembling fragments); larger messages
    /// close the connection with 1009.
    pub max_message_size: usize,
    /// Largest single frame accepted; larger frames close with 1009.
    pub max_frame_size: usize,
}

impl Default for WsConfig {
    fn default() -> Self {
        WsConfig {
            read_buffer_size: 2 * 1024,
            write_buffer_size: 4 * 1024,
            max_write_buffer_size: 4 * 1024 * 1024,
            max_message_size: 1024 * 1024,
            max_frame_size: 1024 * 1024,
        }
    }
}

impl WsConfig {
    /// The crate-level configuration.
    pub(crate) fn to_tungstenite(self) -> WebSocketConfig {
        WebSocketConfig::default()
            .read_buffer_size(self.read_buffer_size)
            .write_buffer_size(self.write_buffer_size)
            .max_write_buffer_size(self.max_write_buffer_size.max(self.write_buffer_size + 1))
            .max_message_size(Some(self.max_message_size))
            .max_frame_size(Some(self.max_frame_size))
    }
}
