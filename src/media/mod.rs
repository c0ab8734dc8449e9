//! Everything that turns a path into frames: probing, the frame index, frame-exact video
//! access, still and animated images, and colour conversion.
//!
//! [`MediaSource::open`] decides between the `image` crate (content or extension says image)
//! and FFmpeg (everything else), and both answer the same questions: how many frames, what is
//! frame n, what is the file.

pub mod color;
pub mod display_planes;
pub mod extensions;
pub mod graph;
pub mod index;
pub mod index_cache;
pub mod input;
pub mod limits;
pub mod planar;
pub mod probe;
pub mod rotate;
pub mod samples;
pub mod scope;
pub mod still;
pub mod tonemap;
pub mod tonemap_lut;
pub mod video;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};

pub use input::{
    Addresses, DEFAULT_NETWORK_TIMEOUT, DEFAULT_URL_DEADLINE, Deadline, FFMPEG_MAX_ALLOC, IoGuard,
    LocalFiles, local_path, open_input, open_input_guarded, open_input_with, open_output,
    playlist_kind, playlist_kind_when, url_of, url_of_when,
};
pub use limits::{DecodeLimits, LimitError, LimitKind};
pub use probe::{MediaInfo, MediaKind};
pub use still::StillImage;
pub use tonemap::HdrMode;
pub use video::VideoReader;
pub use video::hwdec::HwDecode;

use crate::frame::{DeepFrame, Frame};

/// A new frame referring to `frame`'s buffers (`av_frame_ref`): for handing a decoded frame
/// to a filter graph (which takes the reference it is given) or keeping it, without copying
/// its pixels as ffmpeg-next's `clone` does.
pub fn frame_reference(
    frame: &ffmpeg_next::frame::Video,
) -> Result<ffmpeg_next::frame::Video, ffmpeg_next::Error> {
    let mut reference = ffmpeg_next::frame::Video::empty();
    // SAFETY: both are valid AVFrames; `reference` is freshly allocated and holds no buffers,
    // as av_frame_ref requires of its destination.
    let result = unsafe { ffmpeg_next::ffi::av_frame_ref(reference.as_mut_ptr(), frame.as_ptr()) };
    if result < 0 {
        Err(ffmpeg_next::Error::from(result))
    } else {
        Ok(reference)
    }
}

/// A path's file name for a label (the whole path when it has none, like `/`).
pub fn file_label(path: &Path) -> String {
    path.file_name().map_or(path.display().to_string(), |n| {
        n.to_string_lossy().into_owned()
    })
}

/// A path for a one-line message: control characters (a newline in a file name, an escape
/// sequence) are shown escaped, so a hostile name cannot break or forge the line.
pub fn printable_path(path: &Path) -> String {
    path.to_string_lossy()
        .chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// A media error, always naming the file. Its kind is its cause, so a [`LimitError`] in it
/// is found by walking the causes ([`LimitError::find`]).
#[derive(Debug, thiserror::Error)]
#[error("{}: {kind}", printable_path(path))]
pub struct MediaError {
    pub path: PathBuf,
    #[source]
    pub kind: MediaErrorKind,
}

impl MediaError {
    pub fn new(path: &Path, kind: MediaErrorKind) -> MediaError {
        MediaError {
            path: path.to_path_buf(),
            kind,
        }
    }
}

/// What went wrong with a media file.
#[derive(Debug, thiserror::Error)]
pub enum MediaErrorKind {
    #[error("no such file")]
    NotFound,
    #[error("is a directory, not a media file")]
    IsDirectory,
    #[error("is a {0}, not a media file")]
    NotARegularFile(&'static str),
    #[error("file is empty (0 bytes)")]
    Empty,
    #[error("cannot read: {0}")]
    Io(std::io::Error),
    #[error("not a video or image framekit can read ({0})")]
    Unrecognized(String),
    #[error("cannot fetch: {0}")]
    Network(String),
    #[error("{0}")]
    OverLimit(#[from] LimitError),
    #[error("not a valid {format} image: {reason}")]
    BadImage { format: String, reason: String },
    #[error("no video stream (streams found: {0})")]
    NoVideoStream(String),
    #[error("the video stream has no decodable frames")]
    NoFrames,
    #[error("cannot decode video: {0}")]
    Decode(String),
    #[error("frame {0} could not be decoded")]
    FrameUnavailable(usize),
    #[error("gave up after {0:.0} s: reading it took longer than the request's deadline")]
    DeadlineExceeded(f64),
    #[error("stopped: the request was cancelled")]
    Cancelled,
    #[error(
        "is {0}: framekit reads one media file or URL, not playlists (live or looping lists never end)"
    )]
    Playlist(&'static str),
    #[error("not opened: {0}")]
    NotAllowed(&'static str),
    #[error(
        "not opened: {host} is at {address}, an internal address (--no-private-addresses; --allow-host lets a host through)"
    )]
    InternalAddress {
        host: String,
        address: std::net::IpAddr,
    },
    #[error("frame {requested} is past the end ({count} frames)")]
    OutOfRange { requested: usize, count: usize },
    #[error(transparent)]
    Convert(#[from] color::ConvertError),
}

/// Options for opening media.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Apply the display matrix (rotation, flips). On by default.
    pub autorotate: bool,
    /// How much an image may make framekit decode.
    pub limits: DecodeLimits,
    /// How long a network connection or read may stall (URLs only).
    pub timeout: std::time::Duration,
    /// Threads for one video decoder; 0: one per core this process may use, plus one. A batch
    /// that runs several decoders at once gives each a share of the cores instead.
    pub decoder_threads: usize,
    /// Tone-map PQ/HLG video to SDR (the default) or convert it as tagged.
    pub hdr: HdrMode,
    /// Decode video on a hardware device where one works (off by default: software
    /// decoding, the same frames on every machine; the app's viewer turns it on).
    pub hwdec: HwDecode,
    /// How long reading the input may take in all.
    pub deadline: Deadline,
    /// Open HLS/DASH playlists and concat lists (off: refused, as they open other inputs).
    pub allow_playlists: bool,
    /// Which local files may be opened (requests from untrusted input: a web service, a
    /// shared Spark job).
    pub local_files: LocalFiles,
    /// Which network addresses a URL may reach, and whether HTTP redirects are followed
    /// (requests from untrusted input).
    pub addresses: Addresses,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            autorotate: true,
            limits: DecodeLimits::default(),
            timeout: DEFAULT_NETWORK_TIMEOUT,
            decoder_threads: 0,
            hdr: HdrMode::Tonemap,
            hwdec: HwDecode::Off,
            deadline: Deadline::UrlDefault,
            allow_playlists: false,
            local_files: LocalFiles::Any,
            addresses: Addresses::Any,
        }
    }
}

/// Initialises FFmpeg once and silences its own logging: framekit reports errors itself, in
/// one line. Set `FRAMEKIT_FFMPEG_LOG=1` to see FFmpeg's messages.
pub fn init_ffmpeg() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let _ = ffmpeg_next::init();
        // SAFETY: sets a process-wide limit FFmpeg reads on each allocation.
        unsafe { ffmpeg_next::ffi::av_max_alloc(FFMPEG_MAX_ALLOC) };
        let level = if std::env::var_os("FRAMEKIT_FFMPEG_LOG").is_some() {
            ffmpeg_next::util::log::Level::Info
        } else {
            ffmpeg_next::util::log::Level::Quiet
        };
        ffmpeg_next::util::log::set_level(level);
    });
}

/// A frame for a viewer ([`MediaSource::frame_from_decoded`]): at full size or scaled down
/// for display, the decoded samples behind it, and its full (oriented) size.
pub struct ViewFrame {
    pub frame: Frame,
    pub samples: Option<color::SourceSamples>,
    pub full_size: (u32, u32),
}

/// A video or an image, opened for frame access.
pub enum MediaSource {
    Video(Box<VideoReader>),
    /// Shared: the filmstrip thread reads the same decoded frames.
    Still(Arc<StillImage>),
}

/// An open source's shared parts, to open a second reader on another thread: a video reopens
/// its file with the frame index already built; an image shares its decoded frames.
pub enum SharedMedia {
    Video(Box<video::SharedVideo>),
    Still(Arc<StillImage>),
}

impl SharedMedia {
    pub fn open(self) -> Result<MediaSource, MediaError> {
        match self {
            SharedMedia::Video(v) => {
                VideoReader::reopen(*v).map(|r| MediaSource::Video(Box::new(r)))
            }
            SharedMedia::Still(s) => Ok(MediaSource::Still(s)),
        }
    }
}

/// How many leading bytes are enough to recognise an image format.
const SNIFF_BYTES: usize = 64;

impl MediaSource {
    /// Opens a path: images through the `image` crate, everything else through FFmpeg. An
    /// `http(s)://` address that is not a file on disk is fetched by FFmpeg (images too);
    /// a `file://` URL is the local file it names.
    pub fn open(path: &Path, options: &OpenOptions) -> Result<MediaSource, MediaError> {
        MediaSource::open_with(path, options, false)
    }

    /// [`MediaSource::open`] reading only what the first request needs: a video's frame
    /// index grows as frames are asked for (see [`VideoReader::open_lazy`]); its count is
    /// known through [`MediaSource::count_up_to`].
    pub fn open_lazy(path: &Path, options: &OpenOptions) -> Result<MediaSource, MediaError> {
        MediaSource::open_with(path, options, true)
    }

    fn open_with(
        path: &Path,
        options: &OpenOptions,
        lazy: bool,
    ) -> Result<MediaSource, MediaError> {
        init_ffmpeg();
        let open_video = |path: &Path| {
            let reader = if lazy {
                VideoReader::open_lazy(path, options)
            } else {
                VideoReader::open(path, options)
            };
            reader.map(|r| MediaSource::Video(Box::new(r)))
        };
        if url_of_when(path, options.local_files.any()).is_some() {
            return open_video(path);
        }
        let local = local_path(path);
        let path: &Path = &local;
        if let Some(refusal) = options.local_files.refusal(path) {
            return Err(MediaError::new(path, refusal));
        }
        let metadata = regular_file(path)?;
        let head = read_head(path).map_err(|e| MediaError::new(path, MediaErrorKind::Io(e)))?;
        let sniffed = image::guess_format(&head)
            .ok()
            .filter(|f| still::is_supported_format(*f));
        if let (None, Some(format)) = (sniffed, still::format_from_extension(path)) {
            let head_hex: Vec<String> = head.iter().take(4).map(|b| format!("{b:02X}")).collect();
            return Err(MediaError::new(
                path,
                MediaErrorKind::BadImage {
                    format: format!("{format:?}").to_uppercase(),
                    reason: format!(
                        "the content has no {format:?} signature (starts with {})",
                        head_hex.join(" ")
                    ),
                },
            ));
        }
        if let Some(format) = sniffed {
            if metadata.len() > options.limits.max_decoded_bytes as u64 {
                let error = options.limits.bytes_error(metadata.len());
                return Err(MediaError::new(path, MediaErrorKind::OverLimit(error)));
            }
            let bytes =
                std::fs::read(path).map_err(|e| MediaError::new(path, MediaErrorKind::Io(e)))?;
            return StillImage::decode(path, Arc::from(bytes), format, &options.limits)
                .map(|s| MediaSource::Still(Arc::new(s)));
        }
        open_video(path)
    }

    /// Reads a video's every packet once so every frame's time and keyframe flag is known
    /// (see [`VideoReader::scan_all`]); images know theirs already.
    pub fn scan_all(&mut self) -> Result<(), MediaError> {
        match self {
            MediaSource::Video(v) => v.scan_all(),
            MediaSource::Still(_) => Ok(()),
        }
    }

    /// The frame count, reading no further than needed to tell whether there are at least
    /// `limit` frames: `min(count, limit)`.
    pub fn count_up_to(&mut self, limit: usize) -> Result<usize, MediaError> {
        match self {
            MediaSource::Video(v) => v.count_up_to(limit),
            MediaSource::Still(s) => Ok(s.frame_count().min(limit)),
        }
    }

    /// What a second reader of the same media needs, sendable to another thread.
    pub fn shared(&self) -> SharedMedia {
        match self {
            MediaSource::Video(v) => SharedMedia::Video(Box::new(v.shared())),
            MediaSource::Still(s) => SharedMedia::Still(s.clone()),
        }
    }

    pub fn info(&self) -> &MediaInfo {
        match self {
            MediaSource::Video(v) => v.info(),
            MediaSource::Still(s) => s.info(),
        }
    }

    pub fn frame_count(&self) -> usize {
        match self {
            MediaSource::Video(v) => v.frame_count(),
            MediaSource::Still(s) => s.frame_count(),
        }
    }

    /// Says that no frame after `index` will be asked for, so a video's decoder can stop
    /// at it rather than decode on (see [`VideoReader::expect_last_frame`]).
    pub fn expect_last_frame(&mut self, index: usize) {
        if let MediaSource::Video(v) = self {
            v.expect_last_frame(index);
        }
    }

    /// Says which frames (0-based) the next requests ask for, so a video's decoder skips
    /// the frames between them that nothing references (see [`VideoReader::expect_frames`]).
    pub fn expect_frames(&mut self, indices: &[usize]) {
        if let MediaSource::Video(v) = self {
            v.expect_frames(indices);
        }
    }

    /// Frame `index` (0-based, presentation order).
    pub fn frame(&mut self, index: usize) -> Result<Frame, MediaError> {
        match self {
            MediaSource::Video(v) => v.frame(index),
            MediaSource::Still(s) => s.frame(index),
        }
    }

    /// Frame `index` at 16 bits per channel (see [`DeepFrame`]); an image's 8-bit levels
    /// are widened without loss.
    pub fn frame_deep(&mut self, index: usize) -> Result<DeepFrame, MediaError> {
        match self {
            MediaSource::Video(v) => v.frame_deep(index),
            MediaSource::Still(s) => s.frame(index).map(|frame| DeepFrame::widened(&frame)),
        }
    }

    /// Frame `index` with the decoded samples behind it (videos only; images have none).
    pub fn frame_with_samples(
        &mut self,
        index: usize,
    ) -> Result<(Frame, Option<color::SourceSamples>), MediaError> {
        match self {
            MediaSource::Video(v) => v.frame_with_samples(index),
            MediaSource::Still(_) => self.frame(index).map(|f| (f, None)),
        }
    }

    /// Decodes frame `index` without converting it (videos); an image has nothing to decode
    /// (`None`). Hand the result to [`MediaSource::frame_from_decoded`].
    pub fn decode_only(
        &mut self,
        index: usize,
    ) -> Result<Option<ffmpeg_next::frame::Video>, MediaError> {
        match self {
            MediaSource::Video(v) => v.decoded(index).map(Some),
            MediaSource::Still(_) => Ok(None),
        }
    }

    /// Frame `index` from what [`MediaSource::decode_only`] gave, with the samples behind it
    /// and its full (oriented) size: at full size as [`MediaSource::frame_with_samples`]
    /// gives it, or, with `fit`, scaled down for display into a box of `fit` pixels
    /// (see [`VideoReader::display_from_decoded`]). Images always come at full size.
    pub fn frame_from_decoded(
        &mut self,
        index: usize,
        decoded: Option<&ffmpeg_next::frame::Video>,
        fit: Option<(u32, u32)>,
    ) -> Result<ViewFrame, MediaError> {
        match (self, decoded) {
            (MediaSource::Video(v), Some(decoded)) => {
                let frame = match fit {
                    Some(fit) => v.display_from_decoded(index, decoded, fit)?,
                    None => v.shown_from_decoded(index, decoded)?,
                };
                Ok(ViewFrame {
                    frame,
                    samples: v.samples_of(decoded),
                    full_size: v.shown_size(decoded),
                })
            }
            (source, _) => {
                let (frame, samples) = source.frame_with_samples(index)?;
                let full_size = (frame.width, frame.height);
                Ok(ViewFrame {
                    frame,
                    samples,
                    full_size,
                })
            }
        }
    }

    /// Frame `index` from what [`MediaSource::decode_only`] gave, for a display that converts
    /// the planes itself (the app's GPU display): the planes with their conversion's
    /// parameters, and a [`ViewFrame`] without RGB (an empty frame: its pixels are not
    /// converted) but with the samples and the full size. `None` for images and for what a
    /// display cannot convert as the CPU path does (then [`MediaSource::frame_from_decoded`]).
    pub fn planes_from_decoded(
        &mut self,
        index: usize,
        decoded: Option<&ffmpeg_next::frame::Video>,
    ) -> Option<(ViewFrame, display_planes::DisplayPlanes)> {
        let (MediaSource::Video(v), Some(decoded)) = (self, decoded) else {
            return None;
        };
        let planes = v.display_planes(decoded)?;
        let view = ViewFrame {
            frame: Frame {
                index,
                time_seconds: v.frame_time(index),
                width: 0,
                height: 0,
                layout: crate::frame::PixelLayout::Rgb8,
                pixels: Vec::new(),
            },
            samples: v.samples_of(decoded),
            full_size: v.shown_size(decoded),
        };
        Some((view, planes))
    }

    /// The planes behind a frame already shown (its samples' decoded frame), for a display
    /// that converts them itself; see [`MediaSource::planes_from_decoded`].
    pub fn display_planes(
        &mut self,
        decoded: &ffmpeg_next::frame::Video,
    ) -> Option<display_planes::DisplayPlanes> {
        match self {
            MediaSource::Video(v) => v.display_planes(decoded),
            MediaSource::Still(_) => None,
        }
    }

    /// Presentation time of frame `index` in seconds, when known.
    pub fn frame_time(&self, index: usize) -> Option<f64> {
        match self {
            MediaSource::Video(v) => v.frame_time(index),
            MediaSource::Still(s) => s.frame_time(index),
        }
    }

    /// Tone-maps HDR video or converts it as tagged, in place; false when nothing changes
    /// (images, SDR video).
    pub fn set_hdr(&mut self, mode: HdrMode) -> bool {
        match self {
            MediaSource::Video(v) => v.set_hdr(mode),
            MediaSource::Still(_) => false,
        }
    }

    /// Whether frame `index` is a keyframe (every image frame is).
    pub fn is_keyframe(&self, index: usize) -> bool {
        match self {
            MediaSource::Video(v) => v.index().is_keyframe(index),
            MediaSource::Still(_) => true,
        }
    }
}

/// The checks every local input gets before a byte of it is read: it exists, is a regular
/// file (not a folder, FIFO, device or socket, which would block or never end) and is not
/// empty. Returns its metadata (for the size limits).
pub fn regular_file(path: &Path) -> Result<std::fs::Metadata, MediaError> {
    let metadata = std::fs::metadata(path).map_err(|e| {
        let kind = if e.kind() == std::io::ErrorKind::NotFound {
            MediaErrorKind::NotFound
        } else {
            MediaErrorKind::Io(e)
        };
        MediaError::new(path, kind)
    })?;
    if metadata.is_dir() {
        return Err(MediaError::new(path, MediaErrorKind::IsDirectory));
    }
    if let Some(kind) = special_file_kind(&metadata.file_type()) {
        return Err(MediaError::new(path, MediaErrorKind::NotARegularFile(kind)));
    }
    if metadata.len() == 0 {
        return Err(MediaError::new(path, MediaErrorKind::Empty));
    }
    Ok(metadata)
}

/// A local image file's bytes, after [`regular_file`]'s checks and within
/// `limits.max_decoded_bytes` (read no further than that, should the file grow meanwhile).
pub fn read_image_file(path: &Path, limits: &DecodeLimits) -> Result<Vec<u8>, MediaError> {
    use std::io::Read;
    let metadata = regular_file(path)?;
    let over = |size: u64| {
        let error = limits.bytes_error(size);
        MediaError::new(path, MediaErrorKind::OverLimit(error))
    };
    if metadata.len() > limits.max_decoded_bytes as u64 {
        return Err(over(metadata.len()));
    }
    let io = |e| MediaError::new(path, MediaErrorKind::Io(e));
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    std::fs::File::open(path)
        .map_err(io)?
        .take(limits.max_decoded_bytes as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > limits.max_decoded_bytes {
        return Err(over(bytes.len() as u64));
    }
    Ok(bytes)
}

/// What a file that is neither a folder nor a regular file is: FIFOs and devices would block
/// or never end.
#[cfg(unix)]
fn special_file_kind(kind: &std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        Some("FIFO (named pipe)")
    } else if kind.is_char_device() {
        Some("character device")
    } else if kind.is_block_device() {
        Some("block device")
    } else if kind.is_socket() {
        Some("socket")
    } else {
        None
    }
}

#[cfg(not(unix))]
fn special_file_kind(_kind: &std::fs::FileType) -> Option<&'static str> {
    None
}

fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    read_head_bytes(path, SNIFF_BYTES)
}

fn read_head_bytes(path: &Path, count: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut head = Vec::with_capacity(count);
    file.by_ref().take(count as u64).read_to_end(&mut head)?;
    Ok(head)
}
