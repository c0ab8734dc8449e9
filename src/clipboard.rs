//! The clipboard, off the UI thread. [`ClipboardAccess`] is the clipboard itself (arboard in
//! the app, [`MemoryClipboard`] in tests); a [`ClipboardWorker`] owns one on its own thread,
//! because arboard encodes a PNG to set an image and blocks on X11 and decodes a PNG to read
//! one. The UI thread only sends finished bytes and reads replies. Behind the `gui` feature
//! (arboard); the app and `framekit decode --clipboard` use it.

use std::sync::{Arc, Mutex};

use crossbeam_channel::{Receiver, Sender, TryRecvError, unbounded};

pub use crate::player::Bitmap as ClipboardImage;

/// Why the clipboard could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClipboardError {
    #[error("clipboard unavailable: {0}")]
    Unavailable(String),
    #[error("the clipboard holds no {0}")]
    Empty(&'static str),
    #[error("clipboard: {0}")]
    Backend(String),
    #[error("the clipboard thread has stopped")]
    Stopped,
}

/// What the app needs from a clipboard.
pub trait ClipboardAccess: Send {
    fn set_text(&mut self, text: String) -> Result<(), ClipboardError>;
    fn get_text(&mut self) -> Result<String, ClipboardError>;
    fn set_image(&mut self, image: ClipboardImage) -> Result<(), ClipboardError>;
    fn get_image(&mut self) -> Result<ClipboardImage, ClipboardError>;
}

/// The system clipboard (arboard), opened on first use.
#[derive(Default)]
pub struct SystemClipboard {
    inner: Option<arboard::Clipboard>,
}

impl SystemClipboard {
    fn clipboard(&mut self) -> Result<&mut arboard::Clipboard, ClipboardError> {
        if self.inner.is_none() {
            let clipboard = arboard::Clipboard::new()
                .map_err(|e| ClipboardError::Unavailable(e.to_string()))?;
            self.inner = Some(clipboard);
        }
        self.inner
            .as_mut()
            .ok_or_else(|| ClipboardError::Unavailable("not opened".to_string()))
    }
}

fn backend(error: arboard::Error) -> ClipboardError {
    match error {
        arboard::Error::ContentNotAvailable => ClipboardError::Empty("such content"),
        other => ClipboardError::Backend(other.to_string()),
    }
}

impl ClipboardAccess for SystemClipboard {
    fn set_text(&mut self, text: String) -> Result<(), ClipboardError> {
        self.clipboard()?.set_text(text).map_err(backend)
    }

    fn get_text(&mut self) -> Result<String, ClipboardError> {
        self.clipboard()?.get_text().map_err(backend)
    }

    fn set_image(&mut self, image: ClipboardImage) -> Result<(), ClipboardError> {
        let data = arboard::ImageData {
            width: image.width,
            height: image.height,
            bytes: image.rgba.into(),
        };
        self.clipboard()?.set_image(data).map_err(backend)
    }

    fn get_image(&mut self) -> Result<ClipboardImage, ClipboardError> {
        let data = self.clipboard()?.get_image().map_err(backend)?;
        Ok(ClipboardImage {
            width: data.width,
            height: data.height,
            rgba: data.bytes.into_owned(),
        })
    }
}

/// What a [`MemoryClipboard`] holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ClipboardContent {
    #[default]
    Empty,
    Text(String),
    Image(ClipboardImage),
}

/// An in-memory clipboard shared with the test that made it.
#[derive(Clone, Default)]
pub struct MemoryClipboard {
    pub content: Arc<Mutex<ClipboardContent>>,
}

impl MemoryClipboard {
    pub fn content(&self) -> ClipboardContent {
        self.content.lock().map(|c| c.clone()).unwrap_or_default()
    }

    pub fn put(&self, content: ClipboardContent) {
        if let Ok(mut slot) = self.content.lock() {
            *slot = content;
        }
    }
}

impl ClipboardAccess for MemoryClipboard {
    fn set_text(&mut self, text: String) -> Result<(), ClipboardError> {
        self.put(ClipboardContent::Text(text));
        Ok(())
    }

    fn get_text(&mut self) -> Result<String, ClipboardError> {
        match self.content() {
            ClipboardContent::Text(text) => Ok(text),
            _ => Err(ClipboardError::Empty("text")),
        }
    }

    fn set_image(&mut self, image: ClipboardImage) -> Result<(), ClipboardError> {
        self.put(ClipboardContent::Image(image));
        Ok(())
    }

    fn get_image(&mut self) -> Result<ClipboardImage, ClipboardError> {
        match self.content() {
            ClipboardContent::Image(image) => Ok(image),
            _ => Err(ClipboardError::Empty("image")),
        }
    }
}

/// Work for the clipboard thread.
#[derive(Debug)]
pub enum ClipboardJob {
    /// Put text on the clipboard; `summary` comes back when it is there.
    SetText { text: String, summary: String },
    /// Put a bitmap on the clipboard (arboard encodes it, here, not on the UI thread).
    SetImage {
        image: ClipboardImage,
        summary: String,
    },
    /// Read the clipboard: a bitmap if it holds one, else text.
    Read,
}

/// What the clipboard thread did.
#[derive(Debug)]
pub enum ClipboardReply {
    Set { summary: String },
    ReadImage(ClipboardImage),
    ReadText(String),
    Failed(ClipboardError),
}

/// A clipboard on its own thread.
pub struct ClipboardWorker {
    jobs: Sender<ClipboardJob>,
    replies: Receiver<ClipboardReply>,
}

impl ClipboardWorker {
    /// Starts the thread that owns `clipboard`; `wake` is called after each reply.
    pub fn spawn(
        mut clipboard: Box<dyn ClipboardAccess>,
        wake: impl Fn() + Send + 'static,
    ) -> ClipboardWorker {
        let (job_tx, job_rx) = unbounded::<ClipboardJob>();
        let (reply_tx, reply_rx) = unbounded();
        let _ = std::thread::Builder::new()
            .name("framekit-clipboard".into())
            .spawn(move || {
                for job in job_rx {
                    let reply = match job {
                        ClipboardJob::SetText { text, summary } => clipboard
                            .set_text(text)
                            .map(|()| ClipboardReply::Set { summary }),
                        ClipboardJob::SetImage { image, summary } => clipboard
                            .set_image(image)
                            .map(|()| ClipboardReply::Set { summary }),
                        ClipboardJob::Read => clipboard
                            .get_image()
                            .map(ClipboardReply::ReadImage)
                            .or_else(|_| clipboard.get_text().map(ClipboardReply::ReadText)),
                    };
                    let reply = reply.unwrap_or_else(ClipboardReply::Failed);
                    if reply_tx.send(reply).is_err() {
                        return;
                    }
                    wake();
                }
            });
        ClipboardWorker {
            jobs: job_tx,
            replies: reply_rx,
        }
    }

    pub fn send(&self, job: ClipboardJob) -> Result<(), ClipboardError> {
        self.jobs.send(job).map_err(|_| ClipboardError::Stopped)
    }

    /// The next reply without waiting; `Err(Stopped)` when the thread is gone.
    pub fn try_recv(&self) -> Result<Option<ClipboardReply>, ClipboardError> {
        match self.replies.try_recv() {
            Ok(reply) => Ok(Some(reply)),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => Err(ClipboardError::Stopped),
        }
    }
}
