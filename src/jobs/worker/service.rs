//! What a `framekit worker` process runs besides the worker loop, testable in process: its
//! [`Metrics`] (counted from job events, rendered for Prometheus), the `/metrics` server
//! ([`serve_metrics`]: bounded in connections, request size and time) and the heartbeat of its
//! registry row ([`RegistryBeat`]).

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::JobEvent;
use crate::jobs::JobStore;

/// Why the worker's services could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The metrics address cannot be listened on (the CLI names its flag before this).
    #[error("{address}: cannot listen: {source}")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start a worker thread: {0}")]
    Thread(std::io::Error),
}

/// What a worker has done, for `/metrics` and its registry row.
#[derive(Debug, Default)]
pub struct Metrics {
    claimed: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    cancelled: AtomicU64,
    retried: AtomicU64,
    released: AtomicU64,
    lease_losses: AtomicU64,
    frames: AtomicU64,
    /// Microseconds spent on jobs that succeeded.
    encode_micros: AtomicU64,
    running: Mutex<BTreeSet<i64>>,
}

impl Metrics {
    pub fn succeeded(&self) -> u64 {
        self.succeeded.load(Ordering::Relaxed)
    }

    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    pub fn cancelled(&self) -> u64 {
        self.cancelled.load(Ordering::Relaxed)
    }

    pub fn retried(&self) -> u64 {
        self.retried.load(Ordering::Relaxed)
    }

    pub fn released(&self) -> u64 {
        self.released.load(Ordering::Relaxed)
    }

    pub fn lease_losses(&self) -> u64 {
        self.lease_losses.load(Ordering::Relaxed)
    }

    /// The ids of the jobs running now, `1,2,3`.
    pub fn running_ids(&self) -> String {
        self.running
            .lock()
            .map(|ids| ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","))
            .unwrap_or_default()
    }

    /// Counts one job event.
    pub fn record(&self, event: &JobEvent) {
        let running = |id: i64, on: bool| {
            if let Ok(mut ids) = self.running.lock() {
                if on {
                    ids.insert(id);
                } else {
                    ids.remove(&id);
                }
            }
        };
        match event {
            JobEvent::Started { id, .. } => {
                self.claimed.fetch_add(1, Ordering::Relaxed);
                running(*id, true);
            }
            JobEvent::Progress { .. } => {}
            JobEvent::Succeeded {
                id,
                seconds,
                frames,
                ..
            } => {
                self.succeeded.fetch_add(1, Ordering::Relaxed);
                self.frames.fetch_add(*frames, Ordering::Relaxed);
                self.encode_micros
                    .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
                running(*id, false);
            }
            JobEvent::Retrying { id, .. } => {
                self.retried.fetch_add(1, Ordering::Relaxed);
                running(*id, false);
            }
            JobEvent::Failed { id, .. } => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                running(*id, false);
            }
            JobEvent::Cancelled { id } => {
                self.cancelled.fetch_add(1, Ordering::Relaxed);
                running(*id, false);
            }
            JobEvent::Released { id } => {
                self.released.fetch_add(1, Ordering::Relaxed);
                running(*id, false);
            }
            JobEvent::LeaseLost { id } => {
                self.lease_losses.fetch_add(1, Ordering::Relaxed);
                running(*id, false);
            }
        }
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let seconds = get(&self.encode_micros) as f64 / 1e6;
        let frames = get(&self.frames);
        let running = self.running.lock().map(|r| r.len()).unwrap_or(0);
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            ));
        };
        let counters = [
            (
                "framekit_jobs_claimed_total",
                "Jobs this worker claimed.",
                get(&self.claimed),
            ),
            (
                "framekit_jobs_succeeded_total",
                "Jobs this worker published.",
                get(&self.succeeded),
            ),
            (
                "framekit_jobs_failed_total",
                "Jobs that failed for good on this worker.",
                get(&self.failed),
            ),
            (
                "framekit_jobs_cancelled_total",
                "Jobs cancelled on this worker at the user's request.",
                get(&self.cancelled),
            ),
            (
                "framekit_jobs_retried_total",
                "Attempts that failed and will be retried.",
                get(&self.retried),
            ),
            (
                "framekit_jobs_released_total",
                "Jobs given back unfinished at shutdown.",
                get(&self.released),
            ),
            (
                "framekit_lease_losses_total",
                "Jobs another worker took over after this one's lease expired.",
                get(&self.lease_losses),
            ),
            (
                "framekit_frames_total",
                "Frames decoded by jobs that succeeded.",
                frames,
            ),
        ];
        for (name, help, value) in counters {
            metric(name, "counter", help, value.to_string());
        }
        metric(
            "framekit_encode_seconds_total",
            "counter",
            "Seconds spent on jobs that succeeded.",
            format!("{seconds:.3}"),
        );
        let fps = if seconds > 0.0 {
            frames as f64 / seconds
        } else {
            0.0
        };
        metric(
            "framekit_frames_per_second",
            "gauge",
            "Frames per second over the jobs that succeeded.",
            format!("{fps:.2}"),
        );
        metric(
            "framekit_jobs_running",
            "gauge",
            "Jobs running on this worker now.",
            running.to_string(),
        );
        out
    }
}

/// The most bytes of a request head (request line and headers) the metrics server reads: a
/// scrape sends a few hundred.
const METRICS_MAX_REQUEST: usize = 8 * 1024;

/// How long one metrics connection may take to send its request and read the answer, in all
/// (a client sending one byte every few seconds is cut off at this, not served for ever).
const METRICS_DEADLINE: Duration = Duration::from_secs(5);

/// Metrics connections served at once; more are closed at once.
const METRICS_MAX_CONNECTIONS: usize = 32;

/// Serves `GET /metrics` (anything else: 404) for the process's life, each connection on its
/// own thread (at most [`METRICS_MAX_CONNECTIONS`]), with its request bounded in size
/// ([`METRICS_MAX_REQUEST`]) and time ([`METRICS_DEADLINE`]): no client can hold up a scrape
/// for longer than that, or make the worker buffer more than that.
pub fn serve_metrics(
    address: SocketAddr,
    metrics: Arc<Metrics>,
) -> Result<SocketAddr, ServiceError> {
    let listener =
        TcpListener::bind(address).map_err(|source| ServiceError::Listen { address, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| ServiceError::Listen { address, source })?;
    let open = Arc::new(AtomicUsize::new(0));
    std::thread::Builder::new()
        .name("framekit-metrics".into())
        .spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else {
                    // Out of file descriptors or the like: let connections close first.
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                };
                if open.fetch_add(1, Ordering::SeqCst) >= METRICS_MAX_CONNECTIONS {
                    open.fetch_sub(1, Ordering::SeqCst);
                    continue;
                }
                let (metrics, done) = (metrics.clone(), open.clone());
                let spawned = std::thread::Builder::new()
                    .name("framekit-metrics-conn".into())
                    .spawn(move || {
                        answer_metrics(&stream, &metrics);
                        done.fetch_sub(1, Ordering::SeqCst);
                    });
                if spawned.is_err() {
                    open.fetch_sub(1, Ordering::SeqCst);
                }
            }
        })
        .map_err(ServiceError::Thread)?;
    Ok(bound)
}

/// Reads one request head within the limits and answers it, then closes.
fn answer_metrics(stream: &TcpStream, metrics: &Metrics) {
    let deadline = Instant::now() + METRICS_DEADLINE;
    let (status, body) = match read_request_head(stream, deadline) {
        Ok(head) => {
            let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
            let line = String::from_utf8_lossy(line);
            let mut words = line.split_whitespace();
            let (method, target) = (words.next(), words.next().unwrap_or_default());
            let path = target.split('?').next().unwrap_or_default();
            if method == Some("GET") && path == "/metrics" {
                ("200 OK", metrics.render())
            } else {
                ("404 Not Found", "try /metrics\n".to_string())
            }
        }
        Err(Some(status)) => (status, format!("{status}\n")),
        Err(None) => return,
    };
    let left = deadline.saturating_duration_since(Instant::now());
    let _ = stream.set_write_timeout(Some(left.max(Duration::from_millis(100))));
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

/// The request head (up to the blank line after the headers, or all a client sent before
/// closing its side), at most [`METRICS_MAX_REQUEST`] bytes, by `deadline`. `Err(Some(status))`:
/// answer with that status; `Err(None)`: the connection failed, just close it.
fn read_request_head(
    mut stream: &TcpStream,
    deadline: Instant,
) -> Result<Vec<u8>, Option<&'static str>> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let ended =
            head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n");
        if ended {
            return Ok(head);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Some("408 Request Timeout"));
        }
        if stream.set_read_timeout(Some(left)).is_err() {
            return Err(None);
        }
        match stream.read(&mut chunk) {
            Ok(0) if head.contains(&b'\n') => return Ok(head),
            Ok(0) => return Err(None),
            Ok(n) => {
                head.extend_from_slice(&chunk[..n]);
                if head.len() > METRICS_MAX_REQUEST {
                    return Err(Some("431 Request Header Fields Too Large"));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(Some("408 Request Timeout"));
            }
            Err(_) => return Err(None),
        }
    }
}

/// The registry row's heartbeat on its own thread and connection: every 5 s, and at once when
/// the jobs the worker runs change (from [`Metrics`]).
pub struct RegistryBeat {
    finished: Arc<AtomicBool>,
    thread: JoinHandle<Box<dyn JobStore>>,
    worker_id: i64,
    metrics: Arc<Metrics>,
}

impl RegistryBeat {
    pub fn spawn(
        registry: Box<dyn JobStore>,
        worker_id: i64,
        metrics: Arc<Metrics>,
    ) -> Result<RegistryBeat, ServiceError> {
        RegistryBeat::spawn_every(registry, worker_id, metrics, Duration::from_secs(5))
    }

    fn spawn_every(
        mut registry: Box<dyn JobStore>,
        worker_id: i64,
        metrics: Arc<Metrics>,
        every: Duration,
    ) -> Result<RegistryBeat, ServiceError> {
        let finished = Arc::new(AtomicBool::new(false));
        let thread = {
            let (finished, metrics) = (finished.clone(), metrics.clone());
            std::thread::Builder::new()
                .name("framekit-worker-beat".into())
                .spawn(move || {
                    let mut waited = Duration::ZERO;
                    let mut reported = String::new();
                    while !finished.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(100));
                        waited += Duration::from_millis(100);
                        let running = metrics.running_ids();
                        if waited < every && running == reported {
                            continue;
                        }
                        waited = Duration::ZERO;
                        let done = metrics.succeeded() as i64;
                        match registry.worker_beat(worker_id, &running, done) {
                            Ok(()) => reported = running,
                            Err(e) => tracing::warn!(error = %e, "worker heartbeat failed"),
                        }
                    }
                    registry
                })
                .map_err(ServiceError::Thread)?
        };
        Ok(RegistryBeat {
            finished,
            thread,
            worker_id,
            metrics,
        })
    }

    /// Stops the beat, reports nothing running and marks the worker stopped.
    pub fn finish(self) {
        self.finished.store(true, Ordering::SeqCst);
        if let Ok(mut registry) = self.thread.join() {
            let done = self.metrics.succeeded() as i64;
            let _ = registry.worker_beat(self.worker_id, "", done);
            let _ = registry.worker_stopped(self.worker_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn metrics_count_job_events_and_render_for_prometheus() {
        let metrics = Metrics::default();
        metrics.record(&JobEvent::Started {
            id: 7,
            input: PathBuf::from("a.mov"),
            attempt: 1,
        });
        assert_eq!(metrics.running_ids(), "7");
        metrics.record(&JobEvent::Succeeded {
            id: 7,
            output: PathBuf::from("a.mp4"),
            seconds: 2.0,
            frames: 50,
        });
        metrics.record(&JobEvent::Failed {
            id: 8,
            error: "x".into(),
        });
        metrics.record(&JobEvent::Started {
            id: 9,
            input: PathBuf::from("c.mov"),
            attempt: 1,
        });
        metrics.record(&JobEvent::Cancelled { id: 9 });
        assert_eq!(metrics.running_ids(), "");
        let text = metrics.render();
        assert!(text.contains("framekit_jobs_claimed_total 2\n"), "{text}");
        assert!(text.contains("framekit_jobs_succeeded_total 1\n"));
        assert!(text.contains("framekit_jobs_failed_total 1\n"));
        assert!(text.contains("framekit_jobs_cancelled_total 1\n"));
        assert!(text.contains("framekit_frames_per_second 25.00\n"));
        assert!(text.contains("framekit_jobs_running 0\n"));
    }

    fn get(address: SocketAddr, request: &[u8]) -> String {
        let mut stream = TcpStream::connect(address).expect("connect");
        stream.write_all(request).expect("write");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read");
        answer
    }

    #[test]
    fn the_metrics_server_answers_metrics_and_refuses_the_rest_in_process() {
        let metrics = Arc::new(Metrics::default());
        let bound = serve_metrics("127.0.0.1:0".parse().expect("address"), metrics).expect("serve");
        let answer = get(bound, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        assert!(answer.contains("framekit_jobs_running 0"));
        let answer = get(bound, b"GET /other HTTP/1.1\r\n\r\n");
        assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
        // A client that leaves without a request costs nothing: the next is served.
        drop(TcpStream::connect(bound).expect("connect"));
        let answer = get(bound, b"GET /metrics?x=1 HTTP/1.0\n\n");
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        // A port in use is a typed error.
        assert!(matches!(
            serve_metrics(bound, Arc::new(Metrics::default())),
            Err(ServiceError::Listen { .. })
        ));
    }

    #[test]
    fn the_beat_reports_running_jobs_and_marks_the_worker_stopped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let location = crate::jobs::QueueLocation::Sqlite(dir.path().join("q.db"));
        let mut registry = location.open().expect("open");
        let id = registry
            .register_worker("host", std::process::id())
            .expect("register");
        let metrics = Arc::new(Metrics::default());
        let beat =
            RegistryBeat::spawn_every(registry, id, metrics.clone(), Duration::from_millis(200))
                .expect("beat");
        metrics.record(&JobEvent::Started {
            id: 3,
            input: PathBuf::from("a.mov"),
            attempt: 1,
        });
        let mut store = location.open().expect("open");
        let deadline = Instant::now() + Duration::from_secs(10);
        while store.workers().expect("workers")[0].running != "3" {
            assert!(Instant::now() < deadline, "the beat never reported job 3");
            std::thread::sleep(Duration::from_millis(50));
        }
        beat.finish();
        let row = &store.workers().expect("workers")[0];
        assert_eq!(row.running, "");
        assert!(row.stopped_at.is_some(), "{row:?}");
    }
}
