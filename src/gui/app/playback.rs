//! Playback at the clip's own timing: the frame due now is asked for once per UI frame, and
//! frames due but never shown are counted (the status line's dropped-frame counter).

use super::{FramekitApp, Playback, PlaybackCount, Request};

impl FramekitApp {
    pub(super) fn toggle_play(&mut self, ctx: &egui::Context) {
        if self.playback.take().is_some() {
            return;
        }
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
        // Frames due so far against those that reached the screen: the dropped-frame count.
        let due_so_far = due + 1 - play.from_index;
        self.screen.playback_frames = Some(PlaybackCount {
            due: due_so_far,
            dropped: due_so_far.saturating_sub(play.shown + 1),
        });
        if due != self.screen.target {
            self.screen.target = due;
            self.send(Request::Show { frame: due });
        }
        if at_end {
            self.playback = None;
        } else {
            ctx.request_repaint();
        }
    }
}
