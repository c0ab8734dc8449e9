//! Display rotation: the stream's display matrix read the way FFmpeg's `autorotate` reads
//! it (90/180/270 degrees and flips), applied to RGB(A) frames, and mapped back to stored
//! positions for the inspector.

use serde::Serialize;

use crate::frame::Frame;

/// Display orientation from the stream's display matrix, in the order FFmpeg's `autorotate`
/// applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Orientation {
    /// Clockwise rotation to apply for display: 0, 90, 180 or 270.
    pub rotate_cw: u16,
    /// Mirror left-right after rotating.
    pub hflip: bool,
    /// Mirror top-bottom after rotating.
    pub vflip: bool,
}

impl Orientation {
    /// Reads an FFmpeg display matrix (nine 16.16/2.30 fixed-point `i32`, native endian).
    /// Follows `fftools` `get_rotation` + `autorotate`: 90/180/270 with flips, else identity.
    pub fn from_display_matrix(bytes: &[u8]) -> Orientation {
        if bytes.len() < 36 {
            return Orientation::default();
        }
        let mut m = [0i32; 9];
        for (i, v) in m.iter_mut().enumerate() {
            let mut word = [0u8; 4];
            word.copy_from_slice(&bytes[i * 4..i * 4 + 4]);
            *v = i32::from_ne_bytes(word);
        }
        let scale0 = (m[0] as f64).hypot(m[3] as f64);
        let scale1 = (m[1] as f64).hypot(m[4] as f64);
        if scale0 == 0.0 || scale1 == 0.0 {
            return Orientation::default();
        }
        // get_rotation() = -round(av_display_rotation_get()) = round(atan2(m1, m0)).
        let mut theta = (m[1] as f64 / scale1)
            .atan2(m[0] as f64 / scale0)
            .to_degrees()
            .round();
        theta -= 360.0 * (theta / 360.0 + 0.9 / 360.0).floor();
        let near = |a: f64| (theta - a).abs() < 1.0;
        if near(90.0) {
            // transpose=clock, or cclock_flip (rotate 270 cw, then vflip) when mirrored.
            if m[3] > 0 {
                Orientation {
                    rotate_cw: 270,
                    hflip: false,
                    vflip: true,
                }
            } else {
                Orientation {
                    rotate_cw: 90,
                    hflip: false,
                    vflip: false,
                }
            }
        } else if near(180.0) {
            Orientation {
                rotate_cw: 0,
                hflip: m[0] < 0,
                vflip: m[4] < 0,
            }
        } else if near(270.0) {
            // transpose=cclock, or clock_flip (rotate 90 cw, then vflip) when mirrored.
            if m[3] < 0 {
                Orientation {
                    rotate_cw: 90,
                    hflip: false,
                    vflip: true,
                }
            } else {
                Orientation {
                    rotate_cw: 270,
                    hflip: false,
                    vflip: false,
                }
            }
        } else {
            Orientation {
                rotate_cw: 0,
                hflip: false,
                vflip: m[4] < 0,
            }
        }
    }

    pub fn is_identity(self) -> bool {
        self == Orientation::default()
    }

    /// Size after applying this orientation to a `width` x `height` picture.
    pub fn display_size(self, width: u32, height: u32) -> (u32, u32) {
        if self.rotate_cw % 180 == 90 {
            (height, width)
        } else {
            (width, height)
        }
    }

    /// Where display pixel (dx, dy) comes from in a stored `src_w` x `src_h` picture: undo
    /// the flips, then the rotation.
    pub fn stored_position(
        self,
        dx: usize,
        dy: usize,
        src_w: usize,
        src_h: usize,
    ) -> (usize, usize) {
        let (dst_w, dst_h) = if self.rotate_cw % 180 == 90 {
            (src_h, src_w)
        } else {
            (src_w, src_h)
        };
        let rx = if self.hflip { dst_w - 1 - dx } else { dx };
        let ry = if self.vflip { dst_h - 1 - dy } else { dy };
        match self.rotate_cw {
            90 => (ry, src_h - 1 - rx),
            180 => (src_w - 1 - rx, src_h - 1 - ry),
            270 => (src_w - 1 - ry, rx),
            _ => (rx, ry),
        }
    }

    /// Applies the orientation to a frame's pixels.
    pub fn apply(self, frame: Frame) -> Frame {
        if self.is_identity() {
            return frame;
        }
        let (width, height) = self.display_size(frame.width, frame.height);
        let pixels = self.reorient(
            &frame.pixels,
            frame.width,
            frame.height,
            frame.layout.channels(),
        );
        Frame {
            width,
            height,
            pixels,
            ..frame
        }
    }

    /// Stored samples (`channels` per pixel, rows packed) as displayed: rotated and
    /// flipped; the size is [`Orientation::display_size`].
    pub fn reorient<T: Copy>(
        self,
        stored: &[T],
        width: u32,
        height: u32,
        channels: usize,
    ) -> Vec<T> {
        if self.is_identity() {
            return stored.to_vec();
        }
        let (src_w, src_h) = (width as usize, height as usize);
        let (dst_w, dst_h) = self.display_size(width, height);
        let (dst_w, dst_h) = (dst_w as usize, dst_h as usize);
        let mut out = Vec::with_capacity(stored.len());
        for dy in 0..dst_h {
            for dx in 0..dst_w {
                let (sx, sy) = self.stored_position(dx, dy, src_w, src_h);
                let s = (sy * src_w + sx) * channels;
                out.extend_from_slice(&stored[s..s + channels]);
            }
        }
        out
    }
}
