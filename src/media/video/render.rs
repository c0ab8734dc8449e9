//! How a [`VideoReader`] hands a decoded frame out: converted to 8-bit RGB(A) (tone-mapped
//! when HDR and asked for) or to 16 bits, with the decoded samples for the inspector, and
//! oriented for display. Finding and decoding the frame is the reader's (`mod.rs`).

use ffmpeg::util::color;
use ffmpeg_next as ffmpeg;

use super::VideoReader;
use crate::frame::{DeepFrame, Frame, PixelLayout};
use crate::media::color::{Converter, Orientation, SourceSamples, assumed_space};
use crate::media::tonemap::{HdrMode, SourceTags, ToneMapped, ToneMapper};
use crate::media::{MediaError, MediaErrorKind};

impl VideoReader {
    /// Frame `index` (0-based, presentation order), converted to RGB(A) and oriented.
    pub fn frame(&mut self, index: usize) -> Result<Frame, MediaError> {
        self.render(index, false).map(|(frame, _)| frame)
    }

    /// Frame `index` at 16 bits per channel: the stream's own signal (never tone-mapped),
    /// converted with the same matrix and range rules as [`VideoReader::frame`], oriented.
    pub fn frame_deep(&mut self, index: usize) -> Result<DeepFrame, MediaError> {
        let decoded = self.decoded(index)?;
        let tags = SourceTags::of_frame(&decoded, self.shared.stream_tags);
        let space = assumed_space(tags.space, tags.transfer);
        let (samples, layout, _decision) = self
            .converter
            .convert_deep(&decoded, space, tags.range)
            .map_err(|e| self.error(MediaErrorKind::Convert(e)))?;
        let (stored_w, stored_h) = (decoded.width(), decoded.height());
        let orientation = self.shown_orientation();
        let (width, height) = orientation.display_size(stored_w, stored_h);
        Ok(DeepFrame {
            index,
            time_seconds: self.frame_time(index),
            width,
            height,
            layout,
            samples: orientation.reorient(&samples, stored_w, stored_h, layout.channels()),
        })
    }

    /// Frame `index` and a copy of the decoded samples behind it (for the pixel inspector).
    pub fn frame_with_samples(
        &mut self,
        index: usize,
    ) -> Result<(Frame, Option<SourceSamples>), MediaError> {
        self.render(index, true)
    }

    fn render(
        &mut self,
        index: usize,
        keep_samples: bool,
    ) -> Result<(Frame, Option<SourceSamples>), MediaError> {
        let decoded = self.decoded(index)?;
        let frame = self.shown_from_decoded(index, &decoded)?;
        let samples = if keep_samples {
            SourceSamples::capture(&decoded, self.shown_orientation())
        } else {
            None
        };
        Ok((frame, samples))
    }

    /// The decoded samples behind `decoded` (a new reference, not a copy), for the inspector.
    pub fn samples_of(&self, decoded: &ffmpeg::frame::Video) -> Option<SourceSamples> {
        SourceSamples::capture(decoded, self.shown_orientation())
    }

    /// The size `decoded` is shown at in full (oriented).
    pub fn shown_size(&self, decoded: &ffmpeg::frame::Video) -> (u32, u32) {
        self.shown_orientation()
            .display_size(decoded.width(), decoded.height())
    }

    pub(super) fn shown_orientation(&self) -> Orientation {
        if self.shared.autorotate {
            self.shared.orientation
        } else {
            Orientation::default()
        }
    }

    /// Frame `index` as [`VideoReader::frame`] gives it (converted, tone-mapped when asked,
    /// oriented), made from its [`VideoReader::decoded`] planes without decoding again.
    pub fn shown_from_decoded(
        &mut self,
        index: usize,
        decoded: &ffmpeg::frame::Video,
    ) -> Result<Frame, MediaError> {
        let frame = self.convert_decoded(index, decoded)?;
        Ok(self.shown_orientation().apply(frame))
    }

    /// Converts a frame from [`VideoReader::decoded`] to RGB(A) (tone-mapped when HDR and
    /// asked for), unrotated.
    pub fn convert_decoded(
        &mut self,
        index: usize,
        decoded: &ffmpeg::frame::Video,
    ) -> Result<Frame, MediaError> {
        let mut converter = std::mem::take(&mut self.converter);
        let mut tone_mapper = std::mem::take(&mut self.tone_mapper);
        let result = self.convert_with(index, decoded, &mut converter, &mut tone_mapper);
        self.converter = converter;
        self.tone_mapper = tone_mapper;
        result
    }

    /// [`VideoReader::convert_decoded`] with the given converter and tone mapper (the
    /// display path keeps its own).
    pub(super) fn convert_with(
        &self,
        index: usize,
        decoded: &ffmpeg::frame::Video,
        converter: &mut Converter,
        tone_mapper: &mut ToneMapper,
    ) -> Result<Frame, MediaError> {
        let time = self.frame_time(index);
        let tags = SourceTags::of_frame(decoded, self.shared.stream_tags);
        let tone_map = match self.shared.hdr_mode {
            HdrMode::Tonemap => self.shared.hdr_peak,
            HdrMode::None => None,
        };
        let converted = match tone_map {
            Some(stream_peak) if tags.hdr().is_some() => {
                let (mapped, _peak) = tone_mapper
                    .run(decoded, tags, stream_peak)
                    .map_err(|e| self.error(MediaErrorKind::Convert(e)))?;
                match mapped {
                    ToneMapped::Rgb(pixels) => {
                        return Ok(Frame {
                            index,
                            time_seconds: time,
                            width: decoded.width(),
                            height: decoded.height(),
                            layout: PixelLayout::Rgb8,
                            pixels,
                        });
                    }
                    ToneMapped::Planes(planes) => converter.convert(
                        &planes,
                        index,
                        time,
                        planes.color_space(),
                        color::Range::JPEG,
                    ),
                }
            }
            _ => {
                let space = assumed_space(tags.space, tags.transfer);
                converter.convert(decoded, index, time, space, tags.range)
            }
        };
        converted
            .map(|(frame, _decision)| frame)
            .map_err(|e| self.error(MediaErrorKind::Convert(e)))
    }
}
