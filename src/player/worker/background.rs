//! The worker's background threads: the indexer (a second input scanning every packet of
//! the open video) and the filmstrip (thumbnails from a second reader that shares the frame
//! index), both at low priority; the filmstrip waits while frames are being asked for.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::{Outbox, Worker, decoder_of, timeline_of};
use crate::media::MediaSource;
use crate::media::index::FrameIndex;
use crate::player::{FrameImage, Reply, THUMBNAIL_HEIGHT};

/// Filmstrip size.
const THUMBNAIL_COUNT: usize = 16;

/// What the background indexer reports to the worker.
pub(super) enum IndexNews {
    Progress { media_id: u64, fraction: f32 },
    Done { media_id: u64, index: FrameIndex },
}

impl<I: FrameImage> Worker<I> {
    /// Scans the open video's every packet on a thread of its own (a second input), when
    /// the index does not know every frame yet: the count for a file without a sample
    /// table, exact times and keyframes for one with. A URL with a table is not scanned
    /// (that would download it whole): its count and keyframes come from the table.
    pub(super) fn spawn_indexer(&self) {
        let Some(MediaSource::Video(video)) = &self.source else {
            return;
        };
        let Some(job) = video.scan_job() else {
            return;
        };
        if crate::media::url_of(job.path()).is_some() && video.index().total().is_some() {
            return;
        }
        let media_id = self.media_id.load(Ordering::SeqCst);
        let current = self.media_id.clone();
        let news = self.index_news.0.clone();
        let gate = self.options.index_gate.clone();
        let wake = self.outbox.wake.clone();
        let stop = self.outbox.stop.clone();
        let _ = std::thread::Builder::new()
            .name("framekit-index".into())
            .spawn(move || {
                lower_thread_priority();
                if let Some(gate) = gate {
                    let _ = gate.recv();
                }
                let mut last = -1.0f32;
                let scanned = job.run(&mut |fraction| {
                    let fraction = fraction as f32;
                    if fraction - last >= 0.01 {
                        last = fraction;
                        let _ = news.try_send(IndexNews::Progress { media_id, fraction });
                        wake();
                    }
                    !stop.load(Ordering::SeqCst) && current.load(Ordering::SeqCst) == media_id
                });
                if let Ok(index) = scanned {
                    let _ = news.send(IndexNews::Done { media_id, index });
                    wake();
                }
            });
    }

    /// Applies what the background indexer said; false when the caller is gone.
    pub(super) fn take_index_news(&mut self) -> bool {
        while let Ok(news) = self.index_news.1.try_recv() {
            let current = self.media_id.load(Ordering::SeqCst);
            let delivered = match news {
                IndexNews::Progress { media_id, fraction } if media_id == current => {
                    self.outbox.deliver(Reply::Indexing { media_id, fraction })
                }
                IndexNews::Done { media_id, index } if media_id == current => {
                    self.adopt_index(media_id, index)
                }
                // News of a file since replaced.
                _ => true,
            };
            if !delivered {
                return false;
            }
        }
        true
    }

    /// Takes the background index of the open video and tells the caller the whole count,
    /// frame times and keyframes; false when the caller is gone.
    fn adopt_index(&mut self, media_id: u64, index: FrameIndex) -> bool {
        let Some(MediaSource::Video(video)) = self.source.as_mut() else {
            return true;
        };
        let had_count = video.index().total().is_some();
        video.adopt_index(Arc::new(index));
        let Some(source) = &self.source else {
            return true;
        };
        let (frame_times, keyframes) = timeline_of(source);
        self.decoder_told = decoder_of(source);
        let reply = Reply::Indexed {
            media_id,
            info: Box::new(source.info().clone()),
            frame_times,
            keyframes,
        };
        if !self.outbox.deliver(reply) {
            return false;
        }
        // The filmstrip waited for the count.
        if !had_count && self.options.filmstrip {
            self.spawn_filmstrip();
        }
        true
    }

    /// Builds the filmstrip on its own thread with a second reader that shares the frame
    /// index (no second index pass), so it never delays a seek.
    pub(super) fn spawn_filmstrip(&self) {
        let Some(source) = &self.source else { return };
        let count = source.frame_count();
        if count < 2 {
            return;
        }
        let shared = source.shared();
        let media_id = self.media_id.load(Ordering::SeqCst);
        let current = self.media_id.clone();
        let outbox = self.outbox.clone();
        let requests = self.generation.clone();
        let _ = std::thread::Builder::new()
            .name("framekit-filmstrip".into())
            .spawn(move || {
                lower_thread_priority();
                let Ok(mut reader) = shared.open() else {
                    return;
                };
                let wanted = THUMBNAIL_COUNT.min(count);
                let mut seen = requests.load(Ordering::SeqCst);
                for slot in 0..wanted {
                    if outbox.stopping() || current.load(Ordering::SeqCst) != media_id {
                        return;
                    }
                    // Thumbnails wait while frames are being asked for (playback, held
                    // keys, a drag): the cores go to the frame on screen.
                    if !wait_for_quiet(&requests, &mut seen, &outbox, &current, media_id) {
                        return;
                    }
                    let index = slot * (count - 1) / (wanted - 1).max(1);
                    let started = std::time::Instant::now();
                    let Ok(frame) = reader.frame(index) else {
                        return;
                    };
                    let thumb = frame.thumbnail(THUMBNAIL_HEIGHT * 3, THUMBNAIL_HEIGHT);
                    let image = Arc::new(I::from_frame(&thumb));
                    if !outbox.deliver(Reply::Thumbnail {
                        media_id,
                        index,
                        image,
                    }) {
                        return;
                    }
                    // Low priority, and a pause twice as long as the thumbnail took: the
                    // filmstrip takes at most a third of the time, so frames that are slow
                    // to decode (4K, long GOPs) leave the cores to the frame on screen.
                    std::thread::sleep((started.elapsed() * 2).max(Duration::from_millis(15)));
                }
            });
    }
}

/// The filmstrip starts a thumbnail only once no frame was asked for during this long.
const FILMSTRIP_QUIET: Duration = Duration::from_millis(250);

/// Waits until no frame request came for [`FILMSTRIP_QUIET`]: `seen` is the request
/// generation of the last look, so an idle viewer costs no wait at all. False when the
/// player stops or another file was opened meanwhile.
fn wait_for_quiet<I>(
    requests: &AtomicU64,
    seen: &mut u64,
    outbox: &Outbox<I>,
    current: &AtomicU64,
    media_id: u64,
) -> bool {
    loop {
        if outbox.stopping() || current.load(Ordering::SeqCst) != media_id {
            return false;
        }
        let now = requests.load(Ordering::SeqCst);
        if now == *seen {
            return true;
        }
        *seen = now;
        std::thread::sleep(FILMSTRIP_QUIET);
    }
}

/// Lowers the calling thread's scheduling priority (Linux: its nice value; threads it starts,
/// such as FFmpeg's decoder threads, inherit it), so thumbnails never slow the frame on screen.
fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority take plain integers and touch no memory of ours; on Linux
    // the nice value is per thread, so this changes only the calling thread.
    unsafe {
        let tid = libc::gettid();
        let _ = libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10);
    }
}
