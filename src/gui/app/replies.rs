//! The app's side of its workers: drains the player's and the clipboard thread's replies once
//! per frame (the newest frame wins) and turns them into state.

use super::{
    ClipboardJob, ClipboardPayload, ClipboardReply, Command, FramekitApp, OpenMedia, Operation,
    Path, ReadyFrame, Reply, Request, ShownFrame, TextureOptions, Zoom, sampling,
};
use crate::media::MediaInfo;

impl FramekitApp {
    /// Reads the player's and the clipboard's replies (newest frame wins) and changes state
    /// accordingly.
    pub fn drain_replies(&mut self, ctx: &egui::Context) {
        let mut newest_frame = None;
        loop {
            match self.player.try_recv() {
                Ok(Some(Reply::Frame(ready))) => {
                    // Newer than what is on screen: show it, even if the user has asked for
                    // another frame since (playback and drags stay live when decoding is
                    // slower than the requests; the status says "placeholder").
                    if ready.generation >= self.shown_generation {
                        self.shown_generation = ready.generation;
                        newest_frame = Some(ready);
                    }
                }
                Ok(Some(Reply::Opened {
                    info,
                    frame_times,
                    keyframes,
                    media_id,
                })) => {
                    newest_frame = None;
                    self.opened(*info, frame_times, keyframes, media_id);
                }
                Ok(Some(reply)) => self.reply(ctx, reply),
                Ok(None) => break,
                Err(e) => {
                    self.messages.error = Some(e.to_string());
                    break;
                }
            }
        }
        loop {
            match self.clipboard.try_recv() {
                Ok(Some(reply)) => self.clipboard_reply(ctx, reply),
                Ok(None) => break,
                Err(e) => {
                    self.messages.error = Some(e.to_string());
                    break;
                }
            }
        }
        if let Some(ready) = newest_frame {
            self.show_frame(ctx, ready);
        }
    }

    fn opened(
        &mut self,
        info: MediaInfo,
        frame_times: Vec<Option<f64>>,
        keyframes: Vec<bool>,
        media_id: u64,
    ) {
        self.messages.busy = None;
        self.messages.error = None;
        // An HDR switch reopens the same file: its frame and filmstrip stay on screen (as
        // placeholders) until the reopened file's arrive, and so do the zoom and pan.
        let same_file = self
            .reopen_at
            .as_ref()
            .is_some_and(|(path, _)| *path == info.path);
        if same_file {
            if let Some(shown) = &mut self.screen.shown {
                shown.exact = false;
            }
        } else {
            self.screen.shown = None;
            self.screen.thumbnails.clear();
            self.view.zoom = Zoom::Fit;
            self.view.pan = egui::Vec2::ZERO;
        }
        self.messages.note = Some(format!("opened {}", info.path));
        if info.pasted {
            let size = info
                .video
                .as_ref()
                .map_or(String::new(), |v| format!(", {}x{}", v.width, v.height));
            let summary = format!(
                "showing {} frame(s) from {}{size}",
                frame_times.len(),
                info.path
            );
            if std::mem::take(&mut self.paste.awaiting) {
                self.paste.feedback = Some(Ok(summary));
            }
        } else {
            // Only files that opened go into the recent list.
            self.remember_recent(Path::new(&info.path));
        }
        // A paste keeps the file it replaces one step back (File > Back); opening a file
        // forgets it.
        if info.pasted {
            if let Some(path) = self.a_path.clone() {
                self.before_paste = Some((path, self.screen.target));
            }
        } else {
            self.before_paste = None;
        }
        // A's path for the compare worker: the one asked for (an HDR switch reopens it).
        self.a_path = if info.pasted {
            None
        } else {
            self.opening
                .take()
                .or_else(|| self.a_path.take())
                .or_else(|| Some(std::path::PathBuf::from(&info.path)))
        };
        self.screen.media = Some(OpenMedia {
            info,
            frame_times,
            keyframes,
            media_id,
            indexing: None,
        });
        // An HDR switch reopens the same file: stay on the frame the user was on.
        let target = match self.reopen_at.take() {
            Some((path, index))
                if self
                    .screen
                    .media
                    .as_ref()
                    .is_some_and(|m| m.info.path == path) =>
            {
                index.min(self.screen.frame_count().saturating_sub(1))
            }
            _ => 0,
        };
        // Back from a paste: the frame the file showed.
        let target = match self.return_to.take() {
            Some((path, index)) if self.a_path.as_ref() == Some(&path) => {
                index.min(self.screen.frame_count().saturating_sub(1))
            }
            _ => target,
        };
        self.screen.target = target;
        self.send(Request::Show { frame: target });
    }

    /// Every reply but frames and opens.
    fn reply(&mut self, ctx: &egui::Context, reply: Reply<egui::ColorImage>) {
        match reply {
            Reply::Frame(_) | Reply::Opened { .. } => {}
            Reply::Thumbnail {
                media_id,
                index,
                image,
            } => {
                if self
                    .screen
                    .media
                    .as_ref()
                    .is_some_and(|m| m.media_id == media_id)
                {
                    let texture =
                        ctx.load_texture(format!("thumb-{index}"), image, TextureOptions::LINEAR);
                    // A reopened file's thumbnail replaces the one shown meanwhile.
                    self.screen.thumbnails.retain(|(i, _)| *i != index);
                    self.screen.thumbnails.push((index, texture));
                }
            }
            Reply::Indexing { media_id, fraction } => {
                if let Some(media) = self.current_media(media_id) {
                    media.indexing = Some(fraction);
                }
            }
            Reply::Indexed {
                media_id,
                info,
                frame_times,
                keyframes,
            } => {
                if let Some(media) = self.current_media(media_id) {
                    media.info = *info;
                    media.frame_times = frame_times;
                    media.keyframes = keyframes;
                    media.indexing = None;
                }
            }
            Reply::InfoChanged { media_id, info } => {
                if let Some(media) = self.current_media(media_id) {
                    media.info = *info;
                }
            }
            Reply::Busy(note) => self.messages.busy = Some(note),
            Reply::Copied { payload, summary } => {
                // The clipboard thread puts it there; arboard's PNG encode of a bitmap runs
                // there too, never here.
                self.messages.busy = Some("copying to the clipboard…".to_string());
                let job = match payload {
                    ClipboardPayload::Text(text) => ClipboardJob::SetText { text, summary },
                    ClipboardPayload::Image(image) => ClipboardJob::SetImage { image, summary },
                };
                self.send_clipboard(job);
            }
            Reply::Failed { op, error } => {
                self.messages.busy = None;
                let message = error.to_string();
                if op == Operation::Paste && std::mem::take(&mut self.paste.awaiting) {
                    self.paste.feedback = Some(Err(message.clone()));
                }
                self.messages.error = Some(message);
            }
        }
    }

    /// The open media, when it is the one `media_id` names (replies for a file since
    /// replaced are dropped).
    fn current_media(&mut self, media_id: u64) -> Option<&mut OpenMedia> {
        self.screen
            .media
            .as_mut()
            .filter(|m| m.media_id == media_id)
    }

    fn clipboard_reply(&mut self, ctx: &egui::Context, reply: ClipboardReply) {
        self.messages.busy = None;
        match reply {
            ClipboardReply::Set { summary } => {
                self.messages.error = None;
                self.messages.note = Some(summary);
            }
            ClipboardReply::ReadImage(image) => self.apply(ctx, Command::PasteBitmap(image)),
            ClipboardReply::ReadText(text) => self.apply(ctx, Command::PasteText(text)),
            ClipboardReply::Failed(e) => self.messages.error = Some(e.to_string()),
        }
    }

    fn show_frame(&mut self, ctx: &egui::Context, ready: ReadyFrame<egui::ColorImage>) {
        if ready.exact {
            self.messages.error = None;
            if let Some(play) = &mut self.playback
                && play.last_shown != Some(ready.index)
                && ready.index >= play.from_index
            {
                play.shown += 1;
                play.last_shown = Some(ready.index);
            }
        }
        let options = sampling(self.view.nearest);
        // The GPU display draws the planes: the CPU's picture is uploaded only when drawn
        // (compare, the CPU display; see `check_display`).
        let gpu_draws = self.gpu_display_on() && ready.planes.is_some();
        let old = self.screen.shown.take().and_then(|shown| shown.texture);
        let texture = if gpu_draws || ready.frame.width == 0 {
            None
        } else {
            Some(match old {
                Some(mut texture) if texture.size() == ready.image.size => {
                    texture.set(ready.image.clone(), options);
                    texture
                }
                _ => ctx.load_texture("frame", ready.image.clone(), options),
            })
        };
        self.screen.shown = Some(ShownFrame {
            index: ready.index,
            exact: ready.exact,
            texture,
            planes: ready.planes,
            image: ready.image,
            frame: ready.frame,
            samples: ready.samples,
            full_size: ready.full_size,
        });
    }
}
