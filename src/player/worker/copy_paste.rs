//! The decoder thread's clipboard work: copying a frame or a list of frames as PNG, base64 or
//! a bitmap ([`CopyForm`]), and opening pasted base64 text or a pasted bitmap as an image.
//! Everything here runs on the worker thread, never on the UI thread.

use std::sync::Arc;

use crate::codec::{self, TextForm};
use crate::frame::{Frame, PixelLayout};
use crate::media::{MediaSource, StillImage};

use super::{LARGE_FRAME_PIXELS, LateIf, Worker};
use crate::player::{
    Bitmap, ClipboardPayload, CopyForm, FrameImage, Operation, PlayerError, Reply, human_size,
};

impl<I: FrameImage> Worker<I> {
    pub(super) fn copy(&mut self, index: usize, form: CopyForm) -> bool {
        let result = match form {
            CopyForm::List(ids) => self.copy_list(&ids),
            form => self.copy_frame(index, form),
        };
        match result {
            Ok((payload, summary)) => self.outbox.deliver(Reply::Copied { payload, summary }),
            Err(error) => self.fail(Operation::Copy, error),
        }
    }

    fn copy_frame(
        &mut self,
        index: usize,
        form: CopyForm,
    ) -> Result<(ClipboardPayload, String), PlayerError> {
        let frame = self
            .decode(index, None, LateIf::Never)?
            .ok_or(PlayerError::Busy)?
            .frame;
        let size = format!("{}x{}", frame.width, frame.height);
        if form == CopyForm::Image {
            let image = Bitmap {
                width: frame.width as usize,
                height: frame.height as usize,
                rgba: frame.to_rgba(),
            };
            return Ok((
                ClipboardPayload::Image(image),
                format!("copied frame {} as an image, {size}", index + 1),
            ));
        }
        if u64::from(frame.width) * u64::from(frame.height) > LARGE_FRAME_PIXELS {
            self.outbox
                .deliver(Reply::Busy(format!("encoding {size} PNG…")));
        }
        let png = codec::encode_png(&frame).map_err(|e| codec::GetFramesError::Png {
            id: index + 1,
            reason: e.to_string(),
        })?;
        let (text_form, what) = match form {
            CopyForm::DataUri => (TextForm::DataUri, "PNG data URI"),
            _ => (TextForm::Base64, "base64 PNG"),
        };
        let text = codec::png_to_text(&png, text_form);
        let summary = format!("copied {} {what}, {size}", human_size(text.len()));
        Ok((ClipboardPayload::Text(text), summary))
    }

    /// The app's "Copy list": the same streaming writer as `framekit frames`, so only one
    /// decoded frame is in memory at a time (plus the text being built).
    fn copy_list(&mut self, ids: &str) -> Result<(ClipboardPayload, String), PlayerError> {
        let requested = codec::parse_frame_ids(ids).map_err(codec::GetFramesError::from)?;
        let source = self.source.as_mut().ok_or(PlayerError::NothingOpen)?;
        self.outbox
            .deliver(Reply::Busy("encoding frames…".to_string()));
        let (text, selection) = codec::frames_text_from_source(
            source,
            &requested,
            TextForm::Base64,
            self.options.open.limits.max_answer_bytes,
        )?;
        let ids: Vec<String> = selection.ids.iter().map(usize::to_string).collect();
        let mut summary = format!(
            "copied frames {} as '|'-joined base64 PNGs, {}",
            ids.join(","),
            human_size(text.len())
        );
        if !selection.skipped.is_empty() {
            let skipped: Vec<String> = selection.skipped.iter().map(i64::to_string).collect();
            summary.push_str(&format!(" (skipped {})", skipped.join(",")));
        }
        Ok((ClipboardPayload::Text(text), summary))
    }

    pub(super) fn paste(&mut self, text: &str) -> bool {
        let mut images = match codec::decode_base64_images(text, &self.options.open.limits) {
            Ok(images) => images,
            Err(e) => return self.fail(Operation::Paste, e.into()),
        };
        let formats: Vec<String> = images
            .iter()
            .map(|i| codec::paste::format_name(i.format))
            .collect();
        let label = format!("pasted {}", formats.join("+"));
        if images.len() == 1
            && let Some(only) = images.pop()
        {
            // One image (an animation stays lazily decoded).
            let still = only.image.into_pasted(&label);
            return self.set_source(MediaSource::Still(Arc::new(still)));
        }
        // A '|' list becomes one steppable sequence, inside the total-pixel limit.
        let total: u64 = images
            .iter()
            .map(|i| {
                let (width, height) = i
                    .image
                    .info()
                    .video
                    .as_ref()
                    .map_or((0, 0), |v| (v.width, v.height));
                i.image.frame_count() as u64 * u64::from(width) * u64::from(height)
            })
            .sum();
        let within = self.options.open.limits.check_total(total, || {
            format!("the pasted images hold {} megapixels", total / 1_000_000)
        });
        if let Err(error) = within {
            return self.fail(
                Operation::Paste,
                PlayerError::Media(crate::media::MediaError::new(
                    std::path::Path::new(&label),
                    error.into(),
                )),
            );
        }
        let mut frames = Vec::new();
        for image in &images {
            for n in 0..image.image.frame_count() {
                match image.image.frame(n) {
                    Ok(frame) => frames.push(Frame {
                        index: frames.len(),
                        ..frame
                    }),
                    Err(e) => return self.fail(Operation::Paste, e.into()),
                }
            }
        }
        match StillImage::from_frames(&label, &formats.join("+").to_lowercase(), frames) {
            Ok(still) => self.set_source(MediaSource::Still(Arc::new(still))),
            Err(e) => self.fail(Operation::Paste, e.into()),
        }
    }

    pub(super) fn paste_bitmap(&mut self, bitmap: Bitmap) -> bool {
        let pixels = bitmap.width as u64 * bitmap.height as u64;
        if pixels > self.options.open.limits.max_pixels {
            return self.fail(
                Operation::Paste,
                PlayerError::BitmapTooLarge {
                    width: bitmap.width,
                    height: bitmap.height,
                    limit: self.options.open.limits.max_pixels / 1_000_000,
                },
            );
        }
        if bitmap.rgba.len() as u64 != pixels * 4 || pixels == 0 {
            return self.fail(
                Operation::Paste,
                PlayerError::BadBitmap {
                    width: bitmap.width,
                    height: bitmap.height,
                    bytes: bitmap.rgba.len(),
                },
            );
        }
        let frame = Frame {
            index: 0,
            time_seconds: None,
            width: bitmap.width as u32,
            height: bitmap.height as u32,
            layout: PixelLayout::Rgba8,
            pixels: bitmap.rgba,
        };
        match StillImage::from_frames("pasted bitmap", "bitmap", vec![frame]) {
            Ok(still) => self.set_source(MediaSource::Still(Arc::new(still))),
            Err(e) => self.fail(Operation::Paste, e.into()),
        }
    }
}
