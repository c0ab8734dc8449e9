//! `VideoReader`: frame-exact random access to one video stream over FFmpeg.
//!
//! `frame(n)` returns the frame a sequential decode would output as the (n+1)th frame. It picks
//! the nearest keyframe from the index, seeks, decodes forward and confirms by timestamp that
//! the frame it hands back is frame n. If the decoder skips past the target (open GOP, leading
//! pictures), it retries from earlier keyframes; if the frame still cannot be confirmed, it
//! decodes linearly from the start. Within `DECODE_ON_LIMIT` frames ahead of the decoder, or
//! inside the GOP being decoded, it decodes on instead of seeking.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ffmpeg::codec::discard::Discard;
use ffmpeg::util::color;
use ffmpeg_next as ffmpeg;

use super::color::{ColorDecision, Converter, Orientation, SourceSamples};
use super::index::FrameIndex;
use super::probe::{self, MediaInfo};
use super::tonemap::{HdrMode, Peak, SourceTags, ToneMapInfo, ToneMapper};
use super::{MediaError, MediaErrorKind, OpenOptions};
use crate::frame::Frame;

/// How far ahead of the decoder's position a request is served by decoding on, not seeking.
pub const DECODE_ON_LIMIT: usize = 10;

/// How many keyframes, nearest first, a request tries before falling back to a linear decode.
const KEYFRAME_ATTEMPTS: usize = 3;

/// Counters that show how requests were served (for tests and benchmarks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReaderStats {
    pub seeks: usize,
    pub linear_restarts: usize,
    pub frames_decoded: usize,
}

/// Decoder state for one open video stream.
struct DecodeSession {
    input: ffmpeg::format::context::Input,
    decoder: ffmpeg::decoder::Video,
    /// End of input reached and the decoder told so.
    draining: bool,
}

/// What decoding forward toward a target found.
enum Forward {
    Found(ffmpeg::frame::Video),
    /// The decoder passed the target or ended without it.
    Missed,
}

/// An open video's index and metadata, sendable to another thread to open a second reader
/// ([`VideoReader::reopen`]).
#[derive(Clone)]
pub struct SharedVideo {
    path: PathBuf,
    stream_index: usize,
    index: Arc<FrameIndex>,
    info: MediaInfo,
    /// The stream's colour tags (a frame's own tags win where it has them).
    stream_tags: SourceTags,
    /// For an HDR stream: its peak from container metadata (a frame's own metadata wins).
    hdr_peak: Option<Peak>,
    /// Whether HDR frames are tone-mapped ([`VideoReader::set_hdr`] switches it in place).
    hdr_mode: HdrMode,
    orientation: Orientation,
    autorotate: bool,
    timeout: Duration,
    decoder_threads: usize,
    time_base: f64,
}

/// Frame-exact reader over one video stream.
pub struct VideoReader {
    /// The file, its frame index and metadata: what a second reader shares.
    shared: SharedVideo,
    session: DecodeSession,
    converter: Converter,
    tone_mapper: ToneMapper,
    /// Presentation position of the last frame the decoder output since the last seek.
    last_output: Option<usize>,
    /// Frames output since decoding started at the beginning of the file (linear mode only).
    outputs_since_start: Option<usize>,
    /// The frame being decoded toward, while [`VideoReader::decode_forward_to`] runs.
    toward: Option<Toward>,
    /// The last frame the caller said it will ask for (see [`VideoReader::expect_last_frame`]).
    last_wanted: Option<usize>,
    stats: ReaderStats,
}

/// A frame being decoded toward. Non-reference frames shown before it are not needed
/// (nothing is predicted from them), so the decoder skips them. When it is the last frame
/// wanted, the decoder is drained once its packet is sent instead of fed on: the frames a
/// reordering decoder would otherwise decode to push it out are never needed.
#[derive(Debug, Clone, Copy)]
struct Toward {
    pts: i64,
    last_wanted: bool,
}

fn open_session(
    path: &Path,
    timeout: Duration,
    threads: usize,
) -> Result<(DecodeSession, usize), MediaError> {
    let fail = |kind| MediaError::new(path, kind);
    let input = super::open_input_with(path, timeout).map_err(|e| {
        fail(if super::url_of(path).is_some() {
            MediaErrorKind::Network(e.to_string())
        } else {
            MediaErrorKind::Unrecognized(e.to_string())
        })
    })?;
    let stream = input
        .streams()
        .best(ffmpeg::media::Type::Video)
        .ok_or_else(|| {
            let kinds: Vec<String> = input
                .streams()
                .map(|s| format!("{:?}", s.parameters().medium()).to_lowercase())
                .collect();
            let list = if kinds.is_empty() {
                "none".to_string()
            } else {
                kinds.join(", ")
            };
            fail(MediaErrorKind::NoVideoStream(list))
        })?;
    let stream_index = stream.index();
    let mut context = ffmpeg::codec::context::Context::from_parameters(stream.parameters())
        .map_err(|e| fail(MediaErrorKind::Decode(e.to_string())))?;
    context.set_threading(ffmpeg::codec::threading::Config {
        kind: ffmpeg::codec::threading::Type::Frame,
        count: threads,
        ..Default::default()
    });
    let decoder = context.decoder().video().map_err(|e| {
        fail(MediaErrorKind::Decode(format!(
            "no decoder for {}: {e}",
            stream.parameters().id().name()
        )))
    })?;
    Ok((
        DecodeSession {
            input,
            decoder,
            draining: false,
        },
        stream_index,
    ))
}

impl SharedVideo {
    fn set_hdr(&mut self, mode: HdrMode) -> bool {
        self.hdr_mode = mode;
        let Some(peak) = self.hdr_peak else {
            return false;
        };
        if let Some(video) = self.info.video.as_mut() {
            video.color.tone_map = (mode == HdrMode::Tonemap).then_some(ToneMapInfo {
                operator: super::tonemap::OPERATOR,
                peak,
            });
        }
        true
    }
}

impl VideoReader {
    /// Opens `path`, builds the frame index with a demux pass, and reads the stream's metadata.
    pub fn open(path: &Path, options: &OpenOptions) -> Result<VideoReader, MediaError> {
        let (mut session, stream_index) =
            open_session(path, options.timeout, options.decoder_threads)?;
        let index = FrameIndex::build(&mut session.input, stream_index);
        if index.is_empty() {
            // Over HTTP, a server without range requests cannot serve a file whose index
            // (an MP4 `moov`) sits at its end: FFmpeg reads the index, then cannot go back.
            if super::url_of(path).is_some() && !is_seekable(&session.input) {
                return Err(MediaError::new(
                    path,
                    MediaErrorKind::Network(
                        "the server does not accept range requests, and this file needs them \
                         (its index is at the end); serve it with range support or download it first"
                            .to_string(),
                    ),
                ));
            }
            return Err(MediaError::new(path, MediaErrorKind::NoFrames));
        }
        let stream = session
            .input
            .stream(stream_index)
            .ok_or_else(|| MediaError::new(path, MediaErrorKind::NoFrames))?;
        let time_base = f64::from(stream.time_base());
        let orientation = probe::stream_orientation(&stream);
        let stream_tags = SourceTags {
            space: session.decoder.color_space(),
            range: session.decoder.color_range(),
            primaries: session.decoder.color_primaries(),
            transfer: session.decoder.color_transfer_characteristic(),
        };
        let hdr_peak = stream_tags
            .hdr()
            .map(|_| Peak::of_stream(&stream).unwrap_or(Peak::DEFAULT));
        let info = probe::video_info(
            path,
            &session.input,
            stream_index,
            &session.decoder,
            &index,
            orientation,
        );
        let mut shared = SharedVideo {
            path: path.to_path_buf(),
            stream_index,
            index: Arc::new(index),
            info,
            stream_tags,
            hdr_peak,
            hdr_mode: HdrMode::None,
            orientation,
            autorotate: options.autorotate,
            timeout: options.timeout,
            decoder_threads: options.decoder_threads,
            time_base,
        };
        shared.set_hdr(options.hdr);
        // The demuxer sits at the end after the index pass; the first request seeks.
        Ok(VideoReader::with_session(shared, session))
    }

    /// Tone-maps HDR frames from now on, or converts them as tagged; the info says which.
    /// Nothing is reopened: the frame index and the decoder stay. False for SDR video (no
    /// frame would change).
    pub fn set_hdr(&mut self, mode: HdrMode) -> bool {
        self.shared.set_hdr(mode)
    }

    pub fn info(&self) -> &MediaInfo {
        &self.shared.info
    }

    /// What a second reader of this file needs, to be opened on another thread: the frame
    /// index and metadata are shared, so that reader skips the index pass.
    pub fn shared(&self) -> SharedVideo {
        self.shared.clone()
    }

    /// A second, independent reader from [`VideoReader::shared`], without another index pass.
    pub fn reopen(shared: SharedVideo) -> Result<VideoReader, MediaError> {
        let (session, _) = open_session(&shared.path, shared.timeout, shared.decoder_threads)?;
        Ok(VideoReader::with_session(shared, session))
    }

    fn with_session(shared: SharedVideo, session: DecodeSession) -> VideoReader {
        VideoReader {
            shared,
            session,
            converter: Converter::default(),
            tone_mapper: ToneMapper::default(),
            last_output: None,
            outputs_since_start: None,
            toward: None,
            last_wanted: None,
            stats: ReaderStats::default(),
        }
    }

    pub fn index(&self) -> &FrameIndex {
        &self.shared.index
    }

    pub fn frame_count(&self) -> usize {
        self.shared.index.len()
    }

    pub fn stats(&self) -> ReaderStats {
        self.stats
    }

    /// Presentation time of frame `index` in seconds from the first frame.
    pub fn frame_time(&self, index: usize) -> Option<f64> {
        let first = self.shared.index.first_pts()?;
        self.shared
            .index
            .frame(index)
            .map(|f| (f.pts - first) as f64 * self.shared.time_base)
    }

    /// The matrix and range this stream converts with (from its tags, or the 720-line rule).
    pub fn color_decision(&self) -> Option<ColorDecision> {
        self.shared.info.video.as_ref().map(|v| v.color.used)
    }

    fn error(&self, kind: MediaErrorKind) -> MediaError {
        MediaError::new(&self.shared.path, kind)
    }

    /// Says that no frame after `index` will be asked for (a `get_frames` id list's last id),
    /// so decoding toward it stops at its own packet. Only a hint: a later request still gets
    /// its frame, after a seek.
    pub fn expect_last_frame(&mut self, index: usize) {
        self.last_wanted = Some(index);
    }

    /// Frame `index` (0-based, presentation order), converted to RGB(A) and oriented.
    pub fn frame(&mut self, index: usize) -> Result<Frame, MediaError> {
        self.render(index, false).map(|(frame, _)| frame)
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
        if index >= self.shared.index.len() {
            return Err(self.error(MediaErrorKind::OutOfRange {
                requested: index + 1,
                count: self.shared.index.len(),
            }));
        }
        let decoded = self.decoded_frame(index)?;
        let frame = self.shown_from_decoded(index, &decoded)?;
        let samples = if keep_samples {
            SourceSamples::capture(&decoded, self.shown_orientation())
        } else {
            None
        };
        Ok((frame, samples))
    }

    fn shown_orientation(&self) -> Orientation {
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

    /// Frame `index` as decoded: the stream's own planes and pixel format, before colour
    /// conversion, tone mapping and rotation (what `compare` scores, like FFmpeg's filters).
    pub fn decoded(&mut self, index: usize) -> Result<ffmpeg::frame::Video, MediaError> {
        if index >= self.shared.index.len() {
            return Err(self.error(MediaErrorKind::OutOfRange {
                requested: index + 1,
                count: self.shared.index.len(),
            }));
        }
        self.decoded_frame(index)
    }

    /// Converts a frame from [`VideoReader::decoded`] to RGB(A) (tone-mapped when HDR and
    /// asked for), unrotated.
    pub fn convert_decoded(
        &mut self,
        index: usize,
        decoded: &ffmpeg::frame::Video,
    ) -> Result<Frame, MediaError> {
        let time = self.frame_time(index);
        let tags = SourceTags::of_frame(decoded, self.shared.stream_tags);
        let tone_map = match self.shared.hdr_mode {
            HdrMode::Tonemap => self.shared.hdr_peak,
            HdrMode::None => None,
        };
        let converted = match tone_map {
            Some(stream_peak) if tags.hdr().is_some() => {
                let (mapped, _peak) = self
                    .tone_mapper
                    .run(decoded, tags, stream_peak)
                    .map_err(|e| self.error(MediaErrorKind::Convert(e)))?;
                self.converter.convert(
                    &mapped,
                    index,
                    time,
                    mapped.color_space(),
                    color::Range::JPEG,
                )
            }
            _ => {
                let space = super::color::assumed_space(tags.space, tags.transfer);
                self.converter
                    .convert(decoded, index, time, space, tags.range)
            }
        };
        converted
            .map(|(frame, _decision)| frame)
            .map_err(|e| self.error(MediaErrorKind::Convert(e)))
    }

    fn decoded_frame(&mut self, index: usize) -> Result<ffmpeg::frame::Video, MediaError> {
        if !self.shared.index.timestamps_identify_frames() {
            return self.decode_by_counting(index);
        }
        if let Some(last) = self.last_output {
            let same_gop = self
                .shared
                .index
                .keyframe_for(index)
                .is_some_and(|k| k <= last);
            if index > last
                && (index - last <= DECODE_ON_LIMIT || same_gop)
                && let Forward::Found(frame) = self.decode_forward_to(index)?
            {
                return Ok(frame);
            }
        }
        let candidates: Vec<usize> = self
            .shared
            .index
            .keyframes_at_or_before(index)
            .take(KEYFRAME_ATTEMPTS)
            .collect();
        for keyframe in candidates {
            self.seek_to(keyframe)?;
            if let Forward::Found(frame) = self.decode_forward_to(index)? {
                return Ok(frame);
            }
        }
        self.decode_by_counting(index)
    }

    /// Seeks the demuxer to keyframe `keyframe` (presentation position) and resets the decoder.
    fn seek_to(&mut self, keyframe: usize) -> Result<(), MediaError> {
        let entry = *self
            .shared
            .index
            .frame(keyframe)
            .ok_or_else(|| self.error(MediaErrorKind::NoFrames))?;
        // Seek backward from the keyframe's presentation time. Demuxers that index by decode
        // time land on this keyframe or an earlier one; either way decoding forward and checking
        // timestamps finds the frame, an earlier landing only costs time.
        let target = entry.pts;
        // SAFETY: the input context is open and owned by this reader; the stream index is valid.
        let result = unsafe {
            ffmpeg::ffi::av_seek_frame(
                self.session.input.as_mut_ptr(),
                self.shared.stream_index as i32,
                target,
                ffmpeg::ffi::AVSEEK_FLAG_BACKWARD,
            )
        };
        self.stats.seeks += 1;
        self.last_output = None;
        self.outputs_since_start = None;
        if result < 0 {
            // Not seekable here: start over from the beginning instead.
            return self.restart_from_beginning();
        }
        self.session.decoder.flush();
        self.session.draining = false;
        Ok(())
    }

    /// Reopens the file so decoding starts at its very first packet.
    fn restart_from_beginning(&mut self) -> Result<(), MediaError> {
        let (session, _) = open_session(
            &self.shared.path,
            self.shared.timeout,
            self.shared.decoder_threads,
        )?;
        self.session = session;
        self.last_output = None;
        self.outputs_since_start = Some(0);
        self.stats.linear_restarts += 1;
        Ok(())
    }

    /// Decodes frames in order until the (index+1)th output since the start of the file.
    fn decode_by_counting(&mut self, index: usize) -> Result<ffmpeg::frame::Video, MediaError> {
        if self.outputs_since_start.is_none_or(|n| n > index) {
            self.restart_from_beginning()?;
        }
        loop {
            let Some(frame) = self.next_decoded()? else {
                return Err(self.error(MediaErrorKind::FrameUnavailable(index + 1)));
            };
            let produced = self.outputs_since_start.map_or(0, |n| n + 1);
            self.outputs_since_start = Some(produced);
            self.last_output = frame_pts(&frame).and_then(|p| self.shared.index.position_of_pts(p));
            if produced == index + 1 {
                return Ok(frame);
            }
        }
    }

    /// Decodes on until the frame with frame `index`'s timestamp comes out.
    fn decode_forward_to(&mut self, index: usize) -> Result<Forward, MediaError> {
        let target = self.shared.index.frame(index).map(|f| f.pts);
        self.toward = target.map(|pts| Toward {
            pts,
            last_wanted: self.last_wanted == Some(index),
        });
        let result = self.decode_forward_to_pts(target);
        self.toward = None;
        result
    }

    fn decode_forward_to_pts(&mut self, target: Option<i64>) -> Result<Forward, MediaError> {
        loop {
            let Some(frame) = self.next_decoded()? else {
                return Ok(Forward::Missed);
            };
            if let Some(n) = self.outputs_since_start.as_mut() {
                *n += 1;
            }
            let pts = frame_pts(&frame);
            if let Some(position) = pts.and_then(|p| self.shared.index.position_of_pts(p)) {
                self.last_output = Some(position);
            }
            match (pts, target) {
                (Some(p), Some(t)) if p == t => return Ok(Forward::Found(frame)),
                (Some(p), Some(t)) if p > t => return Ok(Forward::Missed),
                _ => {}
            }
        }
    }

    /// The next frame out of the decoder, feeding it packets as needed; `None` at the end.
    fn next_decoded(&mut self) -> Result<Option<ffmpeg::frame::Video>, MediaError> {
        let session = &mut self.session;
        loop {
            let mut frame = ffmpeg::frame::Video::empty();
            match session.decoder.receive_frame(&mut frame) {
                Ok(()) => {
                    self.stats.frames_decoded += 1;
                    return Ok(Some(frame));
                }
                Err(ffmpeg::Error::Eof) => return Ok(None),
                Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => {}
                Err(e) => {
                    return Err(MediaError::new(
                        &self.shared.path,
                        MediaErrorKind::Decode(e.to_string()),
                    ));
                }
            }
            if session.draining {
                return Ok(None);
            }
            // Feed the next packet of our stream, or signal the end. A fresh packet for each
            // read: av_read_frame does not release what a reused packet held.
            loop {
                let mut packet = ffmpeg::Packet::empty();
                match packet.read(&mut session.input) {
                    Ok(()) if packet.stream() == self.shared.stream_index => {
                        let toward = self.toward;
                        let skippable =
                            matches!((toward, packet.pts()), (Some(t), Some(p)) if p < t.pts);
                        let discard = if skippable {
                            Discard::NonReference
                        } else {
                            Discard::Default
                        };
                        session.decoder.skip_frame(discard);
                        // A damaged packet is skipped; the frame check above catches the gap.
                        let _ = session.decoder.send_packet(&packet);
                        if toward.is_some_and(|t| t.last_wanted && packet.pts() == Some(t.pts)) {
                            let _ = session.decoder.send_eof();
                            session.draining = true;
                        }
                        break;
                    }
                    Ok(()) => continue,
                    Err(_) => {
                        let _ = session.decoder.send_eof();
                        session.draining = true;
                        break;
                    }
                }
            }
        }
    }
}

/// Whether the input's I/O can seek (a local file, or a server that takes range requests).
fn is_seekable(input: &ffmpeg::format::context::Input) -> bool {
    // SAFETY: the context is open; `pb` is either null or FFmpeg's live I/O context.
    unsafe {
        let pb = (*input.as_ptr()).pb;
        !pb.is_null() && (*pb).seekable != 0
    }
}

fn frame_pts(frame: &ffmpeg::frame::Video) -> Option<i64> {
    frame.pts().or_else(|| frame.timestamp())
}
