//! Frames for display at a given size (a player while playing): the decoded planes are first
//! scaled down in YUV (one swscale pass into a frame reused from call to call), then converted
//! as usual (the threaded planar converter, or the tone map), so a 4K frame shown in a
//! 1600-pixel view costs a fraction of its full conversion and no fresh full-size buffers.
//! Frames that would keep more than half their pixels convert at full size (the scaling
//! pass would cost what it saves).
//! The matrix and range are decided on the full-size frame and tagged on the scaled one, so
//! an untagged stream keeps its height rule's matrix. Exports, copies and the inspector use
//! the full-size path ([`VideoReader::frame`]); this is for pictures on screen only.

use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg::util::color;
use ffmpeg_next as ffmpeg;

use super::VideoReader;
use crate::frame::Frame;
use crate::media::MediaError;
use crate::media::color::{Converter, Range, assumed_space, decision_of};
use crate::media::display_planes::DisplayPlanes;
use crate::media::tonemap::{HdrMode, SourceTags, ToneMapper};

/// The display path's own scaler and converters (so the full-size path keeps its cached
/// contexts and tone-map tables while playback alternates with pauses).
#[derive(Default)]
pub(super) struct DisplayPath {
    scaler: Option<(ScaleKey, scaling::Context)>,
    /// The scaled planes, reused while the format and sizes stay the same.
    scaled: Option<ffmpeg::frame::Video>,
    pub(super) converter: Converter,
    pub(super) tone_mapper: ToneMapper,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ScaleKey {
    format: Pixel,
    width: u32,
    height: u32,
    to_width: u32,
    to_height: u32,
}

/// Scaling first pays when it leaves at most this share of the pixels (scaling costs about
/// what converting the pixels it saves would: 1080p in a 1600-pixel view converts at full
/// size, 4K in the same view at display size).
const WORTH_SCALING: f64 = 0.5;

/// The stored size that fits `fit` (a display-orientation box) once oriented, keeping the
/// aspect ratio, rounded to even sizes (chroma subsampling); `None` when the frame fits
/// already or would keep more than half its pixels.
pub fn display_size(stored: (u32, u32), quarter_turn: bool, fit: (u32, u32)) -> Option<(u32, u32)> {
    let (fit_w, fit_h) = if quarter_turn { (fit.1, fit.0) } else { fit };
    let (w, h) = stored;
    if w <= fit_w && h <= fit_h {
        return None;
    }
    let scale =
        (f64::from(fit_w) / f64::from(w.max(1))).min(f64::from(fit_h) / f64::from(h.max(1)));
    if scale * scale > WORTH_SCALING {
        return None;
    }
    let even = |v: f64| ((v / 2.0).round() as u32 * 2).max(2);
    let size = (even(f64::from(w) * scale), even(f64::from(h) * scale));
    (size.0 < w || size.1 < h).then_some(size)
}

impl DisplayPath {
    /// `decoded` scaled to `to` (same pixel format), its colour tags copied and its matrix and
    /// range set to those decided for the full-size frame. `None` when swscale cannot scale
    /// this format (the caller converts at full size).
    fn scale(
        &mut self,
        decoded: &ffmpeg::frame::Video,
        to: (u32, u32),
        fallback_space: color::Space,
        fallback_range: color::Range,
    ) -> Option<&ffmpeg::frame::Video> {
        let key = ScaleKey {
            format: decoded.format(),
            width: decoded.width(),
            height: decoded.height(),
            to_width: to.0,
            to_height: to.1,
        };
        if self.scaler.as_ref().map(|(k, _)| *k) != Some(key) {
            self.scaler = None;
            self.scaled = None;
            let context = scaling::Context::get(
                key.format,
                key.width,
                key.height,
                key.format,
                key.to_width,
                key.to_height,
                scaling::Flags::BILINEAR,
            )
            .ok()?;
            self.scaler = Some((key, context));
        }
        let (_, context) = self.scaler.as_mut()?;
        let mut scaled = match self.scaled.take() {
            Some(mut frame) => {
                // SAFETY: `frame` is a valid AVFrame that an earlier run allocated and we own;
                // make_writable copies its buffers only if something else still holds them.
                let writable = unsafe { ffmpeg::ffi::av_frame_make_writable(frame.as_mut_ptr()) };
                if writable >= 0 {
                    frame
                } else {
                    ffmpeg::frame::Video::empty()
                }
            }
            None => ffmpeg::frame::Video::empty(),
        };
        context.run(decoded, &mut scaled).ok()?;
        // SAFETY: both frames are valid AVFrames; copy_props copies metadata only (colour
        // tags, side data such as HDR mastering), never the planes or the dimensions.
        if unsafe { ffmpeg::ffi::av_frame_copy_props(scaled.as_mut_ptr(), decoded.as_ptr()) } < 0 {
            return None;
        }
        let decision = decision_of(decoded, fallback_space, fallback_range);
        scaled.set_color_space(decision.matrix.space());
        scaled.set_color_range(match decision.range {
            Range::Full => color::Range::JPEG,
            Range::Limited => color::Range::MPEG,
        });
        Some(self.scaled.insert(scaled))
    }
}

impl VideoReader {
    /// Frame `index` from its [`VideoReader::decoded`] planes, converted for display in a box
    /// of `fit` pixels (display orientation): scaled down in YUV first when larger, then
    /// converted (tone-mapped when HDR and asked for) and oriented. A frame that fits, or a
    /// format swscale cannot scale, comes out as [`VideoReader::shown_from_decoded`] gives it.
    pub fn display_from_decoded(
        &mut self,
        index: usize,
        decoded: &ffmpeg::frame::Video,
        fit: (u32, u32),
    ) -> Result<Frame, MediaError> {
        let orientation = self.shown_orientation();
        let quarter_turn = orientation.rotate_cw % 180 == 90;
        let Some(to) = display_size((decoded.width(), decoded.height()), quarter_turn, fit) else {
            return self.shown_from_decoded(index, decoded);
        };
        let tags = SourceTags::of_frame(decoded, self.shared.stream_tags);
        let space = assumed_space(tags.space, tags.transfer);
        let mut display = std::mem::take(&mut self.display);
        let scaled = display.scale(decoded, to, space, tags.range).is_some();
        let result = match (scaled, &display.scaled) {
            (true, Some(scaled)) => self
                .convert_with(
                    index,
                    scaled,
                    &mut display.converter,
                    &mut display.tone_mapper,
                )
                .map(|frame| orientation.apply(frame)),
            _ => self.shown_from_decoded(index, decoded),
        };
        self.display = display;
        result
    }
}

impl VideoReader {
    /// `decoded`'s planes with what a display needs to convert them as
    /// [`VideoReader::shown_from_decoded`] does (matrix, range, the tone map's tables when HDR
    /// is tone-mapped, orientation), for the app's GPU display. `None` where that conversion
    /// is not one a display can repeat (formats other than planar YUV, the filter-graph tone
    /// map).
    pub fn display_planes(&mut self, decoded: &ffmpeg::frame::Video) -> Option<DisplayPlanes> {
        let tags = SourceTags::of_frame(decoded, self.shared.stream_tags);
        let tone_map = match self.shared.hdr_mode {
            HdrMode::Tonemap => self.shared.hdr_peak.filter(|_| tags.hdr().is_some()),
            HdrMode::None => None,
        };
        let orientation = self.shown_orientation();
        match tone_map {
            Some(stream_peak) => {
                let (lut, decision) =
                    self.display
                        .tone_mapper
                        .tables_for_display(decoded, tags, stream_peak)?;
                DisplayPlanes::new(decoded, decision, Some(lut), orientation)
            }
            None => {
                let space = assumed_space(tags.space, tags.transfer);
                let decision = decision_of(decoded, space, tags.range);
                DisplayPlanes::new(decoded, decision, None, orientation)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::display_size;

    #[test]
    fn only_frames_shown_at_half_their_pixels_or_less_are_scaled() {
        assert_eq!(
            display_size((3840, 2160), false, (1600, 900)),
            Some((1600, 900))
        );
        assert_eq!(display_size((1920, 1080), false, (1600, 900)), None);
        assert_eq!(
            display_size((1280, 720), false, (640, 640)),
            Some((640, 360))
        );
        assert_eq!(display_size((640, 360), false, (1920, 1080)), None);
        // A quarter turn: the box is matched against the stored picture turned.
        assert_eq!(
            display_size((2160, 3840), true, (1600, 900)),
            Some((900, 1600))
        );
    }
}
