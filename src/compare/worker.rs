//! The compare worker thread: owns the [`Comparison`] of A and B (its own decoders), scores
//! the pair on screen and, on request, every pair of the clip in chunks (answering newer
//! requests between chunks), and builds difference images. The caller (the app's compare
//! view, a test) sends jobs and drains replies; newest-wins for the on-screen pair and the
//! difference image. Generic over the image a difference becomes ([`FrameImage`]): the app
//! asks for its texture image, built here so its UI thread only uploads it.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};

use super::{CompareError, Comparison, FrameScore, Pairing, difference_image, rgb_psnr};
use crate::frame::{Frame, FrameImage};
use crate::media::OpenOptions;

/// Pairs scored between looks at the inbox during a whole-clip run.
const CHUNK: usize = 12;

/// What the UI asks of the worker.
pub enum CompareJob {
    Open {
        a: PathBuf,
        b: PathBuf,
        options: OpenOptions,
        pairing: Pairing,
    },
    SetPairing(Pairing),
    /// Score A's frame `a` (0-based) with its partner.
    Score {
        a: usize,
    },
    /// Score every pair of the clip; progress replies carry `run`.
    ScoreAll {
        run: u64,
    },
    /// PSNR over R, G and B of two frames as shown.
    RgbPsnr {
        a: Arc<Frame>,
        b: Arc<Frame>,
    },
    /// |A - B| x gain of two frames as shown.
    Difference {
        a: Arc<Frame>,
        b: Arc<Frame>,
        gain: f32,
    },
}

/// What the worker reports.
pub enum CompareReply<I> {
    Opened,
    /// Scores keyed by A's frame (0-based) in `FrameScore::a - 1`.
    Scores(Vec<FrameScore>),
    Progress {
        run: u64,
        done: usize,
        total: usize,
    },
    Difference {
        a: usize,
        b: usize,
        gain: f32,
        image: Arc<I>,
    },
    /// RGB PSNR of A's frame `a` and B's frame `b` (0-based).
    RgbPsnr {
        a: usize,
        b: usize,
        db: f64,
    },
    Failed(CompareError),
}

/// The caller's end of the worker. Dropping it stops the thread.
pub struct CompareWorker<I> {
    jobs: Sender<CompareJob>,
    replies: Receiver<CompareReply<I>>,
    stop: Arc<AtomicBool>,
}

impl<I: FrameImage> CompareWorker<I> {
    /// Starts the worker thread; `wake` is called after each reply (the app repaints).
    pub fn spawn(wake: impl Fn() + Send + 'static) -> CompareWorker<I> {
        let (jobs, inbox) = bounded(64);
        let (outbox, replies) = bounded(256);
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        let _ = std::thread::Builder::new()
            .name("framekit-compare".into())
            .spawn(move || {
                Worker {
                    inbox,
                    outbox,
                    wake: Box::new(wake),
                    stop: thread_stop,
                    comparison: None,
                    whole_clip: VecDeque::new(),
                    whole_total: 0,
                    whole_run: 0,
                }
                .run()
            });
        CompareWorker {
            jobs,
            replies,
            stop,
        }
    }

    /// Sends a job; false when the worker is busy or gone (the caller retries next frame).
    pub fn send(&self, job: CompareJob) -> bool {
        match self.jobs.try_send(job) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        }
    }

    pub fn try_recv(&self) -> Option<CompareReply<I>> {
        self.replies.try_recv().ok()
    }

    /// Waits up to `timeout` for a reply (`None`: none came, or the worker is gone).
    pub fn recv_timeout(&self, timeout: Duration) -> Option<CompareReply<I>> {
        self.replies.recv_timeout(timeout).ok()
    }
}

impl<I> Drop for CompareWorker<I> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

struct Worker<I> {
    inbox: Receiver<CompareJob>,
    outbox: Sender<CompareReply<I>>,
    wake: Box<dyn Fn() + Send>,
    stop: Arc<AtomicBool>,
    comparison: Option<Comparison>,
    /// Pairs of a whole-clip run still to score.
    whole_clip: VecDeque<(usize, usize)>,
    whole_total: usize,
    whole_run: u64,
}

impl<I: FrameImage> Worker<I> {
    fn run(mut self) {
        while !self.stop.load(Ordering::SeqCst) {
            let first = if self.whole_clip.is_empty() {
                match self.inbox.recv_timeout(Duration::from_millis(100)) {
                    Ok(job) => Some(job),
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            } else {
                self.inbox.try_recv().ok()
            };
            let mut batch: Vec<CompareJob> = first.into_iter().collect();
            batch.extend(self.inbox.try_iter());
            // Newest wins for the pair on screen and the difference image.
            let last_score = batch
                .iter()
                .rposition(|j| matches!(j, CompareJob::Score { .. }));
            let last_difference = batch
                .iter()
                .rposition(|j| matches!(j, CompareJob::Difference { .. }));
            for (i, job) in batch.into_iter().enumerate() {
                let stale = match job {
                    CompareJob::Score { .. } => Some(i) != last_score,
                    CompareJob::Difference { .. } => Some(i) != last_difference,
                    _ => false,
                };
                if !stale && !self.handle(job) {
                    return;
                }
            }
            if !self.score_chunk() {
                return;
            }
        }
    }

    fn deliver(&self, reply: CompareReply<I>) -> bool {
        let sent = self
            .outbox
            .send_timeout(reply, Duration::from_secs(5))
            .is_ok();
        (self.wake)();
        sent
    }

    fn handle(&mut self, job: CompareJob) -> bool {
        match job {
            CompareJob::Open {
                a,
                b,
                options,
                pairing,
            } => {
                self.whole_clip.clear();
                self.comparison = None;
                match Comparison::open(&a, &b, &options, pairing) {
                    Ok(comparison) => {
                        self.comparison = Some(comparison);
                        self.deliver(CompareReply::Opened)
                    }
                    Err(e) => self.deliver(CompareReply::Failed(e)),
                }
            }
            CompareJob::SetPairing(pairing) => {
                self.whole_clip.clear();
                if let Some(comparison) = &mut self.comparison {
                    comparison.set_pairing(pairing);
                }
                true
            }
            CompareJob::Score { a } => {
                let Some(comparison) = &mut self.comparison else {
                    return true;
                };
                let pairs = comparison.pairs([a]);
                self.score(&pairs)
            }
            CompareJob::ScoreAll { run } => {
                if let Some(comparison) = &self.comparison {
                    self.whole_clip = comparison.all_pairs().into();
                    self.whole_total = self.whole_clip.len();
                    self.whole_run = run;
                }
                true
            }
            CompareJob::RgbPsnr { a, b } => self.deliver(CompareReply::RgbPsnr {
                a: a.index,
                b: b.index,
                db: rgb_psnr(&a, &b),
            }),
            CompareJob::Difference { a, b, gain } => {
                let image = I::from_frame(&difference_image(&a, &b, gain));
                self.deliver(CompareReply::Difference {
                    a: a.index,
                    b: b.index,
                    gain,
                    image: Arc::new(image),
                })
            }
        }
    }

    fn score(&mut self, pairs: &[(usize, usize)]) -> bool {
        let Some(comparison) = &mut self.comparison else {
            return true;
        };
        let mut scores = Vec::with_capacity(pairs.len());
        match comparison.score(pairs, |score| {
            scores.push(score);
            true
        }) {
            Ok(()) => self.deliver(CompareReply::Scores(scores)),
            Err(e) => {
                self.whole_clip.clear();
                self.deliver(CompareReply::Failed(e))
            }
        }
    }

    /// Scores the next chunk of a whole-clip run.
    fn score_chunk(&mut self) -> bool {
        if self.whole_clip.is_empty() {
            return true;
        }
        let take = CHUNK.min(self.whole_clip.len());
        let chunk: Vec<(usize, usize)> = self.whole_clip.drain(..take).collect();
        if !self.score(&chunk) {
            return false;
        }
        self.deliver(CompareReply::Progress {
            run: self.whole_run,
            done: self.whole_total - self.whole_clip.len(),
            total: self.whole_total,
        })
    }
}
