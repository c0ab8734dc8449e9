//! The clipboard behind a small trait, so the app can be tested without a display: the real
//! one is arboard; tests use [`MemoryClipboard`] and look at what was put on it.

use std::sync::{Arc, Mutex};

/// An RGBA bitmap on the clipboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipboardImage {
    pub width: usize,
    pub height: usize,
    /// Straight (not premultiplied) RGBA, row-major.
    pub rgba: Vec<u8>,
}

/// What the app needs from a clipboard.
pub trait ClipboardAccess: Send {
    fn set_text(&mut self, text: String) -> Result<(), String>;
    fn get_text(&mut self) -> Result<String, String>;
    fn set_image(&mut self, image: ClipboardImage) -> Result<(), String>;
    fn get_image(&mut self) -> Result<ClipboardImage, String>;
}

/// The system clipboard (arboard), opened on first use.
#[derive(Default)]
pub struct SystemClipboard {
    inner: Option<arboard::Clipboard>,
}

impl SystemClipboard {
    fn clipboard(&mut self) -> Result<&mut arboard::Clipboard, String> {
        if self.inner.is_none() {
            self.inner =
                Some(arboard::Clipboard::new().map_err(|e| format!("clipboard unavailable: {e}"))?);
        }
        self.inner
            .as_mut()
            .ok_or_else(|| "clipboard unavailable".to_string())
    }
}

impl ClipboardAccess for SystemClipboard {
    fn set_text(&mut self, text: String) -> Result<(), String> {
        self.clipboard()?.set_text(text).map_err(|e| e.to_string())
    }

    fn get_text(&mut self) -> Result<String, String> {
        self.clipboard()?.get_text().map_err(|e| e.to_string())
    }

    fn set_image(&mut self, image: ClipboardImage) -> Result<(), String> {
        let data = arboard::ImageData {
            width: image.width,
            height: image.height,
            bytes: image.rgba.into(),
        };
        self.clipboard()?.set_image(data).map_err(|e| e.to_string())
    }

    fn get_image(&mut self) -> Result<ClipboardImage, String> {
        let data = self.clipboard()?.get_image().map_err(|e| e.to_string())?;
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

    fn put(&self, content: ClipboardContent) {
        if let Ok(mut slot) = self.content.lock() {
            *slot = content;
        }
    }
}

impl ClipboardAccess for MemoryClipboard {
    fn set_text(&mut self, text: String) -> Result<(), String> {
        self.put(ClipboardContent::Text(text));
        Ok(())
    }

    fn get_text(&mut self) -> Result<String, String> {
        match self.content() {
            ClipboardContent::Text(text) => Ok(text),
            _ => Err("the clipboard holds no text".to_string()),
        }
    }

    fn set_image(&mut self, image: ClipboardImage) -> Result<(), String> {
        self.put(ClipboardContent::Image(image));
        Ok(())
    }

    fn get_image(&mut self) -> Result<ClipboardImage, String> {
        match self.content() {
            ClipboardContent::Image(image) => Ok(image),
            _ => Err("the clipboard holds no image".to_string()),
        }
    }
}
