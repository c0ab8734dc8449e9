//! The job table's behaviour: idempotent enqueue, exclusive claims, fenced writes, retries,
//! permanent failures, crash counting, reclaiming dead local leases.

use super::*;

struct Fixture {
    dir: tempfile::TempDir,
    queue_path: PathBuf,
    input: PathBuf,
    output: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.mov");
    std::fs::write(&input, b"not really a video; the queue does not care").expect("write");
    Fixture {
        queue_path: dir.path().join("q.sqlite"),
        output: dir.path().join("out.mp4"),
        input,
        dir,
    }
}

fn temp_file(f: &Fixture, name: &str, bytes: &[u8]) -> PathBuf {
    let path = f.dir.path().join(name);
    std::fs::write(&path, bytes).expect("write temp");
    path
}

#[test]
fn enqueue_is_idempotent() {
    let f = fixture();
    let mut q = JobQueue::open(&f.queue_path).expect("open");
    let first = q
        .enqueue(&f.input, "default", &f.output, false)
        .expect("enqueue");
    let again = q
        .enqueue(&f.input, "default", &f.output, false)
        .expect("enqueue");
    assert!(matches!(first, Enqueued::New(_)));
    assert_eq!(again, Enqueued::Existing(first.id(), JobStatus::Pending));
    assert_eq!(q.list().expect("list").len(), 1);
}

#[test]
fn a_claim_is_exclusive_and_an_expired_lease_is_fenced_out() {
    let f = fixture();
    let mut a = JobQueue::open(&f.queue_path).expect("open");
    let mut b = JobQueue::open(&f.queue_path).expect("open");
    a.enqueue(&f.input, "default", &f.output, false)
        .expect("enqueue");
    let lease_a = a
        .claim("host:1", Duration::from_millis(50), &[])
        .expect("claim")
        .expect("a job");
    assert!(
        b.claim("host:2", Duration::from_secs(30), &[])
            .expect("claim")
            .is_none(),
        "leased to a"
    );

    std::thread::sleep(Duration::from_millis(80));
    let lease_b = b
        .claim("host:2", Duration::from_secs(30), &[])
        .expect("claim")
        .expect("expired lease reclaimed");
    assert_ne!(lease_a.token, lease_b.token);
    assert_eq!(lease_b.job.attempts, 2);
    assert!(
        !a.heartbeat(lease_a.job.id, &lease_a.token, Duration::from_secs(30), 0.5)
            .expect("heartbeat")
    );

    let stale = temp_file(&f, "stale.part", b"stale worker's output");
    assert!(matches!(
        a.publish(&lease_a, &stale),
        Err(JobError::LostLease(_))
    ));
    assert!(
        !f.output.exists(),
        "a worker without the lease never publishes"
    );

    let fresh = temp_file(&f, "fresh.part", b"current worker's output");
    b.publish(&lease_b, &fresh).expect("publish");
    assert_eq!(
        std::fs::read(&f.output).expect("output"),
        b"current worker's output"
    );
    assert!(!fresh.exists(), "the temporary name is gone");
    assert_eq!(
        b.get(lease_b.job.id).expect("get").expect("job").status,
        JobStatus::Succeeded
    );
}

#[test]
fn publish_never_replaces_an_existing_file() {
    let f = fixture();
    std::fs::write(&f.output, b"someone else's file").expect("write");
    let mut q = JobQueue::open(&f.queue_path).expect("open");
    q.enqueue(&f.input, "default", &f.output, false)
        .expect("enqueue");
    let lease = q
        .claim("host:1", Duration::from_secs(30), &[])
        .expect("claim")
        .expect("job");
    let temp = temp_file(&f, "x.part", b"new");
    assert!(matches!(
        q.publish(&lease, &temp),
        Err(JobError::OutputExists(_))
    ));
    assert_eq!(
        std::fs::read(&f.output).expect("output"),
        b"someone else's file"
    );
}

#[test]
fn failures_retry_with_growing_delays_then_fail() {
    let f = fixture();
    let mut q = JobQueue::open(&f.queue_path).expect("open");
    let id = q
        .enqueue(&f.input, "default", &f.output, false)
        .expect("enqueue")
        .id();
    for attempt in 1..=MAX_ATTEMPTS {
        let lease = loop {
            if let Some(lease) = q
                .claim("host:1", Duration::from_secs(30), &[])
                .expect("claim")
            {
                break lease;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        assert_eq!(lease.job.attempts, attempt);
        let status = q
            .fail(
                &lease,
                &format!("boom {attempt}"),
                false,
                Duration::from_millis(10),
            )
            .expect("fail");
        let expected = if attempt < MAX_ATTEMPTS {
            JobStatus::Pending
        } else {
            JobStatus::Failed
        };
        assert_eq!(status, expected);
    }
    let job = q.get(id).expect("get").expect("job");
    assert_eq!(
        (job.status, job.attempts, job.last_error.as_deref()),
        (JobStatus::Failed, 3, Some("boom 3"))
    );
    assert_eq!(q.retry_failed(&[]).expect("retry"), 1);
    assert_eq!(
        q.get(id).expect("get").expect("job").status,
        JobStatus::Pending
    );
}

#[test]
fn crashes_fail_a_job_only_after_five_and_clean_its_temp_file() {
    let f = fixture();
    let mut q = JobQueue::open(&f.queue_path).expect("open");
    let id = q
        .enqueue(&f.input, "default", &f.output, false)
        .expect("enqueue")
        .id();
    let mut claims = 0;
    let mut last_temp = None;
    loop {
        std::thread::sleep(Duration::from_millis(15));
        let Some(lease) = q
            .claim("host:1", Duration::from_millis(5), &[])
            .expect("claim")
        else {
            break;
        };
        claims += 1;
        assert!(claims <= MAX_CRASHES, "claimed {claims} times");
        // The "worker" writes a temporary file and dies without a word.
        let temp = temp_file(&f, &format!("attempt{claims}.part"), b"partial");
        q.set_temp(&lease, &temp).expect("temp");
        if let Some(previous) = last_temp.replace(temp) {
            assert_eq!(lease.stale_temp, Some(previous));
        }
    }
    assert_eq!(claims, MAX_CRASHES);
    let job = q.get(id).expect("get").expect("job");
    assert_eq!(job.status, JobStatus::Failed);
    assert!(
        job.last_error
            .as_deref()
            .is_some_and(|e| e.contains("5 attempts lost to crashes")),
        "{:?}",
        job.last_error
    );
    assert!(
        !last_temp.expect("a temp").exists(),
        "the last crashed attempt's temporary file is removed"
    );
}

#[test]
fn a_permanent_failure_fails_at_once() {
    let f = fixture();
    let mut q = JobQueue::open(&f.queue_path).expect("open");
    let id = q
        .enqueue(&f.input, "default", &f.output, false)
        .expect("enqueue")
        .id();
    let lease = q
        .claim("host:1", Duration::from_secs(30), &[])
        .expect("claim")
        .expect("job");
    let status = q
        .fail(&lease, "no video stream", true, Duration::from_millis(10))
        .expect("fail");
    assert_eq!(status, JobStatus::Failed);
    let job = q.get(id).expect("get").expect("job");
    assert_eq!(
        (job.status, job.attempts, job.last_error.as_deref()),
        (JobStatus::Failed, 1, Some("no video stream"))
    );
}

#[test]
fn a_stale_worker_writes_nothing_and_is_told_its_lease_is_lost() {
    let f = fixture();
    let mut a = JobQueue::open(&f.queue_path).expect("open");
    let mut b = JobQueue::open(&f.queue_path).expect("open");
    let id = a
        .enqueue(&f.input, "default", &f.output, false)
        .expect("enqueue")
        .id();
    let stale = a
        .claim("host:1", Duration::from_millis(30), &[])
        .expect("claim")
        .expect("job");
    std::thread::sleep(Duration::from_millis(60));
    let current = b
        .claim("host:2", Duration::from_secs(30), &[])
        .expect("claim")
        .expect("expired lease reclaimed");
    let lost = |r: Result<(), JobError>| matches!(r, Err(JobError::LostLease(i)) if i == id);
    assert!(matches!(
        a.fail(&stale, "stale", false, Duration::ZERO),
        Err(JobError::LostLease(_))
    ));
    assert!(lost(a.release(&stale)));
    assert!(lost(a.cancel(&stale)));
    assert!(lost(a.set_temp(&stale, &f.dir.path().join("x.part"))));
    let job = b.get(id).expect("get").expect("job");
    assert_eq!(
        (job.status, job.attempts, job.last_error),
        (JobStatus::Processing, 2, None),
        "the stale worker changed nothing"
    );
    b.release(&current).expect("the current holder still can");
}

#[test]
fn dead_local_leases_are_reclaimed_at_once() {
    let f = fixture();
    let mut q = JobQueue::open(&f.queue_path).expect("open");
    q.enqueue(&f.input, "default", &f.output, false)
        .expect("enqueue");
    let dead_owner = format!("{}:{}", host_name(), u32::MAX - 1);
    q.claim(&dead_owner, Duration::from_secs(3600), &[])
        .expect("claim")
        .expect("job");
    assert!(
        q.claim("host:2", Duration::from_secs(30), &[])
            .expect("claim")
            .is_none()
    );
    assert_eq!(q.reclaim_dead_local_leases().expect("reclaim"), 1);
    assert!(
        q.claim("host:2", Duration::from_secs(30), &[])
            .expect("claim")
            .is_some()
    );
}
