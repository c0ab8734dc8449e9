//! A real S3-protocol server for tests: `s3s-fs` (crates.io, pinned; installed into
//! target/tools by `scripts/install-s3-server.sh`, which `make test` runs), serving a
//! temporary folder on 127.0.0.1 at a free port with its own access key. Each bucket is a
//! folder under the root, so a test can look at what the server stored. In front of it a
//! counting TCP relay with small socket buffers: requests go through it, and it counts the
//! bytes the server sent (about what a client downloaded), so a test can tell a lazy read
//! from a whole download.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub const ACCESS_KEY: &str = "framekit-test-key";
pub const SECRET_KEY: &str = "framekit-test-secret-9f2c1e";

pub struct S3Server {
    child: Child,
    root: tempfile::TempDir,
    port: u16,
    relay_port: u16,
    sent: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

fn server_binary() -> PathBuf {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/bin/s3s-fs");
    assert!(
        bin.exists(),
        "{} is missing: run scripts/install-s3-server.sh (make test does)",
        bin.display()
    );
    bin
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl S3Server {
    /// Starts the server with `buckets` (empty) and waits until it answers.
    pub fn start(buckets: &[&str]) -> S3Server {
        let root = tempfile::tempdir().expect("server root");
        for bucket in buckets {
            std::fs::create_dir_all(root.path().join(bucket)).expect("bucket folder");
        }
        let port = free_port();
        let child = Command::new(server_binary())
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(root.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start s3s-fs");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "s3s-fs did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let sent = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let relay_port = start_relay(port, sent.clone(), stop.clone());
        S3Server {
            child,
            root,
            port,
            relay_port,
            sent,
            stop,
        }
    }

    /// The endpoint clients use (the counting relay).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.relay_port)
    }

    /// The server itself, without the relay (its small buffers slow bulk transfers: for
    /// benches).
    pub fn direct_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The folder that holds `bucket`'s objects.
    pub fn bucket_dir(&self, bucket: &str) -> PathBuf {
        self.root.path().join(bucket)
    }

    /// Puts a local file into the store (as the server stores it: a file under the bucket).
    pub fn put_file(&self, bucket: &str, key: &str, file: &Path) {
        let path = self.bucket_dir(bucket).join(key);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::copy(file, &path).expect("copy into the bucket");
    }

    /// Every object key in `bucket` (files below its folder, without the server's own
    /// metadata folder).
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let root = self.bucket_dir(bucket);
        let mut keys = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let key = path.strip_prefix(&root).expect("below root");
                    keys.push(key.to_string_lossy().into_owned());
                }
            }
        }
        keys.retain(|k| !k.starts_with(".s3s") && !k.contains("/.s3s"));
        keys.sort();
        keys
    }

    /// Bytes the server sent through the relay since the last reset.
    pub fn bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }

    pub fn reset_counts(&self) {
        self.sent.store(0, Ordering::SeqCst);
    }

    /// A framekit command with this store's endpoint and credentials in its environment.
    pub fn framekit(&self) -> Command {
        let mut command = super::framekit_bin();
        self.configure(&mut command);
        command
    }

    /// Sets the store's environment on `command`.
    pub fn configure(&self, command: &mut Command) {
        command
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_ENDPOINT_URL", self.endpoint())
            .env("AWS_REGION", "us-east-1")
            .stdin(Stdio::null());
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP relay on a free port to `target`, counting the bytes `target` sends.
fn start_relay(target: u16, sent: Arc<AtomicU64>, stop: Arc<AtomicBool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("relay");
    let port = listener.local_addr().expect("relay address").port();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let Ok(client) = client else { continue };
            let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                continue;
            };
            // Small buffers on the relay's side, so it reads from the server only about as
            // fast as the client reads: the count is what the client took, not what socket
            // buffers on loopback (megabytes) could hold.
            small_buffer(&server, libc::SO_RCVBUF);
            small_buffer(&client, libc::SO_SNDBUF);
            let sent = sent.clone();
            let (client_read, server_write) = (
                client.try_clone().expect("clone"),
                server.try_clone().expect("clone"),
            );
            std::thread::spawn(move || pump(client_read, server_write, None));
            std::thread::spawn(move || pump(server, client, Some(sent)));
        }
    });
    port
}

fn small_buffer(socket: &TcpStream, option: libc::c_int) {
    use std::os::fd::AsRawFd;
    let size: libc::c_int = 32 * 1024;
    // SAFETY: the descriptor is open for the call; the value is a c_int of the size given.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, counter: Option<Arc<AtomicU64>>) {
    let mut buffer = [0u8; 64 * 1024];
    loop {
        let read = match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        if to.write_all(&buffer[..read]).is_err() {
            break;
        }
        if let Some(counter) = &counter {
            counter.fetch_add(read as u64, Ordering::SeqCst);
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
    let _ = from.shutdown(std::net::Shutdown::Read);
}
