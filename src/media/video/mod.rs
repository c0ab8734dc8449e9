//! `VideoReader`: frame-exact random access to one video stream over FFmpeg.
//!
//! `frame(n)` returns the frame a sequential decode would output as the (n+1)th frame. It picks
//! the nearest keyframe from the index, seeks, decodes forward and confirms by timestamp that
//! the frame it hands back is frame n. If the decoder skips past the target (open GOP, leading
//! pictures), it retries from earlier keyframes; if the frame still cannot be confirmed, it
//! decodes linearly from the start. Within `DECODE_ON_LIMIT` frames ahead of the decoder, or
//! inside the GOP being decoded, it decodes on instead of seeking.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ffmpeg::codec::discard::Discard;
use ffmpeg_next as ffmpeg;

use super::color::{ColorDecision, Converter, Orientation};
use super::index::{
    ContainerTable, FrameIndex, IndexOrigin, RunBuilder, TableKeyframe, reorder_of,
};
use super::probe::{self, MediaInfo};
use super::tonemap::{HdrMode, Peak, SourceTags, ToneMapInfo, ToneMapper};
use super::{MediaError, MediaErrorKind, OpenOptions};

mod display;
pub mod hwdec;
mod learn;
mod render;
mod wanted;
pub use display::display_size;
use hwdec::{DecoderUsed, Downloaded, HwDecode, HwDecoder, open_decoder};
pub use learn::{ScanJob, scan_file};

/// How far ahead of the decoder's position a request is served by decoding on, not seeking.
pub const DECODE_ON_LIMIT: usize = 10;

/// How many keyframes, nearest first, a request tries before falling back to a linear decode.
const KEYFRAME_ATTEMPTS: usize = 3;

/// Packets read ahead for the index are kept for the decoder up to this many bytes; past it
/// they are dropped and read again after a seek.
const REPLAY_BUDGET_BYTES: usize = 64 << 20;

/// With a container table, a frame this many frames or more past what the forward read has
/// reached is found by seeking to its keyframe instead of reading on.
const READ_ON_LIMIT: usize = 300;

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
    /// Packets the index read ahead, not yet given to the decoder, in decode order.
    replay: VecDeque<ffmpeg::Packet>,
    replay_bytes: usize,
    /// The presentation timestamp of the keyframe packet at the head of `replay`, so a seek
    /// to that keyframe needs no seek at all.
    replay_head_pts: Option<i64>,
    /// The run learnt from this input's packets as they are read, while the input reads
    /// forward from a place the index knows (the start, or a keyframe of the table).
    cursor: Option<RunBuilder>,
    /// The input has ended (or failed) since the last seek.
    input_ended: bool,
    /// How far the cursor's run has been added to the index.
    synced_end: usize,
    /// The deadline and cancel flag FFmpeg's I/O on `input` answers to; declared after
    /// `input` so it outlives it (FFmpeg holds a pointer to it).
    guard: Arc<super::IoGuard>,
    /// The decoder's hardware side, while it decodes on a device.
    hw: Option<HwDecoder>,
    /// Which decoder this is, for the info.
    used: DecoderUsed,
    /// Why hardware decoding failed mid-request (the reader then reopens in software).
    hw_failure: Option<String>,
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
    settings: SessionSettings,
    time_base: f64,
    /// The stream's start time, the zero point for frame times until frame 1 has been read.
    start_pts: Option<i64>,
    /// Whether the decoder reorders frames, and its declared output delay.
    reorder: (bool, usize),
}

/// Frame-exact reader over one video stream.
pub struct VideoReader {
    /// The file, its frame index and metadata: what a second reader shares.
    shared: SharedVideo,
    session: DecodeSession,
    converter: Converter,
    tone_mapper: ToneMapper,
    /// Scaling and conversion for frames shown smaller than they are (playback).
    display: display::DisplayPath,
    /// Presentation position of the last frame the decoder output since the last seek.
    last_output: Option<usize>,
    /// Frames output since decoding started at the beginning of the file (linear mode only).
    outputs_since_start: Option<usize>,
    /// The frame being decoded toward, while [`VideoReader::decode_forward_to`] runs.
    toward: Option<Toward>,
    /// The last frame the caller said it will ask for (see [`VideoReader::expect_last_frame`]).
    last_wanted: Option<usize>,
    /// The frames the caller said it will ask for, ascending (see `wanted.rs`).
    wanted: Vec<usize>,
    /// While a frame is being found: the next wanted frame's timestamp (see `wanted.rs`).
    skip_until: Option<i64>,
    stats: ReaderStats,
}

/// A frame being decoded toward. Non-reference frames shown before it are not needed
/// (nothing is predicted from them), so the decoder skips them, and so are those shown
/// after it and before `skip_until`, the next frame wanted. When it is the last frame
/// wanted, the decoder is drained once its packet is sent instead of fed on: the frames a
/// reordering decoder would otherwise decode to push it out are never needed.
#[derive(Debug, Clone, Copy)]
struct Toward {
    pts: i64,
    last_wanted: bool,
    skip_until: Option<i64>,
}

fn open_session(
    path: &Path,
    shared: &SessionSettings,
    guard: &Arc<super::IoGuard>,
) -> Result<(DecodeSession, usize), MediaError> {
    let fail = |kind| MediaError::new(path, kind);
    if !shared.allow_playlists
        && let Some(kind) = super::playlist_kind_when(path, shared.local_files)
    {
        return Err(fail(MediaErrorKind::Playlist(kind)));
    }
    // A local path itself is opened with FFmpeg's `file` protocol (MediaSource::open has
    // checked it against the allowed folders); a URL may not reach local files unless any
    // local file may be opened.
    let url = super::url_of_when(path, shared.local_files);
    let local_files = shared.local_files || url.is_none();
    let input = super::open_input_guarded(
        path,
        shared.timeout,
        shared.allow_playlists,
        local_files,
        shared.follow_redirects,
        guard,
    )
    .map_err(|e| {
        fail(if let Some(stopped) = guard.stopped() {
            stopped
        } else if let Some(url) = url {
            MediaErrorKind::Network(super::input::network_open_error(
                url,
                e,
                shared.follow_redirects,
            ))
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
    let (decoder, hw, used) = open_decoder(&stream, shared).map_err(fail)?;
    Ok((
        DecodeSession {
            input,
            decoder,
            draining: false,
            replay: VecDeque::new(),
            replay_bytes: 0,
            replay_head_pts: None,
            cursor: None,
            input_ended: false,
            synced_end: 0,
            guard: guard.clone(),
            hw,
            used,
            hw_failure: None,
        },
        stream_index,
    ))
}

/// What opening a session on the file needs (from the open's options).
#[derive(Debug, Clone, Copy)]
struct SessionSettings {
    timeout: Duration,
    decoder_threads: usize,
    allow_playlists: bool,
    max_pixels: u64,
    deadline: super::Deadline,
    /// Whether FFmpeg may open local files (a URL's redirect included).
    local_files: bool,
    /// Whether a URL follows HTTP redirects (not when its addresses are checked).
    follow_redirects: bool,
    /// Whether the decoder may use a hardware device (off again after a failure).
    hwdec: HwDecode,
}

impl SessionSettings {
    fn of(options: &OpenOptions) -> SessionSettings {
        SessionSettings {
            timeout: options.timeout,
            decoder_threads: options.decoder_threads,
            allow_playlists: options.allow_playlists,
            max_pixels: options.limits.max_pixels,
            deadline: options.deadline,
            local_files: options.local_files.any(),
            follow_redirects: options.addresses.follows_redirects(),
            hwdec: options.hwdec,
        }
    }
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
    /// Opens `path` with a complete frame count: from the container's sample table (MP4/MOV,
    /// AVI) without reading a packet, else from a demux pass over the whole stream.
    pub fn open(path: &Path, options: &OpenOptions) -> Result<VideoReader, MediaError> {
        VideoReader::open_with(path, options, true)
    }

    /// Opens `path` reading only the header: the frame index grows as frames are asked for
    /// (the container's table, or a forward read from the start only as far as needed). The
    /// frame count is known at once with a table, else once [`VideoReader::count_up_to`] or
    /// [`VideoReader::complete_index`] reaches the end.
    pub fn open_lazy(path: &Path, options: &OpenOptions) -> Result<VideoReader, MediaError> {
        VideoReader::open_with(path, options, false)
    }

    fn open_with(
        path: &Path,
        options: &OpenOptions,
        complete: bool,
    ) -> Result<VideoReader, MediaError> {
        if let Some(refusal) = super::url_of_when(path, options.local_files.any())
            .and_then(|url| options.addresses.refusal(url))
        {
            return Err(MediaError::new(path, refusal));
        }
        let settings = SessionSettings::of(options);
        let guard = super::IoGuard::new(settings.deadline.for_path(path));
        let (mut session, stream_index) = open_session(path, &settings, &guard)?;
        let reorder = session
            .input
            .stream(stream_index)
            .map_or((true, 0), |s| reorder_of(&s.parameters()));
        let table = ContainerTable::read(&session.input, stream_index);
        if let Some(table) = &table
            && !super::input::io_seekable(&session.input)
            && table
                .keyframes
                .first()
                .is_some_and(|k| k.position < super::input::io_position(&session.input))
        {
            // The table came after the frames (an MP4 `moov` at the end) and the input
            // cannot go back to them: a server without range requests.
            return Err(VideoReader::no_frames_error(path, &session.input));
        }
        let index = match table {
            Some(table) => {
                // Reading forward from here learns the first frames for free.
                session.cursor = Some(RunBuilder::new(0, reorder.0, reorder.1));
                FrameIndex::from_table(table)
            }
            None if complete => match super::index_cache::load(path, stream_index) {
                Some(cached) => cached,
                None => {
                    let scanned = FrameIndex::build(&mut session.input, stream_index);
                    // A scan the deadline stopped is no count (nor a cut file).
                    if let Some(stopped) = guard.stopped() {
                        return Err(MediaError::new(path, stopped));
                    }
                    super::index_cache::store(path, stream_index, &scanned);
                    scanned
                }
            },
            None => {
                session.cursor = Some(RunBuilder::new(0, reorder.0, reorder.1));
                FrameIndex::default()
            }
        };
        if index.total() == Some(0) {
            return Err(VideoReader::no_frames_error(path, &session.input));
        }
        let stream = session
            .input
            .stream(stream_index)
            .ok_or_else(|| MediaError::new(path, MediaErrorKind::NoFrames))?;
        let time_base = f64::from(stream.time_base());
        let start_pts = Some(stream.start_time()).filter(|&t| t != ffmpeg::ffi::AV_NOPTS_VALUE);
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
        let mut info = probe::video_info(
            path,
            &session.input,
            stream_index,
            &session.decoder,
            &index,
            orientation,
        );
        if let Some(video) = info.video.as_mut() {
            video.decoder = session.used.label();
        }
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
            settings: SessionSettings::of(options),
            time_base,
            start_pts,
            reorder,
        };
        shared.set_hdr(options.hdr);
        let mut reader = VideoReader::with_session(shared, session);
        // Without a table, a lazy open must still find one frame to be a video at all.
        if !complete && reader.shared.index.total().is_none() && !reader.ensure(0)? {
            return Err(VideoReader::no_frames_error(path, &reader.session.input));
        }
        Ok(reader)
    }

    fn no_frames_error(path: &Path, input: &ffmpeg::format::context::Input) -> MediaError {
        // Over HTTP, a server without range requests cannot serve a file whose index
        // (an MP4 `moov`) sits at its end: FFmpeg reads the index, then cannot go back.
        if super::url_of(path).is_some() && !super::input::io_seekable(input) {
            return MediaError::new(
                path,
                MediaErrorKind::Network(
                    "the server does not accept range requests, and this file needs them \
                     (its index is at the end); serve it with range support or download it first"
                        .to_string(),
                ),
            );
        }
        MediaError::new(path, MediaErrorKind::NoFrames)
    }

    /// Where the frame count came from: the container's table, a scan, or not known yet.
    pub fn index_origin(&self) -> IndexOrigin {
        self.shared.index.origin()
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

    /// Takes a complete index made elsewhere (a background scan of the same file), keeping
    /// the decoder where it is. The count, frame times and keyframes are then the scan's.
    pub fn adopt_index(&mut self, index: Arc<FrameIndex>) {
        if index.total().is_none() {
            return;
        }
        self.shared.info.frame_count = index.len();
        if let Some(video) = self.shared.info.video.as_mut() {
            video.frame_count = index.len();
            video.keyframe_count = index.keyframe_count();
            video.frame_index = index.origin().label();
        }
        self.shared.info.damaged_tail = index.truncated;
        self.shared.index = index;
        // The cursor's run would only repeat what the scan knows.
        self.session.cursor = None;
    }

    /// Whether every frame's packet is known (a scan, or everything read).
    pub fn fully_indexed(&self) -> bool {
        let index = &self.shared.index;
        index.total().is_some_and(|t| index.known_from_start() >= t)
    }

    /// Reads every packet of the stream once (demux only, a second input), so every frame's
    /// time is known: what pairing by time and the timeline need. Nothing happens when the
    /// index already knows every frame.
    pub fn scan_all(&mut self) -> Result<(), MediaError> {
        if self.fully_indexed() {
            return Ok(());
        }
        let index = scan_file(
            &self.shared.path,
            self.shared.stream_index,
            self.shared.settings.timeout,
            &mut |_| true,
        )?;
        self.adopt_index(Arc::new(index));
        Ok(())
    }

    /// What a background scan of this file needs, when the index does not know every frame.
    pub fn scan_job(&self) -> Option<ScanJob> {
        (!self.fully_indexed()).then(|| ScanJob {
            path: self.shared.path.clone(),
            stream_index: self.shared.stream_index,
            timeout: self.shared.settings.timeout,
        })
    }

    /// A second, independent reader from [`VideoReader::shared`], without another index pass.
    pub fn reopen(shared: SharedVideo) -> Result<VideoReader, MediaError> {
        let guard = super::IoGuard::new(shared.settings.deadline.for_path(&shared.path));
        let (session, _) = open_session(&shared.path, &shared.settings, &guard)?;
        Ok(VideoReader::with_session(shared, session))
    }

    fn with_session(shared: SharedVideo, session: DecodeSession) -> VideoReader {
        VideoReader {
            shared,
            session,
            converter: Converter::default(),
            tone_mapper: ToneMapper::default(),
            display: display::DisplayPath::default(),
            last_output: None,
            outputs_since_start: None,
            toward: None,
            last_wanted: None,
            wanted: Vec::new(),
            skip_until: None,
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
        let first = self.shared.index.first_pts().or(self.shared.start_pts)?;
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

    /// The deadline or cancel that stopped this reader's I/O, if one did: what any failure
    /// after it really is.
    fn guard_error(&self) -> Option<MediaError> {
        self.session.guard.stopped().map(|kind| self.error(kind))
    }

    /// Stops this reader's I/O from now on (another thread may hold [`VideoReader::io_guard`]).
    pub fn io_guard(&self) -> Arc<super::IoGuard> {
        self.session.guard.clone()
    }

    /// Says that no frame after `index` will be asked for (a `get_frames` id list's last id),
    /// so decoding toward it stops at its own packet. Only a hint: a later request still gets
    /// its frame, after a seek.
    pub fn expect_last_frame(&mut self, index: usize) {
        self.last_wanted = Some(index);
    }

    /// Frame `index` as decoded: the stream's own planes and pixel format, before colour
    /// conversion, tone mapping and rotation (what `compare` scores, like FFmpeg's filters).
    pub fn decoded(&mut self, index: usize) -> Result<ffmpeg::frame::Video, MediaError> {
        self.check_in_range(index)?;
        self.skip_until = self.next_wanted_pts(index);
        let mut result = self.decoded_frame(index);
        if let Some(reason) = self.session.hw_failure.take() {
            // The hardware failed on the way: decode in software from the keyframe again.
            self.fall_back_to_software(reason)?;
            self.skip_until = self.next_wanted_pts(index);
            result = self.decoded_frame(index);
        }
        result.map_err(|e| self.guard_error().unwrap_or(e))
    }

    /// Learns frame `index`'s packet, or says it is past the end.
    fn check_in_range(&mut self, index: usize) -> Result<(), MediaError> {
        match self.ensure(index) {
            Ok(true) => return Ok(()),
            Err(e) => return Err(self.guard_error().unwrap_or(e)),
            Ok(false) => {}
        }
        if let Some(stopped) = self.guard_error() {
            return Err(stopped);
        }
        Err(self.error(MediaErrorKind::OutOfRange {
            requested: index + 1,
            count: self.shared.index.len(),
        }))
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
        if self.session.replay_head_pts == Some(entry.pts) && entry.keyframe {
            // The read-ahead starts at this keyframe: decode from it, no seek.
            self.session.decoder.flush();
            self.session.draining = false;
            self.last_output = None;
            self.outputs_since_start = None;
            return Ok(());
        }
        // With a table, its own timestamp for the keyframe (MP4 and AVI index by decode
        // time) lands exactly; otherwise seek backward from the presentation time: demuxers
        // land on this keyframe or an earlier one, and decoding forward and checking
        // timestamps finds the frame either way.
        let table_point = self.shared.index.table().and_then(|t| {
            t.keyframes
                .binary_search_by_key(&entry.decode_order, |k| k.frames_before)
                .ok()
                .map(|i| t.keyframes[i])
        });
        let point = table_point.unwrap_or(TableKeyframe {
            frames_before: entry.decode_order,
            timestamp: entry.dts.unwrap_or(entry.pts),
            seek_timestamp: entry.pts,
            position: entry.position.unwrap_or(-1),
        });
        self.start_window(point, false)
    }

    /// Reopens the file so decoding starts at its very first packet.
    fn restart_from_beginning(&mut self) -> Result<(), MediaError> {
        self.sync_cursor();
        let guard = self.session.guard.clone();
        let (session, _) = open_session(&self.shared.path, &self.shared.settings, &guard)?;
        self.session = session;
        let (reorders, delay) = self.shared.reorder;
        self.session.cursor = Some(RunBuilder::new(0, reorders, delay));
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
            skip_until: self.skip_until,
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
        loop {
            let mut frame = ffmpeg::frame::Video::empty();
            match self.session.decoder.receive_frame(&mut frame) {
                Ok(()) => {
                    self.stats.frames_decoded += 1;
                    let Some(hw) = self.session.hw else {
                        return Ok(Some(frame));
                    };
                    let software = self.session.decoder.format();
                    return match hw.download(frame, software) {
                        Ok(Downloaded::Frame(frame)) => Ok(Some(frame)),
                        Ok(Downloaded::Software(frame)) => {
                            self.note_software(format!("{} declined this stream", hw.device));
                            Ok(Some(frame))
                        }
                        Err(reason) => Err(self.hardware_failed(reason)),
                    };
                }
                Err(ffmpeg::Error::Eof) => return Ok(None),
                Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => {}
                Err(e) if self.session.hw.is_some() => {
                    return Err(self.hardware_failed(e.to_string()));
                }
                Err(e) => {
                    return Err(MediaError::new(
                        &self.shared.path,
                        MediaErrorKind::Decode(e.to_string()),
                    ));
                }
            }
            if self.session.draining {
                return Ok(None);
            }
            // Feed the next packet of our stream (read ahead for the index first), or signal
            // the end.
            let next = match self.session.replay.pop_front() {
                Some(packet) => {
                    self.session.replay_bytes -= packet.size();
                    self.session.replay_head_pts = None;
                    Some(packet)
                }
                None => self.read_input_packet(),
            };
            let session = &mut self.session;
            match next {
                Some(packet) => {
                    let toward = self.toward;
                    let skippable = match (toward, packet.pts()) {
                        (Some(t), Some(p)) => {
                            p < t.pts || t.skip_until.is_some_and(|until| p > t.pts && p < until)
                        }
                        _ => false,
                    };
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
                }
                None => {
                    let _ = session.decoder.send_eof();
                    session.draining = true;
                }
            }
        }
    }
}

fn frame_pts(frame: &ffmpeg::frame::Video) -> Option<i64> {
    frame.pts().or_else(|| frame.timestamp())
}
