//! A TCP proxy in front of a real nats-server whose behaviour a test switches at will:
//! pass everything, swallow everything (a blackhole: connections are accepted, nothing
//! is ever answered, and connections already open stall both ways until the mode
//! changes back), or speak the handshake and then drop every publish (a half-open
//! server). Plain threads and std sockets: no runtime of its own, usable from any test.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::Duration;

/// What the proxy does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// Forward both ways.
    Forward = 0,
    /// New connections: accepted, what clients send is read and discarded, nothing is
    /// answered. Open connections: nothing moves either way (what was in flight is
    /// held, not lost) until the mode is [`Mode::Forward`] again: a network partition
    /// that TCP does not notice.
    Blackhole = 1,
    /// Forward until a client sends its first `PUB`/`HPUB`, then discard everything
    /// that client sends (the server keeps talking: INFO, PINGs, messages).
    DropPublishes = 2,
}

impl Mode {
    fn from_u8(v: u8) -> Mode {
        match v {
            1 => Mode::Blackhole,
            2 => Mode::DropPublishes,
            _ => Mode::Forward,
        }
    }
}

/// A running proxy; stops accepting on drop (open connections end with their peers).
#[derive(Debug)]
pub struct Proxy {
    port: u16,
    mode: Arc<AtomicU8>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    /// Listens on a random loopback port, forwarding to `upstream_port`.
    pub fn start(upstream_port: u16, mode: Mode) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy binds");
        let port = listener.local_addr().expect("proxy address").port();
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let mode = Arc::new(AtomicU8::new(mode as u8));
        let stop = Arc::new(AtomicBool::new(false));
        let (m, s) = (mode.clone(), stop.clone());
        std::thread::spawn(move || accept_loop(listener, upstream_port, m, s));
        Proxy { port, mode, stop }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Switches the mode: new connections get it; open ones stall under
    /// [`Mode::Blackhole`] and move again under [`Mode::Forward`].
    pub fn set_mode(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn accept_loop(listener: TcpListener, upstream: u16, mode: Arc<AtomicU8>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                let _ = client.set_nonblocking(false);
                let (live, stop) = (mode.clone(), stop.clone());
                std::thread::spawn(move || serve(client, upstream, live, stop));
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn serve(client: TcpStream, upstream: u16, live: Arc<AtomicU8>, stop: Arc<AtomicBool>) {
    let mode = Mode::from_u8(live.load(Ordering::SeqCst));
    if mode == Mode::Blackhole {
        swallow(client, &stop);
        return;
    }
    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let (Ok(client_read), Ok(server_write)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let drop_publishes = mode == Mode::DropPublishes;
    let (live_up, stop_up) = (live.clone(), stop.clone());
    std::thread::spawn(move || {
        upstream_copy(
            client_read,
            server_write,
            drop_publishes,
            &live_up,
            &stop_up,
        )
    });
    copy(server, client, &live, &stop);
}

/// Holds what was read while the proxy is a blackhole; false once the proxy stops.
fn pass(live: &AtomicU8, stop: &AtomicBool) -> bool {
    while Mode::from_u8(live.load(Ordering::SeqCst)) == Mode::Blackhole {
        if stop.load(Ordering::SeqCst) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    !stop.load(Ordering::SeqCst)
}

/// Reads and discards until the peer closes or the proxy stops.
fn swallow(mut client: TcpStream, stop: &AtomicBool) {
    let _ = client.set_read_timeout(Some(Duration::from_millis(200)));
    let mut buf = [0u8; 16 * 1024];
    while !stop.load(Ordering::SeqCst) {
        match client.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
    }
}

/// Client → server, dropping everything from the first publish on when asked.
fn upstream_copy(
    mut from: TcpStream,
    mut to: TcpStream,
    drop_publishes: bool,
    live: &AtomicU8,
    stop: &AtomicBool,
) {
    let mut buf = vec![0u8; 64 * 1024];
    // The tail of the previous read, so a `PUB` split across reads is still seen.
    let mut tail: Vec<u8> = Vec::new();
    let mut dropping = false;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if stop.load(Ordering::SeqCst) {
            break;
        }
        if drop_publishes && !dropping {
            let mut seen = std::mem::take(&mut tail);
            seen.extend_from_slice(&buf[..n]);
            if let Some(at) = first_publish(&seen) {
                // Forward what came before the publish, then nothing more.
                let before = at.saturating_sub(seen.len() - n);
                let _ = to.write_all(&buf[..before]);
                dropping = true;
                continue;
            }
            tail = seen[seen.len().saturating_sub(8)..].to_vec();
        }
        if dropping {
            continue;
        }
        if !pass(live, stop) || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Where the first `PUB `/`HPUB ` line starts.
fn first_publish(data: &[u8]) -> Option<usize> {
    (0..data.len()).find(|&i| {
        let at_line_start = i == 0 || data[i - 1] == b'\n';
        at_line_start && (data[i..].starts_with(b"PUB ") || data[i..].starts_with(b"HPUB "))
    })
}

fn copy(mut from: TcpStream, mut to: TcpStream, live: &AtomicU8, stop: &AtomicBool) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if !pass(live, stop) || to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishes_are_found_at_line_starts_only() {
        assert_eq!(
            first_publish(b"CONNECT {}\r\nPING\r\nPUB a 1\r\n"),
            Some(18)
        );
        assert_eq!(first_publish(b"HPUB x 1 2\r\n"), Some(0));
        assert_eq!(first_publish(b"SUB PUB 1\r\n"), None);
    }
}
