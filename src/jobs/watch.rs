//! Watching a queue from outside its workers, on background threads, with typed replies (the
//! app's transcode panel draws them; nothing here knows a UI):
//!
//! - [`FleetWatch`]: every second, a bounded read of a (fleet) queue: every running job, the
//!   newest others and the counts by state ([`read_fleet`]); and the user's cancels and
//!   retries on it, run on the same thread and connection.
//! - [`scan_unfinished`]: the jobs an earlier run left unfinished on this machine's queue.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded, unbounded};

use super::{Job, JobError, JobQuery, JobStatus, JobStore, QueueLocation, StatusCounts};

/// How many of a fleet queue's newest jobs a watch reads (besides every running one).
pub const FLEET_NEWEST_ROWS: usize = 200;

/// How often the watch reads the queue.
const READ_EVERY: Duration = Duration::from_secs(1);

/// How often the watch recounts a big queue (a count scans the status index: ~0.2 s on a
/// million jobs); its rows are read every second, and so are the counts of a queue that counts
/// quickly (under [`FLEET_CHEAP_COUNT`]), so a small queue's counts never lag its rows.
const FLEET_COUNTS_EVERY: Duration = Duration::from_secs(5);
const FLEET_CHEAP_COUNT: Duration = Duration::from_millis(20);

/// A watch's last count: the counts, when they were taken and how long that took.
#[derive(Debug, Clone, Copy)]
pub struct LastCount {
    counts: StatusCounts,
    at: Instant,
    took: Duration,
}

/// One read of a queue for a watcher: every running job and the newest others, in id order,
/// and the counts by state (`counted` keeps the last count between reads). Bounded however
/// many jobs the queue holds.
pub fn read_fleet(
    store: &mut dyn JobStore,
    counted: &mut Option<LastCount>,
) -> Result<(Vec<Job>, StatusCounts), JobError> {
    let counts = match *counted {
        Some(last) if last.took >= FLEET_CHEAP_COUNT && last.at.elapsed() < FLEET_COUNTS_EVERY => {
            last.counts
        }
        _ => {
            let at = Instant::now();
            let counts = store.counts()?;
            *counted = Some(LastCount {
                counts,
                at,
                took: at.elapsed(),
            });
            counts
        }
    };
    let mut jobs: BTreeMap<i64, Job> = store
        .query(&JobQuery {
            statuses: vec![JobStatus::Processing],
            // More than any fleet runs at once; still a bound.
            limit: Some(10_000),
            ..JobQuery::default()
        })?
        .into_iter()
        .map(|j| (j.id, j))
        .collect();
    for job in store.query(&JobQuery {
        limit: Some(FLEET_NEWEST_ROWS),
        newest_first: true,
        ..JobQuery::default()
    })? {
        jobs.insert(job.id, job);
    }
    Ok((jobs.into_values().collect(), counts))
}

/// What a watch reports.
#[derive(Debug)]
pub enum WatchEvent {
    /// The queue as last read: every running job and the newest others (a fleet queue can
    /// hold millions; only these are read), and its counts by state.
    Jobs {
        jobs: Vec<Job>,
        counts: StatusCounts,
    },
    /// The queue could not be opened or read, or a cancel or retry failed; the watch goes on
    /// (and opens the queue again).
    Problem(JobError),
}

/// What the caller asks a watch to do on its queue.
#[derive(Debug)]
enum WatchRequest {
    Cancel(i64),
    RetryFailed(Vec<i64>),
}

/// The caller's end of a queue watch. Dropping it stops the thread.
pub struct FleetWatch {
    requests: Sender<WatchRequest>,
    events: Receiver<WatchEvent>,
    stop: Arc<AtomicBool>,
}

impl FleetWatch {
    /// Starts watching `location` on its own thread; `wake` is called after each event.
    pub fn spawn(
        location: QueueLocation,
        wake: impl Fn() + Send + 'static,
    ) -> Result<FleetWatch, std::io::Error> {
        let (requests, inbox) = unbounded();
        let (outbox, events) = unbounded();
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        std::thread::Builder::new()
            .name("framekit-fleet-watch".into())
            .spawn(move || watch(&location, &inbox, &outbox, &thread_stop, &wake))?;
        Ok(FleetWatch {
            requests,
            events,
            stop,
        })
    }

    pub fn events(&self) -> &Receiver<WatchEvent> {
        &self.events
    }

    /// Cancels job `id` in the queue (its worker loses the lease and stops).
    pub fn cancel(&self, id: i64) {
        let _ = self.requests.send(WatchRequest::Cancel(id));
    }

    /// Puts the failed ones among `ids` back to pending.
    pub fn retry_failed(&self, ids: Vec<i64>) {
        let _ = self.requests.send(WatchRequest::RetryFailed(ids));
    }

    /// Stops the watch (also on drop).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl Drop for FleetWatch {
    fn drop(&mut self) {
        self.stop();
    }
}

fn watch(
    location: &QueueLocation,
    inbox: &Receiver<WatchRequest>,
    outbox: &Sender<WatchEvent>,
    stop: &AtomicBool,
    wake: &dyn Fn(),
) {
    let send = |event| {
        let _ = outbox.send(event);
        wake();
    };
    let mut store: Option<Box<dyn JobStore>> = None;
    let mut counted = None;
    let open = |store: &mut Option<Box<dyn JobStore>>| {
        if store.is_none() {
            match location.open() {
                Ok(opened) => *store = Some(opened),
                Err(e) => send(WatchEvent::Problem(e)),
            }
        }
    };
    while !stop.load(Ordering::SeqCst) {
        open(&mut store);
        if let Some(opened) = store.as_mut() {
            match read_fleet(opened.as_mut(), &mut counted) {
                Ok((jobs, counts)) => send(WatchEvent::Jobs { jobs, counts }),
                Err(e) => {
                    send(WatchEvent::Problem(e));
                    store = None;
                }
            }
        }
        let next = Instant::now() + READ_EVERY;
        while Instant::now() < next {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            let request = match inbox.recv_timeout(Duration::from_millis(50)) {
                Ok(request) => request,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return,
            };
            open(&mut store);
            let Some(opened) = store.as_mut() else {
                continue;
            };
            let done = match request {
                WatchRequest::Cancel(id) => opened.cancel_ids(&[id]).map(drop),
                WatchRequest::RetryFailed(ids) => opened.retry_failed(&ids).map(drop),
            };
            if let Err(e) = done {
                send(WatchEvent::Problem(e));
            }
        }
    }
}

/// Looks on its own thread for the jobs an earlier run on this machine left unfinished
/// (pending or running; leases of dead local processes are expired first); the answer
/// arrives once on the returned channel.
pub fn scan_unfinished(
    location: QueueLocation,
    wake: impl Fn() + Send + 'static,
) -> Receiver<Result<Vec<Job>, JobError>> {
    let (tx, rx) = bounded(1);
    let spawned = std::thread::Builder::new()
        .name("framekit-queue-scan".into())
        .spawn(move || {
            let found = location.open().and_then(|mut q| {
                q.reclaim_dead_local_leases()?;
                q.query(&JobQuery {
                    statuses: vec![JobStatus::Pending, JobStatus::Processing],
                    ..JobQuery::default()
                })
            });
            let _ = tx.send(found);
            wake();
        });
    // Without the thread the channel is closed at once: nothing to offer.
    drop(spawned);
    rx
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Enqueues `name` (an input file made in `dir`) and returns its id.
    fn enqueue(store: &mut dyn JobStore, dir: &Path, name: &str) -> i64 {
        let input = dir.join(format!("{name}.mov"));
        std::fs::write(&input, b"x").expect("write input");
        store
            .enqueue(&input, "default", &dir.join(format!("{name}.mp4")), false)
            .expect("enqueue")
            .id()
    }

    fn wait_for(watch: &FleetWatch, mut pick: impl FnMut(&WatchEvent) -> bool) -> WatchEvent {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(event) = watch.events().recv_timeout(Duration::from_millis(100))
                && pick(&event)
            {
                return event;
            }
        }
        panic!("the watch never reported what was waited for");
    }

    #[test]
    fn a_watch_reads_the_queue_and_runs_cancels_and_retries_on_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let location = QueueLocation::Sqlite(dir.path().join("queue.db"));
        let mut store = location.open().expect("open");
        let a = enqueue(store.as_mut(), dir.path(), "a");
        let b = enqueue(store.as_mut(), dir.path(), "b");
        let watch = FleetWatch::spawn(location, || {}).expect("spawn");
        let WatchEvent::Jobs { jobs, counts } =
            wait_for(&watch, |e| matches!(e, WatchEvent::Jobs { .. }))
        else {
            unreachable!()
        };
        assert_eq!(jobs.iter().map(|j| j.id).collect::<Vec<_>>(), vec![a, b]);
        assert_eq!(counts.pending, 2);

        watch.cancel(a);
        wait_for(
            &watch,
            |e| matches!(e, WatchEvent::Jobs { counts, .. } if counts.pending == 1),
        );
        watch.retry_failed(vec![a]);
        let WatchEvent::Jobs { jobs, .. } = wait_for(
            &watch,
            |e| matches!(e, WatchEvent::Jobs { counts, .. } if counts.pending == 2),
        ) else {
            unreachable!()
        };
        assert!(jobs.iter().all(|j| j.status == JobStatus::Pending));
    }

    #[test]
    fn a_queue_that_cannot_be_opened_is_a_typed_problem_and_the_watch_goes_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        let location = QueueLocation::Sqlite(dir.path().join("missing").join("q.db"));
        std::fs::write(dir.path().join("missing"), b"a file, not a folder").expect("write");
        let watch = FleetWatch::spawn(location, || {}).expect("spawn");
        let first = wait_for(&watch, |e| matches!(e, WatchEvent::Problem(_)));
        assert!(matches!(first, WatchEvent::Problem(_)));
        // It tries again a second later.
        wait_for(&watch, |e| matches!(e, WatchEvent::Problem(_)));
    }

    #[test]
    fn the_scan_finds_unfinished_jobs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let location = QueueLocation::Sqlite(dir.path().join("queue.db"));
        let mut store = location.open().expect("open");
        let id = enqueue(store.as_mut(), dir.path(), "a");
        let found = scan_unfinished(location, || {})
            .recv_timeout(Duration::from_secs(20))
            .expect("answer")
            .expect("scan");
        assert_eq!(found.iter().map(|j| j.id).collect::<Vec<_>>(), vec![id]);
    }
}
