//! HDR (PQ and HLG) to SDR BT.709 for display and every 8-bit output, in process through
//! libavfilter, with the recipe FFmpeg documents for `zscale` + `tonemap`:
//!
//! ```text
//! zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,
//! tonemap=tonemap=hable:desat=0:peak=P,zscale=t=bt709:m=bt709:r=pc,format=gbrp
//! ```
//!
//! The peak `P` (in units of 100 nits) comes from the frame's own metadata (MaxCLL, else the
//! mastering display's maximum luminance), else the stream's (container boxes), else 1000
//! nits. The graph ends in full-range 8-bit RGB planes, which [`super::color::Converter`]
//! packs without another matrix. Raw samples for the inspector are taken before this step.
//!
//! The same recipe runs from lookup tables ([`super::tonemap_lut`]) for the planar 8- and
//! 10-bit formats and the usual tags (1080p HLG, two busy cores, optimized build: 18-23 ms a
//! frame against the graph's 29-36 ms);
//! [`ToneMapper`] keeps the graph for everything else.

use ffmpeg::util::color;
use ffmpeg::util::frame::side_data::Type as FrameSideData;
use ffmpeg_next as ffmpeg;
use serde::Serialize;

use std::sync::Arc;

use super::color::{
    ColorDecision, ConvertError, Hdr, conversion_threads, decide, pixel_format_name,
};
use super::tonemap_lut::{self, Gamut, LutKey, ToneLut};

/// What framekit does with HDR video.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HdrMode {
    /// Tone-map PQ and HLG to SDR BT.709 (the default).
    #[default]
    Tonemap,
    /// Convert with the stream's matrix only (looks flat and washed out).
    None,
}

/// The tone-mapping operator (libavfilter `tonemap`'s `tonemap=`).
pub const OPERATOR: &str = "hable";

/// The peak assumed when neither the frames nor the stream carry light-level metadata.
pub const DEFAULT_PEAK_NITS: f64 = 1000.0;

/// libavfilter's reference white: linear 1.0 is this many nits (`npl=100`).
const REFERENCE_WHITE_NITS: f64 = 100.0;

/// Where a peak luminance came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeakSource {
    /// MaxCLL from content light level metadata.
    ContentLightLevel,
    /// The mastering display's maximum luminance.
    MasteringDisplay,
    /// No stream metadata: each frame's own, else [`DEFAULT_PEAK_NITS`].
    Default,
}

impl PeakSource {
    pub fn label(self) -> &'static str {
        match self {
            PeakSource::ContentLightLevel => "content light level",
            PeakSource::MasteringDisplay => "mastering display",
            PeakSource::Default => "default",
        }
    }
}

/// The signal peak a tone map uses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Peak {
    pub nits: f64,
    pub source: PeakSource,
}

impl Peak {
    pub const DEFAULT: Peak = Peak {
        nits: DEFAULT_PEAK_NITS,
        source: PeakSource::Default,
    };

    /// From raw `AVContentLightMetadata` and `AVMasteringDisplayMetadata` bytes (frame or
    /// stream side data), in FFmpeg's order of preference: MaxCLL, then the display's maximum.
    pub fn from_metadata(light_level: Option<&[u8]>, mastering: Option<&[u8]>) -> Option<Peak> {
        // AVContentLightMetadata: { unsigned MaxCLL; unsigned MaxFALL; }
        let max_cll = light_level.and_then(|bytes| native_u32(bytes, 0));
        if let Some(max_cll) = max_cll.filter(|&nits| nits > 0) {
            return Some(Peak {
                nits: f64::from(max_cll),
                source: PeakSource::ContentLightLevel,
            });
        }
        // AVMasteringDisplayMetadata: display_primaries[3][2] and white_point[2] (8 AVRationals,
        // 64 bytes), min_luminance (64), max_luminance (72), has_primaries (80),
        // has_luminance (84).
        let mastering = mastering?;
        let (num, den, has_luminance) = (
            native_u32(mastering, 72)?,
            native_u32(mastering, 76)?,
            native_u32(mastering, 84)?,
        );
        (has_luminance != 0 && num > 0 && den > 0 && num <= i32::MAX as u32).then(|| Peak {
            nits: f64::from(num) / f64::from(den),
            source: PeakSource::MasteringDisplay,
        })
    }

    /// The peak a decoded frame carries, if any.
    pub fn of_frame(frame: &ffmpeg::frame::Video) -> Option<Peak> {
        let light = frame.side_data(FrameSideData::ContentLightLevel);
        let mastering = frame.side_data(FrameSideData::MasteringDisplayMetadata);
        Peak::from_metadata(
            light.as_ref().map(|s| s.data()),
            mastering.as_ref().map(|s| s.data()),
        )
    }

    /// The peak a stream's container metadata carries, if any.
    pub fn of_stream(stream: &ffmpeg::format::stream::Stream) -> Option<Peak> {
        use ffmpeg::codec::packet::side_data::Type as StreamSideData;
        let mut light = None;
        let mut mastering = None;
        for side in stream.side_data() {
            match side.kind() {
                StreamSideData::ContentLightLevel => light = Some(side.data().to_vec()),
                StreamSideData::MasteringDisplayMetadata => mastering = Some(side.data().to_vec()),
                _ => {}
            }
        }
        Peak::from_metadata(light.as_deref(), mastering.as_deref())
    }
}

/// What a reader does to an HDR stream's frames (in `probe --json`: `video.color.tone_map`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToneMapInfo {
    pub operator: &'static str,
    /// The stream's peak; a frame's own metadata, when it has some, wins for that frame.
    pub peak: Peak,
}

impl ToneMapInfo {
    pub fn label(&self) -> String {
        match self.peak.source {
            PeakSource::Default => format!(
                "tone-mapped to SDR BT.709 ({}; peak from each frame's light-level metadata, \
                 else {DEFAULT_PEAK_NITS:.0} nits)",
                self.operator
            ),
            source => format!(
                "tone-mapped to SDR BT.709 ({}, peak {:.0} nits from the stream's {})",
                self.operator,
                self.peak.nits,
                source.label()
            ),
        }
    }
}

/// The filter chain after the source, for a peak in nits. The ffmpeg CLI runs the same text
/// with `-vf` (the tests compare the two).
pub fn filter_spec(peak_nits: f64) -> String {
    format!(
        "zscale=t=linear:npl={REFERENCE_WHITE_NITS},format=gbrpf32le,zscale=p=bt709,\
         tonemap=tonemap={OPERATOR}:desat=0:peak={:.4},zscale=t=bt709:m=bt709:r=pc,format=gbrp",
        peak_nits / REFERENCE_WHITE_NITS
    )
}

fn native_u32(bytes: &[u8], offset: usize) -> Option<u32> {
    let field = bytes.get(offset..offset + 4)?;
    Some(u32::from_ne_bytes(field.try_into().ok()?))
}

/// The colour tags the source frames are read with (the stream's where a frame has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceTags {
    pub space: color::Space,
    pub range: color::Range,
    pub primaries: color::Primaries,
    pub transfer: color::TransferCharacteristic,
}

/// `own`, or `fallback` where `own` is the unspecified value.
fn or<T: PartialEq>(own: T, unspecified: T, fallback: T) -> T {
    if own == unspecified { fallback } else { own }
}

impl SourceTags {
    /// A frame's own tags, each falling back to `stream`'s where the frame has none.
    pub fn of_frame(frame: &ffmpeg::frame::Video, stream: SourceTags) -> SourceTags {
        SourceTags {
            space: or(frame.color_space(), color::Space::Unspecified, stream.space),
            range: or(frame.color_range(), color::Range::Unspecified, stream.range),
            primaries: or(
                frame.color_primaries(),
                color::Primaries::Unspecified,
                stream.primaries,
            ),
            transfer: or(
                frame.color_transfer_characteristic(),
                color::TransferCharacteristic::Unspecified,
                stream.transfer,
            ),
        }
    }

    /// These tags with what an HDR stream almost always is where they are still missing:
    /// BT.2020 primaries and matrix, limited range (what zscale needs to be told).
    fn assuming_hdr_defaults(self) -> SourceTags {
        SourceTags {
            space: or(
                self.space,
                color::Space::Unspecified,
                color::Space::BT2020NCL,
            ),
            range: or(self.range, color::Range::Unspecified, color::Range::MPEG),
            primaries: or(
                self.primaries,
                color::Primaries::Unspecified,
                color::Primaries::BT2020,
            ),
            transfer: self.transfer,
        }
    }

    pub fn hdr(&self) -> Option<Hdr> {
        Hdr::from_transfer(self.transfer)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct GraphKey {
    format: ffmpeg::format::Pixel,
    width: u32,
    height: u32,
    peak_nits: f64,
}

/// A tone-mapped frame.
pub enum ToneMapped {
    /// Packed RGB (3 bytes a pixel, rows without padding), from the lookup tables.
    Rgb(Vec<u8>),
    /// Full-range 8-bit RGB planes (`gbrp`), from the filter graph.
    Planes(ffmpeg::frame::Video),
}

/// Tone-maps HDR frames: by [`super::tonemap_lut`]'s tables where they take the frame (planar
/// 8- or 10-bit YUV, BT.709/BT.2020/P3 primaries, a non-constant-luminance matrix), else
/// through the filter graph, rebuilt when the frame size, format or peak changes. The tables
/// are built once per stream and peak.
#[derive(Default)]
pub struct ToneMapper {
    graph: Option<(GraphKey, ffmpeg::filter::Graph)>,
    next_pts: i64,
    lut: Option<Arc<ToneLut>>,
    filter_only: bool,
}

impl ToneMapper {
    /// A mapper that always runs the filter graph (the reference the tables are checked and
    /// timed against).
    pub fn filter_only() -> ToneMapper {
        ToneMapper {
            filter_only: true,
            ..ToneMapper::default()
        }
    }

    /// Tone-maps one decoded HDR frame to full-range 8-bit RGB, with the frame's tags
    /// resolved by `tags` and the peak from the frame or else `stream_peak`.
    pub fn run(
        &mut self,
        decoded: &ffmpeg::frame::Video,
        tags: SourceTags,
        stream_peak: Peak,
    ) -> Result<(ToneMapped, Peak), ConvertError> {
        let peak = Peak::of_frame(decoded).unwrap_or(stream_peak);
        if !self.filter_only
            && let Some(rgb) = self.run_tables(decoded, tags, peak)
        {
            return Ok((ToneMapped::Rgb(rgb), peak));
        }
        let planes = self.run_filter(decoded, tags, peak)?;
        Ok((ToneMapped::Planes(planes), peak))
    }

    /// The lookup-table path; `None` where it does not take the frame.
    fn run_tables(
        &mut self,
        decoded: &ffmpeg::frame::Video,
        tags: SourceTags,
        peak: Peak,
    ) -> Option<Vec<u8>> {
        let (lut, decision) = self.tables_for(decoded, tags, peak)?;
        lut.map(decoded, decision, conversion_threads())
    }

    /// The tables [`ToneMapper::run`] maps `decoded` with, and the matrix and range it reads
    /// it with: what a display that tone-maps on its own (the GPU shader) needs to agree
    /// with it. `None` where `run` would use the filter graph.
    pub fn tables_for_display(
        &mut self,
        decoded: &ffmpeg::frame::Video,
        tags: SourceTags,
        stream_peak: Peak,
    ) -> Option<(Arc<ToneLut>, ColorDecision)> {
        if self.filter_only {
            return None;
        }
        let peak = Peak::of_frame(decoded).unwrap_or(stream_peak);
        self.tables_for(decoded, tags, peak)
    }

    fn tables_for(
        &mut self,
        decoded: &ffmpeg::frame::Video,
        tags: SourceTags,
        peak: Peak,
    ) -> Option<(Arc<ToneLut>, ColorDecision)> {
        let tags = tags.assuming_hdr_defaults();
        // The matrices zscale and the tables agree on (constant luminance, YCgCo and the
        // like are left to zscale).
        let plain_matrix = matches!(
            tags.space,
            color::Space::BT709
                | color::Space::BT470BG
                | color::Space::SMPTE170M
                | color::Space::BT2020NCL
        );
        let key = LutKey {
            transfer: tags.hdr()?,
            gamut: Gamut::of(tags.primaries)?,
            peak_nits: tonemap_lut::filter_peak_nits(peak.nits),
        };
        let decision = decide(decoded.format(), tags.space, tags.range, decoded.height());
        if !plain_matrix || !ToneLut::supports(decoded.format(), decision) {
            return None;
        }
        let lut = match &mut self.lut {
            Some(lut) if lut.key() == key => lut,
            slot => slot.insert(Arc::new(ToneLut::new(key))),
        };
        Some((lut.clone(), decision))
    }

    /// Runs the frame through the libavfilter graph of [`filter_spec`] with `peak`, to
    /// full-range 8-bit RGB planes (`gbrp`).
    pub fn run_filter(
        &mut self,
        decoded: &ffmpeg::frame::Video,
        tags: SourceTags,
        peak: Peak,
    ) -> Result<ffmpeg::frame::Video, ConvertError> {
        let key = GraphKey {
            format: decoded.format(),
            width: decoded.width(),
            height: decoded.height(),
            peak_nits: peak.nits,
        };
        if self.graph.as_ref().map(|(k, _)| *k) != Some(key) {
            self.graph = None;
        }
        let graph = match &mut self.graph {
            Some((_, graph)) => graph,
            empty => &mut empty.insert((key, build_graph(key)?)).1,
        };
        let tags = tags.assuming_hdr_defaults();
        let tone_error = |e: ffmpeg::Error| ConvertError::ToneMap(e.to_string());
        let mut input = super::frame_reference(decoded).map_err(tone_error)?;
        input.set_color_space(tags.space);
        input.set_color_range(tags.range);
        input.set_color_primaries(tags.primaries);
        input.set_color_transfer_characteristic(tags.transfer);
        input.set_pts(Some(self.next_pts));
        self.next_pts += 1;
        graph
            .get("in")
            .ok_or_else(|| ConvertError::ToneMap("the graph lost its source".into()))?
            .source()
            .add(&input)
            .map_err(tone_error)?;
        let mut output = ffmpeg::frame::Video::empty();
        graph
            .get("out")
            .ok_or_else(|| ConvertError::ToneMap("the graph lost its sink".into()))?
            .sink()
            .frame(&mut output)
            .map_err(tone_error)?;
        Ok(output)
    }
}

fn build_graph(key: GraphKey) -> Result<ffmpeg::filter::Graph, ConvertError> {
    let args = format!(
        "video_size={}x{}:pix_fmt={}:time_base=1/1:pixel_aspect=1/1",
        key.width,
        key.height,
        pixel_format_name(key.format)
    );
    super::graph::single_chain(&args, &filter_spec(key.peak_nits))
        .map_err(|e| ConvertError::ToneMap(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_cll_wins_over_mastering_display() {
        let light: Vec<u8> = [600u32, 200].iter().flat_map(|v| v.to_ne_bytes()).collect();
        let mut mastering = vec![0u8; 88];
        mastering[72..76].copy_from_slice(&4000u32.to_ne_bytes());
        mastering[76..80].copy_from_slice(&1u32.to_ne_bytes());
        mastering[84..88].copy_from_slice(&1u32.to_ne_bytes());
        let peak = Peak::from_metadata(Some(&light), Some(&mastering)).expect("peak");
        assert_eq!(peak.nits, 600.0);
        assert_eq!(peak.source, PeakSource::ContentLightLevel);
        let peak = Peak::from_metadata(None, Some(&mastering)).expect("peak");
        assert_eq!(
            (peak.nits, peak.source),
            (4000.0, PeakSource::MasteringDisplay)
        );
        assert_eq!(
            Peak::from_metadata(Some(&light[..3]), Some(&mastering[..80])),
            None
        );
        assert!(filter_spec(1000.0).contains("peak=10.0000"));
    }
}
