//! On the frames as shown (RGB, after rotation and tone mapping): difference images, |A - B|
//! per channel multiplied by a gain (small differences made visible), and the RGB PSNR the
//! app shows beside FFmpeg's plane scores. B is resized to A's size first when they differ.

use crate::frame::{Frame, PixelLayout};

/// |A - B| x `gain` per channel, clamped to 255, as an RGB frame the size of A (alpha is
/// ignored). Carries A's index and time.
pub fn difference_image(a: &Frame, b: &Frame, gain: f32) -> Frame {
    let b = sized_like(a, b);
    let (a_channels, b_channels) = (a.layout.channels(), b.layout.channels());
    let gain = gain.max(0.0);
    let pixels = a
        .pixels
        .chunks_exact(a_channels)
        .zip(b.pixels.chunks_exact(b_channels))
        .flat_map(|(pa, pb)| {
            let channel = |i: usize| {
                let d = f32::from(pa[i].abs_diff(pb[i])) * gain;
                d.round().min(255.0) as u8
            };
            [channel(0), channel(1), channel(2)]
        })
        .collect();
    Frame {
        index: a.index,
        time_seconds: a.time_seconds,
        width: a.width,
        height: a.height,
        layout: PixelLayout::Rgb8,
        pixels,
    }
}

/// PSNR over the R, G and B channels (alpha ignored): 10 log10(255^2 / MSE); infinite when
/// the frames are identical.
pub fn rgb_psnr(a: &Frame, b: &Frame) -> f64 {
    let b = sized_like(a, b);
    let (a_channels, b_channels) = (a.layout.channels(), b.layout.channels());
    let (sum, count) = a
        .pixels
        .chunks_exact(a_channels)
        .zip(b.pixels.chunks_exact(b_channels))
        .fold((0u64, 0u64), |(sum, count), (pa, pb)| {
            let squares: u64 = (0..3)
                .map(|i| u64::from(pa[i].abs_diff(pb[i])).pow(2))
                .sum();
            (sum + squares, count + 3)
        });
    if sum == 0 {
        return f64::INFINITY;
    }
    let mse = sum as f64 / count.max(1) as f64;
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

/// B as it is, or resized to A's size.
fn sized_like<'b>(a: &Frame, b: &'b Frame) -> std::borrow::Cow<'b, Frame> {
    if (a.width, a.height) == (b.width, b.height) {
        std::borrow::Cow::Borrowed(b)
    } else {
        std::borrow::Cow::Owned(resize(b, a.width, a.height))
    }
}

fn resize(frame: &Frame, width: u32, height: u32) -> Frame {
    let rgba = image::RgbaImage::from_raw(frame.width, frame.height, frame.to_rgba());
    let pixels = match rgba {
        Some(image) => image::imageops::resize(
            &image,
            width,
            height,
            image::imageops::FilterType::CatmullRom,
        )
        .into_raw(),
        None => vec![0; width as usize * height as usize * 4],
    };
    Frame {
        index: frame.index,
        time_seconds: frame.time_seconds,
        width,
        height,
        layout: PixelLayout::Rgba8,
        pixels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(width: u32, height: u32, rgb: [u8; 3]) -> Frame {
        Frame {
            index: 0,
            time_seconds: None,
            width,
            height,
            layout: PixelLayout::Rgb8,
            pixels: rgb.repeat((width * height) as usize),
        }
    }

    #[test]
    fn difference_is_amplified_and_clamped() {
        let a = solid(4, 2, [100, 50, 10]);
        let b = solid(4, 2, [103, 50, 200]);
        let d = difference_image(&a, &b, 8.0);
        assert_eq!(d.rgba_at(3, 1), Some([24, 0, 255, 255]));
        let resized = difference_image(&a, &solid(2, 1, [100, 50, 10]), 8.0);
        assert_eq!((resized.width, resized.height), (4, 2));
        assert_eq!(resized.rgba_at(1, 1), Some([0, 0, 0, 255]));
    }

    #[test]
    fn rgb_psnr_of_a_known_difference() {
        let a = solid(4, 2, [100, 100, 100]);
        assert_eq!(rgb_psnr(&a, &a), f64::INFINITY);
        // Every channel 10 levels off: MSE 100, PSNR 10 log10(65025 / 100) = 28.13 dB.
        let psnr = rgb_psnr(&a, &solid(4, 2, [110, 90, 110]));
        assert!((psnr - 28.1308).abs() < 1e-3, "{psnr}");
    }
}
