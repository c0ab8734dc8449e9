//! A small HTTP/1.1 file server on 127.0.0.1 for the tests' own files: range requests (206
//! with Content-Range, keep-alive) or none (200, then close), or a stall; it streams from
//! disk in small, paced writes through a small send buffer and counts the bytes it sent, so a
//! test can check how much of a file a request really downloaded.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// How the test server answers.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Serve {
    /// Range requests honoured (206 with Content-Range).
    Ranges,
    /// Every request gets the whole file (200), no Accept-Ranges.
    NoRanges,
    /// Reads the request and never answers.
    Stall,
    /// Claims the file's length, sends its first 64 KiB, then one byte every 100 ms: each
    /// read succeeds, the body never ends in any useful time.
    Trickle,
    /// No length: the file's bytes again and again, for as long as the client reads.
    Endless,
}

pub struct Server {
    port: u16,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    requests: Arc<AtomicU64>,
}

/// Each write: small, so bytes counted are close to bytes the client took.
const CHUNK: usize = 16 << 10;
/// The pause after each write.
const PACE: Duration = Duration::from_micros(500);

impl Server {
    pub fn start(root: PathBuf, mode: Serve) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let requests = Arc::new(AtomicU64::new(0));
        let (stopping, counted, asked) = (stop.clone(), sent.clone(), requests.clone());
        std::thread::spawn(move || {
            while !stopping.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let root = root.clone();
                        let (stopping, counted, asked) =
                            (stopping.clone(), counted.clone(), asked.clone());
                        std::thread::spawn(move || {
                            serve(stream, &root, mode, &stopping, &counted, &asked)
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Server {
            port,
            stop,
            sent,
            requests,
        }
    }

    pub fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}", self.port)
    }

    /// Body bytes written to clients so far.
    pub fn bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// Zeroes both counters.
    pub fn reset_counts(&self) {
        self.sent.store(0, Ordering::SeqCst);
        self.requests.store(0, Ordering::SeqCst);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn set_small_send_buffer(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let size: libc::c_int = 32 << 10;
    // SAFETY: a valid socket descriptor and a pointer to an int of the size given.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

fn serve(
    stream: TcpStream,
    root: &Path,
    mode: Serve,
    stop: &AtomicBool,
    sent: &AtomicU64,
    requests: &AtomicU64,
) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    set_small_send_buffer(&stream);
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut range: Option<(u64, Option<u64>)> = None;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some(value) = header
                .to_ascii_lowercase()
                .strip_prefix("range: bytes=")
                .map(str::to_string)
            {
                let (start, end) = value.split_once('-').unwrap_or((&value, ""));
                range = start.parse().ok().map(|s| (s, end.parse().ok()));
            }
        }
        if mode == Serve::Stall {
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
            }
            return;
        }
        requests.fetch_add(1, Ordering::SeqCst);
        let name = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("/")
            .trim_start_matches('/');
        let Ok(mut file) = std::fs::File::open(root.join(name)) else {
            let _ = writer.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: keep-alive\r\n\r\nnot found",
            );
            continue;
        };
        let total = file.metadata().map_or(0, |m| m.len());
        if matches!(mode, Serve::Trickle | Serve::Endless) {
            serve_slowly(&mut writer, &mut file, total, mode, stop, sent);
            return;
        }
        let (status, start, end) = match (mode, range) {
            (Serve::Ranges, Some((start, end))) if start < total => {
                let end = end.unwrap_or(total - 1).min(total - 1);
                ("206 Partial Content", start, end)
            }
            _ => ("200 OK", 0, total.saturating_sub(1)),
        };
        // Like the simple servers that ignore ranges (Python's http.server), a server without
        // ranges closes the connection after each answer.
        let connection = if mode == Serve::Ranges {
            "keep-alive"
        } else {
            "close"
        };
        let mut head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: {connection}\r\n",
            end + 1 - start
        );
        if mode == Serve::Ranges {
            head.push_str("Accept-Ranges: bytes\r\n");
            if status.starts_with("206") {
                head.push_str(&format!("Content-Range: bytes {start}-{end}/{total}\r\n"));
            }
        }
        head.push_str("\r\n");
        if writer.write_all(head.as_bytes()).is_err() || file.seek(SeekFrom::Start(start)).is_err()
        {
            return;
        }
        let mut left = end + 1 - start;
        let mut buffer = vec![0u8; CHUNK];
        while left > 0 {
            let want = (left as usize).min(CHUNK);
            if file.read_exact(&mut buffer[..want]).is_err()
                || writer.write_all(&buffer[..want]).is_err()
            {
                return;
            }
            sent.fetch_add(want as u64, Ordering::SeqCst);
            left -= want as u64;
            // Paced (~30 MB/s at most): the client then reads as fast as the server sends,
            // so little sits in socket buffers when it stops, and the count is what it took.
            std::thread::sleep(PACE);
        }
        if mode != Serve::Ranges {
            return;
        }
    }
}

/// [`Serve::Trickle`] and [`Serve::Endless`]: until the client goes or the server stops.
fn serve_slowly(
    writer: &mut TcpStream,
    file: &mut std::fs::File,
    total: u64,
    mode: Serve,
    stop: &AtomicBool,
    sent: &AtomicU64,
) {
    let head = match mode {
        Serve::Trickle => format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {total}\r\nConnection: close\r\n\r\n"
        ),
        _ => "HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nConnection: close\r\n\r\n".to_string(),
    };
    if writer.write_all(head.as_bytes()).is_err() {
        return;
    }
    let mut bytes = Vec::new();
    if file.read_to_end(&mut bytes).is_err() || bytes.is_empty() {
        return;
    }
    let mut at = 0usize;
    while !stop.load(Ordering::SeqCst) {
        let (piece, pause) = match mode {
            Serve::Trickle if at < 64 << 10 => (CHUNK, Duration::ZERO),
            Serve::Trickle => (1, Duration::from_millis(100)),
            _ => (CHUNK, PACE),
        };
        let end = (at + piece).min(bytes.len());
        if writer.write_all(&bytes[at..end]).is_err() {
            return;
        }
        sent.fetch_add((end - at) as u64, Ordering::SeqCst);
        at = if end == bytes.len() { 0 } else { end };
        if mode == Serve::Trickle && at == 0 {
            return;
        }
        std::thread::sleep(pause);
    }
}

/// A server that answers every request with `302 Found` to the location `redirect` gives
/// for the request's path (`/loop` to itself makes a redirect loop), counting requests.
pub struct Redirector {
    port: u16,
    stop: Arc<AtomicBool>,
    requests: Arc<AtomicU64>,
}

impl Redirector {
    pub fn start(redirect: impl Fn(&str) -> String + Send + Sync + 'static) -> Redirector {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicU64::new(0));
        let (stopping, asked) = (stop.clone(), requests.clone());
        let redirect = Arc::new(redirect);
        std::thread::spawn(move || {
            while !stopping.load(Ordering::SeqCst) {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut writer = stream;
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                    continue;
                }
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                        break;
                    }
                }
                asked.fetch_add(1, Ordering::SeqCst);
                let path = request_line.split_whitespace().nth(1).unwrap_or("/");
                let _ = writer.write_all(
                    format!(
                        "HTTP/1.1 302 Found\r\nLocation: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        redirect(path)
                    )
                    .as_bytes(),
                );
            }
        });
        Redirector {
            port,
            stop,
            requests,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Redirector {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// A listener on 127.0.0.1 standing for an internal service: it counts the connections it
/// gets (a test asserts none) and answers nothing.
pub struct Internal {
    port: u16,
    stop: Arc<AtomicBool>,
    connections: Arc<AtomicU64>,
}

impl Internal {
    pub fn start() -> Internal {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicU64::new(0));
        let (stopping, counted) = (stop.clone(), connections.clone());
        std::thread::spawn(move || {
            while !stopping.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok(_) => {
                        counted.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Internal {
            port,
            stop,
            connections,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Internal {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
