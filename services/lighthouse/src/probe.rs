//! `lighthouse probe URL`: an HTTP health check for images without a shell or curl
//! (the Dockerfile's HEALTHCHECK, compose healthchecks). Exit 0 only on a 2xx answer.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// GETs `url` (plain `http://host:port/path`) within `timeout`; the status code.
pub fn get(url: &str, timeout: Duration) -> anyhow::Result<u16> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow::anyhow!("{url}: only http:// URLs are probed"))?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let addr = authority
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| anyhow::anyhow!("{authority}: no address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET /{path} HTTP/1.0\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )?;
    // The status line is all we need; bound what is read.
    let mut head = [0u8; 64];
    let mut filled = 0;
    while filled < head.len() {
        let n = stream.read(&mut head[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
        if head[..filled].contains(&b'\n') {
            break;
        }
    }
    let line = String::from_utf8_lossy(&head[..filled]);
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("{url}: not an HTTP answer: {line:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn serve_once(answer: &'static str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            // Read the whole request first: closing with unread bytes would reset the
            // connection and could drop the answer.
            let mut request = Vec::new();
            let mut buf = [0; 512];
            while !request.ends_with(b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = s.write_all(answer.as_bytes());
        });
        format!("http://127.0.0.1:{port}/readyz")
    }

    #[test]
    fn reads_the_status_code() {
        let url = serve_once("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
        assert_eq!(get(&url, Duration::from_secs(2)).unwrap(), 200);
        let url = serve_once("HTTP/1.1 503 Service Unavailable\r\n\r\n");
        assert_eq!(get(&url, Duration::from_secs(2)).unwrap(), 503);
    }

    #[test]
    fn refuses_what_it_cannot_probe() {
        assert!(get("https://127.0.0.1:1/", Duration::from_millis(200)).is_err());
        let url = serve_once("garbage");
        assert!(get(&url, Duration::from_secs(2)).is_err());
    }
}
