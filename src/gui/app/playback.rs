//! How the app asks for frames: a step or a jump ([`FramekitApp::request_frame`]), and
//! playback at the clip's own timing: the frame due now is asked for once per UI frame, and
//! frames due but never shown are counted (the status line's dropped-frame counter). While
//! playing, and while a held key or a drag moves the playhead, frames are asked for at the
//! size the view shows them (the player converts a 4K frame shown in a 1600-pixel view at
//! that size); once the playhead settles, the frame on screen is asked for again at full size.

use super::{FramekitApp, Playback, PlaybackCount, Request};

/// Frame requests closer together than this (seconds) are one move (key repeat is 25-33 a
/// second; a drag asks every UI frame); a frame shown at display size is asked for at full
/// size once no request came for this long.
pub(super) const SETTLE: f64 = 0.15;

impl FramekitApp {
    pub(super) fn toggle_play(&mut self, ctx: &egui::Context) {
        if self.playback.take().is_some() {
            return;
        }
        self.full_asked = None;
        let Some(media) = &self.screen.media else {
            return;
        };
        if media.frame_count() < 2 {
            return;
        }
        let from_index = if self.screen.target + 1 >= media.frame_count() {
            0
        } else {
            self.screen.target
        };
        let from_media_time = media
            .frame_times
            .get(from_index)
            .copied()
            .flatten()
            .unwrap_or(0.0);
        self.playback = Some(Playback {
            started_at: ctx.input(|i| i.time),
            from_media_time,
            from_index,
            shown: 0,
            last_shown: None,
        });
    }

    /// Advances playback to the frame due now, at the clip's own timing.
    pub(super) fn advance_playback(&mut self, ctx: &egui::Context) {
        let (Some(play), Some(media)) = (self.playback, &self.screen.media) else {
            return;
        };
        let elapsed = ctx.input(|i| i.time) - play.started_at;
        let due_time = play.from_media_time + elapsed;
        let fps = media.fps();
        let mut due = play.from_index;
        while due + 1 < media.frame_count() {
            let next_time = media.frame_times[due + 1].unwrap_or((due + 1) as f64 / fps);
            if next_time > due_time {
                break;
            }
            due += 1;
        }
        let at_end = due + 1 >= media.frame_count();
        // When the frame after it is due, on the clip's clock.
        let next_due = (!at_end).then(|| {
            let next_time = media.frame_times[due + 1].unwrap_or((due + 1) as f64 / fps);
            (next_time - due_time).clamp(0.0, 1.0)
        });
        // Frames due so far against those that reached the screen: the dropped-frame count.
        let due_so_far = due + 1 - play.from_index;
        self.screen.playback_frames = Some(PlaybackCount {
            due: due_so_far,
            dropped: due_so_far.saturating_sub(play.shown + 1),
        });
        if due != self.screen.target {
            self.screen.target = due;
            let request = self.moving_request(ctx, due);
            self.send(request);
        }
        if at_end {
            self.playback = None;
        } else {
            // The next UI frame when the next video frame is due (a frame arriving wakes the
            // UI too): no redraws in between, which on software OpenGL cost a core.
            let wait = next_due.unwrap_or(0.0);
            ctx.request_repaint_after(std::time::Duration::from_secs_f64(wait));
        }
    }

    /// Asks for frame `index` (clamped), unless it is already the target and on screen.
    /// While the user moves (a held key, a timeline drag) frames come at the size the view
    /// shows them; the one the move stops on follows at full size.
    pub(super) fn request_frame(&mut self, ctx: &egui::Context, index: usize) {
        let count = self.frame_count();
        if count == 0 {
            return;
        }
        let index = index.min(count - 1);
        let on_screen = self
            .screen
            .shown
            .as_ref()
            .is_some_and(|s| s.index == index && s.exact && !s.is_reduced());
        if index == self.screen.target && on_screen {
            return;
        }
        self.screen.target = index;
        self.screen.filmstrip_follows = true;
        let now = ctx.input(|i| i.time);
        let moving = self
            .last_step_at
            .replace(now)
            .is_some_and(|last| now - last < SETTLE);
        let request = if moving {
            self.moving_request(ctx, index)
        } else {
            Request::Show { frame: index }
        };
        self.full_asked = None;
        self.send(request);
    }

    /// The request for frame `index` while the playhead moves: at the view's size when the
    /// view shows the frame smaller, as planes for the GPU display (no conversion on the
    /// CPU), else at full size.
    pub(super) fn moving_request(&self, ctx: &egui::Context, index: usize) -> Request {
        let full = self.screen.shown.as_ref().map(|s| s.full_size);
        match (self.display_fit(ctx), full) {
            (Some(fit), _) => Request::ShowAt { frame: index, fit },
            (None, Some(fit)) if self.gpu_display_on() => Request::ShowAt { frame: index, fit },
            _ => Request::Show { frame: index },
        }
    }

    /// The pixels the view shows the frame in (fit or zoomed out), when smaller than the
    /// frame; `None` at 100% and above, before the first frame, and while comparing (the
    /// scores read the frames as shown).
    fn display_fit(&self, ctx: &egui::Context) -> Option<(u32, u32)> {
        if self.compare.is_some() {
            return None;
        }
        let (width, height) = self.screen.shown.as_ref()?.full_size;
        let view = self.view.last_view?;
        let scale = self.view.zoom.scale_for(width, height, Some(view)) * ctx.pixels_per_point();
        if scale >= 1.0 || !scale.is_finite() || scale <= 0.0 {
            return None;
        }
        let fit = |side: u32| ((side as f32 * scale).ceil() as u32).max(1);
        Some((fit(width), fit(height)))
    }

    /// Once playback or a move stops on a frame converted at display size, asks for it at
    /// full size (the inspector, copies and zoom want the exact pixels); after a move, once
    /// no step came for [`SETTLE`].
    pub(super) fn ask_full_size_when_paused(&mut self, ctx: &egui::Context) {
        if self.playback.is_some() {
            return;
        }
        let Some(shown) = &self.screen.shown else {
            return;
        };
        if !shown.is_reduced()
            || shown.index != self.screen.target
            || self.full_asked == Some(shown.index)
        {
            return;
        }
        let since_step = self.last_step_at.map(|at| ctx.input(|i| i.time) - at);
        if let Some(since) = since_step
            && since < SETTLE
        {
            ctx.request_repaint_after(std::time::Duration::from_secs_f64(SETTLE - since));
            return;
        }
        let index = shown.index;
        self.full_asked = Some(index);
        self.send(Request::Show { frame: index });
    }
}
