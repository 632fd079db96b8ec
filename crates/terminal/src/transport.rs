//! The terminal's side of the TCP transport: 2-byte length-prefixed frames
//! over one blocking connection, answers matched by DE 11 + DE 41.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use iso8583::{ISO87, MESSAGE_LEN_MAX, Message, decode_frame};

use crate::Error;

/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Bytes buffered while reading answers: two whole frames.
const READ_BUFFER_LEN_MAX: usize = 2 * (MESSAGE_LEN_MAX + 2);

/// One connection to the host, opened on first use and reopened after the
/// host closed it.
#[derive(Debug)]
pub struct Link {
    address: String,
    stream: Option<TcpStream>,
    buffer: Vec<u8>,
}

impl Link {
    /// A link to `address` (`host:port`); nothing is opened yet.
    #[must_use]
    pub fn new(address: &str) -> Link {
        Link {
            address: address.to_owned(),
            stream: None,
            buffer: Vec::with_capacity(READ_BUFFER_LEN_MAX),
        }
    }

    fn connect(&mut self) -> Result<&mut TcpStream, Error> {
        if self.stream.is_none() {
            let unreachable = |source| Error::Connect {
                address: self.address.clone(),
                source,
            };
            let mut addresses = self.address.to_socket_addrs().map_err(unreachable)?;
            let address = addresses.next().ok_or_else(|| {
                unreachable(std::io::Error::new(ErrorKind::NotFound, "no address"))
            })?;
            let stream =
                TcpStream::connect_timeout(&address, CONNECT_TIMEOUT).map_err(unreachable)?;
            // Frames are small and each waits for its answer: no batching.
            let _ = stream.set_nodelay(true);
            self.buffer.clear();
            self.stream = Some(stream);
        }
        self.stream.as_mut().ok_or(Error::Connect {
            address: self.address.clone(),
            source: std::io::Error::new(ErrorKind::NotConnected, "not connected"),
        })
    }

    /// Sends one framed request; a connection the host closed since the
    /// last exchange is reopened once.
    ///
    /// # Errors
    /// [`Error::Connect`] when the host cannot be reached: the request was
    /// not sent.
    pub fn send(&mut self, framed: &[u8]) -> Result<(), Error> {
        for attempt in 0..2 {
            let address = self.address.clone();
            let stream = self.connect()?;
            match stream.write_all(framed).and_then(|()| stream.flush()) {
                Ok(()) => return Ok(()),
                Err(source) => {
                    self.stream = None;
                    if attempt == 1 {
                        return Err(Error::Connect { address, source });
                    }
                }
            }
        }
        Ok(())
    }

    /// Waits up to `timeout` for the answer whose DE 11 and DE 41 are
    /// `stan` and `tid`, skipping any other frame (late answers to earlier
    /// requests). `None` when none came in time or the host closed the
    /// connection.
    pub fn receive(&mut self, stan: u32, tid: &str, timeout: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(answer) = self.take_frame(stan, tid) {
                return Some(answer);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            if left.is_zero() || !self.fill(left) {
                return None;
            }
        }
    }

    /// Reads more bytes; false on timeout, close or error.
    fn fill(&mut self, left: Duration) -> bool {
        let Some(stream) = self.stream.as_mut() else {
            return false;
        };
        if stream.set_read_timeout(Some(left)).is_err() {
            return false;
        }
        let mut chunk = [0u8; 1024];
        match stream.read(&mut chunk) {
            Ok(0) => {
                self.stream = None;
                false
            }
            Ok(read) => {
                self.buffer
                    .extend_from_slice(chunk.get(..read).unwrap_or_default());
                true
            }
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                false
            }
            Err(error) if error.kind() == ErrorKind::Interrupted => true,
            Err(_) => {
                self.stream = None;
                false
            }
        }
    }

    /// Takes complete frames off the buffer until one matches.
    fn take_frame(&mut self, stan: u32, tid: &str) -> Option<Vec<u8>> {
        loop {
            let (body, consumed) = match decode_frame(&self.buffer) {
                Ok(Some(frame)) => (frame.body.to_vec(), frame.consumed),
                Ok(None) => return None,
                Err(_) => {
                    // A frame that breaks the length rule: the stream is lost.
                    self.buffer.clear();
                    self.stream = None;
                    return None;
                }
            };
            self.buffer.drain(..consumed);
            let matches = Message::decode(&ISO87, &body).is_ok_and(|message| {
                message.stan() == Some(stan) && message.terminal_id() == Some(tid)
            });
            if matches {
                return Some(body);
            }
        }
    }
}
