//! The decoded samples behind a frame (Y/U/V at their bit depth, in any layout FFmpeg
//! describes), kept for the pixel inspector.

use ffmpeg_next as ffmpeg;

use super::color::pixel_format_name;
use super::rotate::Orientation;

/// The decoded samples behind a frame (Y, U, V or whatever the format holds), kept for the
/// pixel inspector. Any layout FFmpeg describes (planar, semi-planar, packed) is read through
/// its pixel-format descriptor. Holds a new reference to the decoded frame's buffers, not a
/// copy (a copy was 25 MB and a round of page faults for every 4K frame shown).
#[derive(Clone)]
pub struct SourceSamples {
    pub pixel_format: String,
    pub width: u32,
    pub height: u32,
    pub bit_depth: u8,
    /// Orientation applied to the frame shown, to map display positions back.
    pub orientation: Orientation,
    frame: std::sync::Arc<ffmpeg::frame::Video>,
    plane_count: usize,
    components: Vec<SampleComponent>,
    chroma_shift: (u8, u8),
}

impl std::fmt::Debug for SourceSamples {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceSamples")
            .field("pixel_format", &self.pixel_format)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("bit_depth", &self.bit_depth)
            .field("orientation", &self.orientation)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SampleComponent {
    plane: usize,
    step: usize,
    offset: usize,
    shift: u32,
    depth: u32,
}

impl SourceSamples {
    /// Copies the samples of a decoded frame; `None` for formats without a descriptor.
    pub fn capture(
        decoded: &ffmpeg::frame::Video,
        orientation: Orientation,
    ) -> Option<SourceSamples> {
        let desc = decoded.format().descriptor()?;
        // SAFETY: `descriptor()` returned FFmpeg's static descriptor for this format.
        let raw = unsafe { &*desc.as_ptr() };
        let count = usize::from(raw.nb_components).min(3);
        let components: Vec<SampleComponent> = raw.comp[..count]
            .iter()
            .map(|c| SampleComponent {
                plane: c.plane as usize,
                step: c.step.max(1) as usize,
                offset: c.offset.max(0) as usize,
                shift: c.shift.max(0) as u32,
                depth: c.depth.max(1) as u32,
            })
            .collect();
        let chroma_shift = (raw.log2_chroma_w, raw.log2_chroma_h);
        let plane_count = components
            .iter()
            .map(|c| c.plane + 1)
            .max()
            .unwrap_or(0)
            .min(decoded.planes());
        Some(SourceSamples {
            pixel_format: pixel_format_name(decoded.format()),
            width: decoded.width(),
            height: decoded.height(),
            bit_depth: components.first().map_or(8, |c| c.depth as u8),
            orientation,
            frame: std::sync::Arc::new(super::frame_reference(decoded).ok()?),
            plane_count,
            components,
            chroma_shift,
        })
    }

    /// The stored sample values under display pixel (x, y), one per component.
    pub fn at_display(&self, x: u32, y: u32) -> Option<Vec<u16>> {
        let (dw, dh) = self.orientation.display_size(self.width, self.height);
        if x >= dw || y >= dh {
            return None;
        }
        let (sx, sy) = self.orientation.stored_position(
            x as usize,
            y as usize,
            self.width as usize,
            self.height as usize,
        );
        self.components
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let (cx, cy) = if i == 0 || self.components.len() < 3 {
                    (sx, sy)
                } else {
                    (sx >> self.chroma_shift.0, sy >> self.chroma_shift.1)
                };
                if c.plane >= self.plane_count {
                    return None;
                }
                let (data, stride) = (self.frame.data(c.plane), self.frame.stride(c.plane));
                let at = cy * stride + cx * c.step + c.offset;
                let word = if c.depth + c.shift > 8 {
                    u32::from(u16::from_le_bytes([*data.get(at)?, *data.get(at + 1)?]))
                } else {
                    u32::from(*data.get(at)?)
                };
                Some(((word >> c.shift) & ((1 << c.depth) - 1)) as u16)
            })
            .collect()
    }

    /// The decoded frame these samples read (stored orientation, full size).
    pub fn decoded(&self) -> &ffmpeg::frame::Video {
        &self.frame
    }

    /// Bytes held (the decoded frame's planes), for cache budgets.
    pub fn byte_size(&self) -> usize {
        (0..self.plane_count)
            .map(|p| self.frame.data(p).len())
            .sum()
    }
}
